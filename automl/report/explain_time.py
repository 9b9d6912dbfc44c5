"""How the report's explanations share their allowance: SHAP's deadline, and the time kept
for the figures after LIME (at the pace of the page's figures, or a share)."""

from __future__ import annotations

from typing import Any

from automl.explain import Explainer
from automl.report import figures

# The allowance goes first to a fixed minimum: SHAP on ExplainBounds.min_rows rows (the example
# rows first), then LIME on min_examples example rows. Each method sizes its samples from a
# timed first row so that its minimum fits the time it has, then explains more rows while
# that lasts: SHAP up to SHAP_SHARE of the explainers' time (the allowance less the reserve
# and the figures at the page's pace), LIME until what the figures need is left.
SHAP_SHARE = 0.55  # SHAP's deadline, then its deletion check; LIME sizes to what is left
MIN_EXPLAINERS_SHARE = 0.30  # of the allowance, the explainers' time at least
RESERVE_SHARE = 0.10  # kept for SHAP's deletion check and the page's views
FIGURE_SHARE = 0.20  # kept for the figures when their pace is unknown (8 figures of a table's
# explanations took 1.7 s to 3.5 s on the 2-core machine at load 6 to 8)

DRAWN_FIGURES = 2  # an explainer's own overview, in figures of the page's pace (a map per class)
MIN_DRAWN_EXAMPLES = 3  # ExplainBounds.min_examples's default: the examples SHAP's time keeps
# figures for (an image page's 6 example figures were kept for while 2 images were explained)


def shap_deadline(found: Any, examples: list[int], started: float, seconds: float) -> float:
    """When SHAP stops: ``SHAP_SHARE`` of the explainers' time, what the allowance leaves after
    ``RESERVE_SHARE`` and the figures (at the pace of the page's figures drawn so far, else
    ``FIGURE_SHARE``), at least ``MIN_EXPLAINERS_SHARE`` of it."""
    pace = figures.recent_pace()
    if pace is None:
        drawing = FIGURE_SHARE * seconds
    elif type(found).draw is not Explainer.draw:  # the minimum's examples and the overview
        drawing = pace * (min(len(examples), MIN_DRAWN_EXAMPLES) + DRAWN_FIGURES)
    else:
        drawing = pace * (1 + 2 * len(examples))  # the bar chart, two an example
    explainers = max(MIN_EXPLAINERS_SHARE * seconds, (1 - RESERVE_SHARE) * seconds - drawing)
    return started + SHAP_SHARE * explainers


def figures_kept(found, overview, per_figure, examples, seconds) -> float:  # noqa: PLR0913
    """Seconds kept for the figures still to draw after LIME: at the pace of SHAP's overview
    (a SHAP and a LIME chart an example), else of the page's figures drawn before (an
    explainer's own drawing: a figure an example and its overview), else a share."""
    if overview:
        return per_figure * 2 * len(examples)
    pace = figures.recent_pace()
    if type(found).draw is not Explainer.draw and pace is not None:
        return pace * (len(examples) + DRAWN_FIGURES)
    return FIGURE_SHARE * seconds
