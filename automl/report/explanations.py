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
import time
from typing import Any, NamedTuple

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
from automl.report import figures, token_views
from automl.report.explain_time import (
    BEESWARM_FIGURES,
    drawn_end,
    explainers_end,
    lime_deadline,
    shap_end,
)
from automl.report.faithful import (
    agreement_of,
    faithfulness_table,
    row_faithfulness,
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
    # load 8): the shares below split what is left of the allowance after this fixed cost
    with contextlib.suppress(ImportError):  # the method that needs it names the extra
        found.prepare(result)
    started = time.monotonic()
    seconds = max(0.0, allowance - (started - begun))
    if seconds < SHORT_BUDGET and bounds.background > SHORT_BACKGROUND:
        # SHAP's cost grows with the background (interventional tree SHAP: linearly): a short
        # budget (a fit's short time_budget) explains on a smaller one, as the bounds table says
        bounds = bounds.with_(background=SHORT_BACKGROUND)
    unit = found.unit
    count = bounds.examples if bounds.examples is not None else found.examples
    out.update(unit=unit, about=found.about)
    out["bounds"] = _bounds(bounds, allowance, unit, count)
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
    end = explainers_end(found, examples, started, seconds)
    lime_end = lime_deadline(started, end, bounds.min_examples, len(examples))
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
    # leave the figures after it their time (a bar chart, the beeswarm, a waterfall an example)
    lime_charts = _lime_charts(found, lime_exp, len(examples))
    if lime_charts:
        pace = lime_charts.pop("pace")
        end = shap_end(end, started, seconds, pace * (1 + BEESWARM_FIGURES + len(examples)))
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
    elif _has_tokens(shap_exp) or _has_tokens(lime_exp):
        out["mode"] = "tokens"
        if _has_tokens(shap_exp):
            out["tokens_table"] = token_views.token_table(shap_exp)
    elif _attributes(shap_exp):
        out["mode"] = "features"
        out["shap"] = overview or _shap_view(shap_exp)
    elif _attributes(lime_exp):
        out["mode"] = "features"
    if shap_exp is not None and out["shap"] is None:
        out["shap_about"] = _about(shap_exp, unit)
    rows = _Rows(order, examples, x, y, output)
    shown = _Shown(shap_exp, lime_exp, drawing, agreement, lime_charts)
    out["examples"] = _examples(result, unit, rows, shown)
    if not out["examples"] and examples:
        missing.append((f"example {unit}s", "neither SHAP nor LIME explained the example rows"))
    out["spent_s"] = time.monotonic() - begun
    out["seconds"] = f"{out['spent_s']:.1f} s"
    return out


def _lime_charts(found: Any, lime_exp: Explanation | None, count: int) -> dict[Any, Any]:
    """The example rows' LIME charts, drawn as soon as LIME is done, and their seconds each
    (``"pace"``); empty when the page draws none (the explainer draws its own, or tokens)."""
    if type(found).draw is not Explainer.draw or _has_tokens(lime_exp):
        return {}
    if not _attributes(lime_exp):
        return {}
    began, charts = time.monotonic(), {}
    for pos in range(min(count, len(lime_exp.rows))):
        charts[pos] = figures.signed_bars(
            lime_exp.values[pos], lime_exp.feature_names, _shown(lime_exp, pos)
        )
    charts["pace"] = (time.monotonic() - began) / max(1, len(charts))
    return charts


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


def _shown(exp: Explanation, pos: int) -> list[str]:
    """A row's values as the page shows them beside its features."""
    if exp.display is not None:
        return [str(v) for v in exp.display.iloc[pos].tolist()]
    return [""] * len(exp.feature_names)


def _overview(found: Any, shap_exp: Explanation | None) -> tuple[dict[str, Any] | None, float]:
    """SHAP's overview bar chart, drawn as soon as SHAP is done, and the seconds it took:
    its pace sizes the time LIME leaves for the other figures. None when the page will show no
    per-feature charts (the explainer draws its own, or tokens)."""
    if (
        type(found).draw is not Explainer.draw
        or _has_tokens(shap_exp)
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
    if time.monotonic() + per_figure * (2 + 2 * len(examples)) > end:
        missing.append(("SHAP beeswarm", "left out: the allowance had no time left for it"))
        return
    overview["beeswarm"] = _beeswarm(shap_exp)


def _bounds(bounds: ExplainBounds, seconds: float, unit: str, count: int) -> list[tuple]:
    return [
        ("time budget", budget_text(seconds)),
        (f"SHAP background {unit}s", fmt(bounds.background)),
        (f"{unit}s explained (global view)", fmt(bounds.rows)),
        (f"example {unit}s", fmt(count)),
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


def _has_tokens(exp: Explanation | None) -> bool:
    return exp is not None and exp.tokens is not None and len(exp.rows) > 0


def _space_text(exp: Explanation, unit: str = "row") -> str:
    target = exp.output[0] if exp.output else ""
    if exp.output_space in ("value", "predicted value"):
        return "the predicted value"
    if len(set(exp.output)) > 1:
        return f"the {exp.output_space} of each {unit}'s predicted class"
    return f"the {exp.output_space} of class {target!r}"


def _row_space_text(exp: Explanation, pos: int) -> str:
    if exp.output_space == "value" or pos >= len(exp.output):
        return "the predicted value" if exp.output_space == "value" else ""
    return f"the {exp.output_space} of class {exp.output[pos]!r}"


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


# -- example rows ---------------------------------------------------------------------------------
class _Rows(NamedTuple):
    """The explained rows: ``order`` (the example rows first), the ``examples``' positions,
    the model-ready rows ``x``, their labels ``y`` and the model's ``output`` on them."""

    order: np.ndarray
    examples: list[int]
    x: np.ndarray
    y: np.ndarray
    output: Any


class _Shown(NamedTuple):
    """What the example views show: each method's explanation (or None), the explainer's own
    drawing, SHAP and LIME's agreement and the LIME charts already drawn."""

    shap_exp: Explanation | None
    lime_exp: Explanation | None
    drawing: Any
    agreement: Any
    lime_charts: dict[Any, Any]


def _examples(result: Any, unit: str, rows: _Rows, shown: _Shown) -> list[dict[str, Any]]:
    order, examples, x, y, output = rows
    shap_exp, lime_exp, drawing, agreement, lime_charts = shown
    views = []
    for pos, row in enumerate(examples):
        has_shap = shap_exp is not None and pos < len(shap_exp.rows)
        has_lime = lime_exp is not None and pos < len(lime_exp.rows)
        pictures = drawing.examples[pos] if drawing and pos < len(drawing.examples) else []
        if not (has_shap or has_lime or pictures):
            continue
        title, verdict = _title(result, unit, row, y, output)
        source = shap_exp if has_shap else lime_exp
        view = {
            "row": int(row),
            "title": title,
            "verdict": verdict,
            "explains": _row_space_text(source, pos) if source is not None else "",
            "figures": pictures,
            "faithful": row_faithfulness(pos, shap_exp, lime_exp, agreement),
            "shap_tokens": None,
            "lime_tokens": None,
            "waterfall": None,
            "gap": None,
            "lime": None,
            "table": [],
            "lime_fit": None,
        }
        if drawing is None and (_has_tokens(shap_exp) or _has_tokens(lime_exp)):
            text = x[order[pos]]
            if has_shap and shap_exp.tokens is not None:
                view["shap_tokens"] = token_views.highlight(text, shap_exp.tokens[pos], "SHAP")
            if has_lime and lime_exp.tokens is not None:
                view["lime_tokens"] = token_views.highlight(text, lime_exp.tokens[pos], "LIME")
        elif drawing is None:
            shown = (shap_exp if has_shap else None, lime_exp if has_lime else None)
            _feature_example(view, pos, *shown, lime_charts)
        views.append(view)
    return views


def _title(result, unit, row, y, output) -> tuple[str, str | None]:
    classes = result.classes_ or []
    if result.problem_type == "regression":
        return (
            f"Held-out {unit} {row}: predicted {fmt(float(output[row]))}, true "
            f"{fmt(float(y[row]))}",
            None,
        )
    c = int(np.argmax(output[row]))
    label = classes[c] if c < len(classes) else c
    prob = f" (p = {output[row][c]:.2f})" if result.predictor.has_proba else ""
    t = int(y[row])
    truth = classes[t] if t < len(classes) else t
    verdict = "right" if c == t else "wrong"
    return f"Held-out {unit} {row}: predicted {label!s}{prob}, true {truth!s}", verdict


def _feature_example(view, pos, shap_exp, lime_exp, lime_charts) -> None:
    source = shap_exp if shap_exp is not None else lime_exp
    names = source.feature_names
    shown = _shown(source, pos)
    shap_row = None if shap_exp is None else shap_exp.values[pos]
    lime_row = None if lime_exp is None else lime_exp.values[pos]
    if shap_exp is not None:
        base = float(shap_exp.base_values[pos])
        prediction = float(shap_exp.predictions[pos])
        view["waterfall"] = figures.waterfall(
            shap_row, base, names, shown, space=shap_exp.output_space, prediction=prediction
        )
        total = base + float(np.sum(shap_row))
        if figures.has_gap(total, prediction):
            view["gap"] = (
                f"The SHAP values of this row add up to {fmt(total)}, the model's output is "
                f"{fmt(prediction)}: the explainer's approximation error ({shap_exp.algorithm}) "
                f"is {fmt(prediction - total, 3)}, drawn as the last step."
            )
    if lime_exp is not None:
        view["lime"] = lime_charts.get(pos) or figures.signed_bars(lime_row, names, shown)
    if lime_exp is not None and lime_exp.local_fit is not None:
        view["lime_fit"] = fmt(float(lime_exp.local_fit[pos]), 2)
    key = np.abs(shap_row) if shap_row is not None else np.abs(lime_row)
    for j in np.argsort(-key)[:10]:
        view["table"].append(
            {
                "feature": names[j],
                "value": shown[j],
                "shap": fmt(float(shap_row[j]), 3) if shap_row is not None else "–",
                "lime": fmt(float(lime_row[j]), 3) if lime_row is not None else "–",
            }
        )
