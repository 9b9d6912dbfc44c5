"""The report's example rows: one view per explained row (its title, right or wrong, and what
shows it): the explainer's own pictures (images), highlighted tokens (text), or a SHAP waterfall,
LIME bars and a table of the features that weigh most (tables)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from automl.explain import Explanation
from automl.report import figures, token_views
from automl.report.faithful import row_faithfulness
from automl.report.sections import fmt


def has_tokens(exp: Explanation | None) -> bool:
    """Whether an explanation carries per-token attributions (text)."""
    return exp is not None and exp.tokens is not None and len(exp.rows) > 0


def shown_values(exp: Explanation, pos: int) -> list[str]:
    """A row's values as the page shows them beside its features."""
    if exp.display is not None:
        return [str(v) for v in exp.display.iloc[pos].tolist()]
    return [""] * len(exp.feature_names)


def _row_space_text(exp: Explanation, pos: int) -> str:
    if exp.output_space == "value" or pos >= len(exp.output):
        return "the predicted value" if exp.output_space == "value" else ""
    return f"the {exp.output_space} of class {exp.output[pos]!r}"


# -- example rows ---------------------------------------------------------------------------------
class Rows(NamedTuple):
    """The explained rows: ``order`` (the example rows first), the ``examples``' positions,
    the model-ready rows ``x``, their labels ``y`` and the model's ``output`` on them."""

    order: np.ndarray
    examples: list[int]
    x: np.ndarray
    y: np.ndarray
    output: Any


class Shown(NamedTuple):
    """What the example views show: each method's explanation (or None), the explainer's own
    drawing, SHAP and LIME's agreement and the LIME charts already drawn."""

    shap_exp: Explanation | None
    lime_exp: Explanation | None
    drawing: Any
    agreement: Any
    lime_charts: dict[Any, Any]


def example_views(result: Any, unit: str, rows: Rows, shown: Shown) -> list[dict[str, Any]]:
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
        if drawing is None and (has_tokens(shap_exp) or has_tokens(lime_exp)):
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
    shown = shown_values(source, pos)
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
