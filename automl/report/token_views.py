"""The report's views of token explanations (text): the tokens of most weight per explained
class, and a row's tokens highlighted by their attributions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.explain import Explanation
from automl.report.sections import fmt

TOP_TOKENS = 10
MAX_CLASSES = 10
POSITIVE_RGB = (232, 56, 79)  # figures.POSITIVE
NEGATIVE_RGB = (30, 136, 229)  # figures.NEGATIVE


def token_table(exp: Explanation) -> list[dict[str, Any]]:
    """Per explained class (up to ``MAX_CLASSES``, most frequent first), the tokens with the
    largest mean |SHAP| over the rows explained for that class (0 where a row lacks one)."""
    labels = pd.Series(exp.output).value_counts().index.tolist()[:MAX_CLASSES]
    table = []
    values = np.asarray(exp.values, dtype=np.float64)
    for label in labels:
        rows = [i for i, o in enumerate(exp.output) if o == label]
        mean_abs = np.abs(values[rows]).mean(axis=0)
        mean = values[rows].mean(axis=0)
        present = (values[rows] != 0).sum(axis=0)
        top = np.argsort(-mean_abs, kind="stable")[:TOP_TOKENS]
        table.append(
            {
                "label": str(label),
                "rows": len(rows),
                "tokens": [
                    {
                        "token": exp.feature_names[j],
                        "mean_abs": fmt(float(mean_abs[j]), 3),
                        "mean": fmt(float(mean[j]), 3),
                        "present": fmt(int(present[j])),
                        "style": span_style(float(mean[j]), float(mean_abs[top[0]]) or 1.0),
                    }
                    for j in top
                    if mean_abs[j] > 0
                ],
            }
        )
    return table


# -- highlighted tokens -------------------------------------------------------------------------
def span_style(value: float, scale: float) -> str:
    """An inline background colour: red for a positive attribution, blue for a negative one,
    as strong as ``|value| / scale``."""
    rgb = POSITIVE_RGB if value >= 0 else NEGATIVE_RGB
    alpha = min(1.0, abs(value) / scale) * 0.8 if scale > 0 else 0.0
    return f"background: rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.2f})"


def highlight(row: Any, tokens: list[tuple[str, float]], method: str) -> list[dict[str, Any]]:
    """The row's text as pieces, each token with its background and a tooltip of its value;
    the characters between tokens as written (when the row is the text itself), else single
    spaces. The template escapes every piece."""
    scale = max((abs(v) for _, v in tokens), default=0.0)
    pieces: list[dict[str, Any]] = []
    text = row if isinstance(row, str) else None
    pos = 0
    for token, value in tokens:
        at = text.find(token, pos) if text is not None else -1
        if at < 0:
            text = None  # cannot follow the row's own spacing: fall back to spaces
            if pieces:
                pieces.append({"text": " ", "style": None, "title": None})
        elif at > pos:
            pieces.append({"text": text[pos:at], "style": None, "title": None})
        pieces.append(
            {
                "text": token,
                "style": span_style(value, scale),
                "title": f"{method} {value:+.3g}",
            }
        )
        if text is not None:
            pos = at + len(token)
    if text is not None and pos < len(text):
        pieces.append({"text": text[pos:], "style": None, "title": None})
    return pieces
