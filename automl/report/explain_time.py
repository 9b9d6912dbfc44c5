"""How the report's explanations share their allowance: LIME's deadline, SHAP's after it, and
the time kept for the figures (at the pace of the page's figures, or a share)."""

from __future__ import annotations

from typing import Any

from automl.explain import Explainer
from automl.report import figures

# The allowance goes first to a fixed minimum: LIME on ExplainBounds.min_examples example rows,
# then SHAP on ExplainBounds.min_rows rows (the example rows first). Each method sizes its
# samples from a timed first row so that its minimum fits the time it has. LIME runs first, to
# at most LIME_SHARE of the explainers' time (the allowance less the reserve and the figures at
# the page's pace): when SHAP ran first and explained rows beyond its minimum, LIME found its
# time spent (an image page: SHAP on 87 images, LIME on none, 1.3 s of 5 s unused). SHAP then
# has the rest of the explainers' time, its minimum first, then more rows while it lasts.
LIME_SHARE = 0.40  # LIME's deadline, its deletion check included
MIN_EXPLAINERS_SHARE = 0.30  # of the allowance, the explainers' time at least
RESERVE_SHARE = 0.10  # kept for SHAP's deletion check and the page's views
FIGURE_SHARE = 0.30  # kept for the figures at least, more at a slower page's pace (8 figures of
# a table's explanations took 1.7 s to 3.5 s on the 2-core machine at load 6 to 8)

BEESWARM_FIGURES = 2  # SHAP's beeswarm, in bar charts' time: drawn last, when time is left
DRAWN_FIGURES = 2  # an explainer's own overview, in figures of the page's pace (a map per class)
# An explainer that draws its own figures is timed on one example figure of LIME's alone (the
# probe); its whole drawing, in probes: an example figure with SHAP and LIME about 1.3-1.8
# probes, the overview (a map per class) 4.5-5.8 (MNIST, 6 examples, load 2-5: the drawing took
# 13-20 probes; 3 examples, load 2-5: 8-10 probes), kept here with a margin (at 2 and 6, 3
# examples kept 12 probes and left 1.1 s of 5 unused at load 5)
DRAWN_EXAMPLE_PROBES = 1.5
DRAWN_OVERVIEW_PROBES = 5
# Below this share of the allowance for the explainers, at the page's pace with the explainer's
# own number of example rows, a page explains only ExplainBounds.min_examples of them: on an
# image page at load 2-4 the figures of 6 examples left LIME 0.1-0.3 s (1 image) and SHAP
# 28-32 images of its 50; each example drawn costs about 1.5 probes.
FULL_EXAMPLES_SHARE = 0.5


def example_count(
    found: Any, counts: tuple[int, int], started: float, seconds: float, figure: float | None
) -> int:
    """How many example rows the page explains (``counts``: the explainer's number and the
    minimum): the explainer's, or the minimum when the figures of the explainer's number
    would leave the explainers less than ``FULL_EXAMPLES_SHARE`` of the allowance
    (``explainers_end``): the minimum first."""
    wanted, minimum = counts
    if wanted <= minimum:
        return wanted
    end = explainers_end(found, wanted, started, seconds, figure)
    return wanted if end - started >= FULL_EXAMPLES_SHARE * seconds else minimum


def explainers_end(
    found: Any, examples: int, started: float, seconds: float, figure: float | None = None
) -> float:
    """When the explainers (LIME, then SHAP) stop, on a page of ``examples`` example rows:
    what the allowance leaves after
    ``RESERVE_SHARE`` and the figures (``FIGURE_SHARE``, or more at the pace of the page's
    figures drawn so far), at least ``MIN_EXPLAINERS_SHARE`` of it. An explainer that drew one
    of its own example figures (``figure``: its seconds, ``Explainer.figure_seconds``) keeps
    that drawing's time, as ``drawn_end`` does once LIME's figure is timed: its pictures may
    cost a tenth of the page's charts (MNIST's pixels: 0.3 s for 3 examples and the class
    maps beside six busy processes, where charts kept 1.5 s)."""
    if figure is not None:
        return drawn_end(started, seconds, figure, examples)
    pace = figures.recent_pace()
    # at least FIGURE_SHARE: the explanations' figures cost more than the page's before them
    # (on a table page, at the page's pace, the figures and views after SHAP took 1.6 s of a
    # 5 s allowance and the section 5.8 s; load 1.5)
    drawing = FIGURE_SHARE * seconds
    if pace is not None and type(found).draw is not Explainer.draw:  # one an example, overview
        drawing = max(drawing, pace * (examples + DRAWN_FIGURES))
    elif pace is not None:  # the bar chart and two an example; the beeswarm only if time is
        # left (``_add_beeswarm``): kept here, its time left a forest 0.15 s of SHAP at load 6
        drawing = max(drawing, pace * (1 + 2 * examples))
    return started + max(MIN_EXPLAINERS_SHARE * seconds, (1 - RESERVE_SHARE) * seconds - drawing)


def lime_deadline(started: float, end: float) -> float:
    """When LIME stops: ``LIME_SHARE`` of the explainers' time (``end``: ``explainers_end``),
    whatever the page's number of example rows. The share is for LIME's minimum, which
    ``lime_rows`` explains first; example rows beyond it get only what the minimum leaves of
    it (a share cut in proportion to 6 examples, 30%, left LIME 1 image of its 3 beside six
    busy processes: the first image's 166 samples took 0.6 s of its 0.76 s)."""
    return started + LIME_SHARE * max(0.0, end - started)


def shap_end(end: float, started: float, seconds: float, drawing: float) -> float:
    """SHAP's deadline once the figures after it are timed (``drawing``: their seconds at the
    pace of the LIME charts just drawn): no later than ``end``, and no later than what the
    allowance leaves after ``RESERVE_SHARE`` and ``drawing``, at least
    ``MIN_EXPLAINERS_SHARE`` of it from ``started``."""
    left = started + (1 - RESERVE_SHARE) * seconds - drawing
    return min(end, max(started + MIN_EXPLAINERS_SHARE * seconds, left))


def drawn_end(started: float, seconds: float, probe: float, examples: int) -> float:
    """SHAP's deadline on a page whose explainer draws its own figures, once one of them is
    timed (``probe``: seconds for one example figure of LIME's alone): what the allowance
    leaves after ``RESERVE_SHARE`` and the drawing at that pace, at least
    ``MIN_EXPLAINERS_SHARE`` of it from ``started``. It replaces the end kept at the page's
    pace, which may be later or earlier (an image page's figures are smaller than its
    charts: at the page's pace an ensemble's page kept 1.9 s of 5 unused)."""
    drawing = probe * (DRAWN_EXAMPLE_PROBES * examples + DRAWN_OVERVIEW_PROBES)
    left = started + (1 - RESERVE_SHARE) * seconds - drawing
    return max(started + MIN_EXPLAINERS_SHARE * seconds, left)
