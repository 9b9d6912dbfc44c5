"""Section 4 of the report: SHAP and LIME explanations of the chosen model on held-out rows, and
whether they are faithful.

The task's ``Explainer`` computes the attributions; this module picks the rows (example rows,
right and wrong predictions, then more rows for the global view), splits the time budget,
compares the methods (``automl.faithfulness``) and turns the explanations into views: the
explainer's own pictures when it draws some (``Explainer.draw``: images), highlighted tokens
when the explanations have ``tokens`` (text), per-feature charts otherwise (tables).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from automl.explain import (
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    budget_text,
    default_seconds,
    example_rows,
    explainer_for,
    readable_display,
    sample_rows,
)
from automl.report import example_views, figures, token_views
from automl.report.explain_time import (
    BEESWARM_FIGURES,
    drawn_end,
    example_count,
    explainers_end,
    lime_deadline,
    shap_end,
)
from automl.report.faithful import (
    agreement_of,
    faithfulness_table,
    unit_words,
)
from automl.report.sections import fmt
from automl.threads import small_batches
from automl.work_units import recording

SHORT_BUDGET = 15.0  # seconds: below this, SHAP integrates over SHORT_BACKGROUND rows
SHORT_BACKGROUND = 20
TOP_FEATURES = 15


def explain_section(
    result: Any,
    holdout: tuple[np.ndarray, np.ndarray] | None,
    bounds: ExplainBounds,
    explainer: Any = None,
) -> dict[str, Any]:
    """The explanations section as a dict for the template (see the module docstring)."""
    with recording() as units, small_batches():
        out = _explain_section(result, holdout, bounds, explainer)
    out["units_s"] = sum(units)  # the timed first units, run whatever the clock said
    return out


def prepare_ahead(result: Any, explainer: Any = None) -> threading.Thread:
    """Start the explainer's ``prepare`` (its libraries' import) in a thread as the page begins,
    so that it runs while the page's other sections are drawn: at load 5, shap's import took
    about 2 s of a 5 s explanation allowance and LIME, which runs first, found none of it left.
    The section calls ``prepare`` again: an import still under way is waited for there (and
    counted in the allowance), one done returns at once. Errors are left to that call."""

    def run() -> None:
        with contextlib.suppress(Exception):
            (explainer or explainer_for(result)).prepare(result)

    thread = threading.Thread(target=run, name="automl-explainer-prepare", daemon=True)
    thread.start()
    return thread


def _explain_section(  # noqa: C901, PLR0915
    result: Any,
    holdout: tuple[np.ndarray, np.ndarray] | None,
    bounds: ExplainBounds,
    explainer: Any = None,
) -> dict[str, Any]:
    begun = time.monotonic()
    allowance = bounds.seconds if bounds.seconds is not None else default_seconds(result)
    missing: list[tuple[str, str]] = []
    out: dict[str, Any] = {
        "budget": budget_text(allowance),
        "unit": "row",
        "about": "",
        "bounds": [],
        "mode": None,
        "shap": None,
        "shap_about": None,
        "refit_note": None,
        "tokens_table": [],
        "overview": [],
        "examples": [],
        "notes": {"SHAP": [], "LIME": []},
        "plugin_figures": [],
        "faithfulness": None,
        "missing": missing,
        "allowance_s": allowance,
        "explain_s": 0.0,
        "spent_s": 0.0,
        "rows_explained": {"SHAP": 0, "LIME": 0},
        "example_count": 0,
    }
    if holdout is None:
        missing.append(
            (
                "explanations",
                "no held-out rows to explain: the result carries none (a loaded model); call "
                "write_report(result, path, holdout=(x, y)) with model-ready rows",
            )
        )
        return out
    try:
        found = explainer or explainer_for(result)
    except ExplainError as exc:
        missing.append(("explanations", str(exc)))
        return out
    # the explainer's libraries first (shap's import alone took 1.5 s of a 5 s allowance at
    # load 8): the shares below split what is left of the allowance after this fixed cost. The
    # page began it in a thread (``prepare_ahead``): here it waits for what is left of it
    with contextlib.suppress(ImportError):  # the method that needs it names the extra
        found.prepare(result)
    figure = _figure_seconds(found, result, holdout[0])
    started = time.monotonic()
    seconds = max(0.0, allowance - (started - begun))
    if seconds < SHORT_BUDGET and bounds.background > SHORT_BACKGROUND:
        # SHAP's cost grows with the background (interventional tree SHAP: linearly): a short
        # budget (a fit's short time_budget) explains on a smaller one, as the bounds table says
        bounds = bounds.with_(background=SHORT_BACKGROUND)
    unit = found.unit
    count = bounds.examples
    if count is None:  # the explainer's number, or the minimum when the figures leave too little
        count = example_count(
            found, (found.examples, bounds.min_examples), started, seconds, figure
        )
    out.update(unit=unit, about=found.about)
    out["bounds"] = _bounds(bounds, allowance, unit, count, found.examples)
    if result.refit:
        out["refit_note"] = (
            f"The explained model was refit on training + validation {unit}s, so it has seen "
            f"these held-out {unit}s: it makes fewer mistakes on them than on new data."
        )
    x, y = np.asarray(holdout[0]), np.asarray(holdout[1])
    output = result.predictor.output(x)
    examples = example_rows(output, result.problem_type, count, y=y)
    chosen = set(examples)
    order = np.asarray(examples + [i for i in range(len(x)) if i not in chosen])
    if bounds.rows is not None:
        order = order[: max(bounds.rows, len(examples))]
    raw = _take(result.holdout_raw, order)
    background = sample_rows(x, bounds.background, bounds.seed)
    run = functools.partial(
        _run, found, result, background=background, bounds=bounds, missing=missing
    )
    # first LIME on the example rows, to its share of the explainers' time; then SHAP, its
    # minimum first, then more rows until the time kept for the figures and the reserve
    end = explainers_end(found, len(examples), started, seconds, figure)
    lime_end = lime_deadline(started, end)
    lime_exp = None
    if "lime" in found.methods and time.monotonic() >= lime_end:
        missing.append(
            ("LIME", f"left out: the {allowance:g} s allowance was spent before LIME could start")
        )
    elif "lime" in found.methods:
        lime_exp = run(
            x[order[: len(examples)]],
            "lime",
            deadline=lime_end,
            raw=_take(raw, np.arange(len(examples))),
        )
    else:
        missing.append(("LIME", "the task's explainer does not offer LIME"))
    # the LIME charts now, timed: their pace (the load's, now) sets when SHAP must stop to
    # leave the figures of the minimum their time (a bar chart, a waterfall an example); the
    # beeswarm is drawn only if time is left (keeping its time at load 6 left a forest's SHAP
    # 0.15 s, and a 192-tree forest's 1 row with 1.8 s of a 5 s allowance unused)
    lime_charts = _lime_charts(found, lime_exp, len(examples))
    if lime_charts:
        pace = lime_charts.pop("pace")
        end = shap_end(end, started, seconds, pace * (1 + len(examples)))
    probe = _drawn_probe(found, result, x[order[: len(examples)]], lime_exp)
    if probe is not None:
        end = drawn_end(started, seconds, probe, len(examples))
    shap_exp = run(x[order], "shap", deadline=end, raw=raw)
    overview, per_figure = _overview(found, shap_exp)
    out["explain_s"] = time.monotonic() - begun  # the explainers' part, deletion checks too
    out["rows_explained"] = {  # per method (SHAP's example rows come first)
        name: 0 if exp is None else len(exp.rows)
        for name, exp in (("SHAP", shap_exp), ("LIME", lime_exp))
    }
    out["example_count"] = len(examples)
    for name, exp in (("SHAP", shap_exp), ("LIME", lime_exp)):
        if exp is not None:
            out["notes"][name] = [unit_words(n, unit) for n in exp.notes]
            out["plugin_figures"] += exp.figures
    if overview is not None:
        _add_beeswarm(overview, shap_exp, per_figure, examples, started + seconds, missing)
    drawing = None
    try:
        drawing = found.draw(result, x[order], shap_exp, lime_exp, len(examples))
    except Exception as exc:
        missing.append(("the explainer's figures", _why(exc)))
    agreement = agreement_of(shap_exp, lime_exp, len(examples))
    out["faithfulness"] = faithfulness_table(shap_exp, lime_exp, agreement, unit)
    if drawing is not None:
        out["mode"] = "drawing"
        out["overview"] = list(drawing.overview)
    elif example_views.has_tokens(shap_exp) or example_views.has_tokens(lime_exp):
        out["mode"] = "tokens"
        if example_views.has_tokens(shap_exp):
            out["tokens_table"] = token_views.token_table(shap_exp)
    elif _attributes(shap_exp):
        out["mode"] = "features"
        out["shap"] = overview or _shap_view(shap_exp)
    elif _attributes(lime_exp):
        out["mode"] = "features"
    if shap_exp is not None and out["shap"] is None:
        out["shap_about"] = _about(shap_exp, unit)
    rows = example_views.Rows(order, examples, x, y, output)
    shown = example_views.Shown(shap_exp, lime_exp, drawing, agreement, lime_charts)
    out["examples"] = example_views.example_views(result, unit, rows, shown)
    if not out["examples"] and examples:
        missing.append((f"example {unit}s", "neither SHAP nor LIME explained the example rows"))
    out["spent_s"] = time.monotonic() - begun
    out["seconds"] = f"{out['spent_s']:.1f} s"
    return out


def _lime_charts(found: Any, lime_exp: Explanation | None, count: int) -> dict[Any, Any]:
    """The example rows' LIME charts, drawn as soon as LIME is done, and their seconds each
    (``"pace"``); empty when the page draws none (the explainer draws its own, or tokens)."""
    if type(found).draw is not Explainer.draw or example_views.has_tokens(lime_exp):
        return {}
    if not _attributes(lime_exp):
        return {}
    began, charts = time.monotonic(), {}
    for pos in range(min(count, len(lime_exp.rows))):
        charts[pos] = figures.signed_bars(
            lime_exp.values[pos], lime_exp.feature_names, example_views.shown_values(lime_exp, pos)
        )
    charts["pace"] = (time.monotonic() - began) / max(1, len(charts))
    return charts


def _figure_seconds(found: Any, result: Any, x: Any) -> float | None:
    """The explainer's own timing of one example figure (``Explainer.figure_seconds``) when it
    draws its own, else None; None too when it fails (the page's draw names the failure)."""
    if type(found).draw is Explainer.draw:
        return None
    try:
        return found.figure_seconds(result, np.asarray(x[:1]))
    except Exception:  # noqa: BLE001 - the page's own draw names the failure
        return None


def _drawn_probe(found: Any, result: Any, x: np.ndarray, lime_exp: Explanation | None):
    """Seconds to draw one example figure of LIME's alone, on a page whose explainer draws
    its own figures (the figure is thrown away: the page draws it again with SHAP's); None
    when there is none to time."""
    if type(found).draw is Explainer.draw or lime_exp is None or not len(lime_exp.rows):
        return None
    began = time.monotonic()
    try:
        found.draw(result, x[:1], None, lime_exp, 1)
    except Exception:  # noqa: BLE001 - the page's own draw names the failure
        return None
    return time.monotonic() - began


def _overview(found: Any, shap_exp: Explanation | None) -> tuple[dict[str, Any] | None, float]:
    """SHAP's overview bar chart, drawn as soon as SHAP is done, and the seconds it took:
    its pace sizes the time LIME leaves for the other figures. None when the page will show no
    per-feature charts (the explainer draws its own, or tokens)."""
    if (
        type(found).draw is not Explainer.draw
        or example_views.has_tokens(shap_exp)
        or not _attributes(shap_exp)
    ):
        return None, 0.0
    started = time.monotonic()
    view = _shap_view(shap_exp, beeswarm=False)  # the beeswarm comes last, if time is left
    return view, time.monotonic() - started


def _add_beeswarm(  # noqa: PLR0913
    overview: dict[str, Any],
    shap_exp: Explanation,
    per_figure: float,
    examples: list[int],
    end: float,
    missing: list[tuple[str, str]],
) -> None:
    """SHAP's beeswarm (about two bar charts' time), beyond the minimum: drawn only when the
    allowance still holds it and the example figures (two an example) at the pace of the
    page's recent figures (the bar chart's among them), else at the bar chart's."""
    pace = figures.recent_pace()
    per_figure = per_figure if pace is None else pace
    if time.monotonic() + per_figure * (BEESWARM_FIGURES + 2 * len(examples)) > end:
        missing.append(("SHAP beeswarm", "left out: the allowance had no time left for it"))
        return
    overview["beeswarm"] = _beeswarm(shap_exp)


def _bounds(bounds: ExplainBounds, seconds: float, unit: str, count: int, wanted: int):
    shown = fmt(count)
    if bounds.examples is None and count < wanted:
        shown += f" (not {wanted}: their figures would leave SHAP and LIME too little time)"
    return [
        ("time budget", budget_text(seconds)),
        (f"SHAP background {unit}s", fmt(bounds.background)),
        (f"{unit}s explained (global view)", fmt(bounds.rows)),
        (f"example {unit}s", shown),
        (f"{unit}s SHAP reaches first (sized to fit the budget)", fmt(bounds.min_rows)),
        (f"LIME samples per {unit}", fmt(bounds.lime_samples)),
    ]


def _take(raw: Any, order: np.ndarray) -> Any:
    """The raw rows at ``order`` (a DataFrame, an array or a list), or None."""
    if raw is None:
        return None
    if isinstance(raw, (pd.DataFrame, pd.Series)):
        return raw.iloc[order].reset_index(drop=True)
    return np.asarray(raw, dtype=object)[order]


def _run(  # noqa: PLR0913
    found: Any,
    result: Any,
    x: Any,
    method: str,
    *,
    background: Any,
    bounds: ExplainBounds,
    deadline: float,
    raw: Any,
    missing: list[tuple[str, str]],
) -> Any:
    """One method's explanation of ``x``, or None with the reason added to ``missing``."""
    try:
        exp = found.explain(
            result, x, method=method, background=background, bounds=bounds, deadline=deadline
        )
    except Exception as exc:
        missing.append((method.upper(), _why(exc)))
        return None
    readable_display(result, raw, exp)
    return exp


def _why(exc: BaseException) -> str:
    if isinstance(exc, ExplainError):
        return str(exc)
    if isinstance(exc, ImportError):
        return f"{exc}; install the explanation extra: pip install 'automl-nn[explain]'"
    return f"the explainer failed: {type(exc).__name__}: {exc}"


def _attributes(exp: Explanation | None) -> bool:
    """Whether an explanation has per-feature attributions to draw (a plugin's may only carry
    figures of its own)."""
    return (
        exp is not None
        and len(exp.rows) > 0
        and np.asarray(exp.values).ndim == 2
        and (np.asarray(exp.values).size > 0)
    )


def _space_text(exp: Explanation, unit: str = "row") -> str:
    target = exp.output[0] if exp.output else ""
    if exp.output_space in ("value", "predicted value"):
        return "the predicted value"
    if len(set(exp.output)) > 1:
        return f"the {exp.output_space} of each {unit}'s predicted class"
    return f"the {exp.output_space} of class {target!r}"


def _about(exp: Explanation, unit: str = "row") -> dict[str, Any]:
    return {
        "algorithm": exp.algorithm,
        "space": _space_text(exp, unit),
        "rows": len(exp.rows),
        "seconds": f"{exp.seconds:.1f} s",
    }


# -- faithfulness --------------------------------------------------------------------------------
# -- global views ---------------------------------------------------------------------------------
def _beeswarm(exp: Explanation) -> Any:
    """SHAP's beeswarm of the TOP_FEATURES columns of most importance."""
    importance = exp.importance()
    order = [exp.feature_names.index(n) for n in importance.index[:TOP_FEATURES]]
    return figures.beeswarm(exp.values, exp.colour, exp.feature_names, order)


def _shap_view(exp: Explanation, beeswarm: bool = True) -> dict[str, Any]:
    importance = exp.importance()
    return {
        **_about(exp),
        "bar": figures.bars(
            list(importance.index[:TOP_FEATURES]),
            list(importance.values[:TOP_FEATURES]),
            "mean |SHAP value| (average impact on the explained output)",
            colour=figures.POSITIVE,
        ),
        "beeswarm": _beeswarm(exp) if beeswarm else None,
        "hidden": max(0, len(exp.feature_names) - TOP_FEATURES),
    }
