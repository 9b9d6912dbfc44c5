"""What drift monitoring watches of texts: length in characters and in words, and the share of
words that the training texts never used (out-of-vocabulary rate; the vocabulary is the
training split's 50,000 most frequent words); and how a JSON request's texts are read."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from automl.drift import InputProfile
from automl.errors import DataError
from automl_text.tokenize import words

VOCABULARY = 50_000  # the largest vocabulary any family searches


class TextProfile(InputProfile):
    """Characters, words and out-of-vocabulary rate of each text."""

    def __init__(self, column: str | None = None) -> None:
        self.column = column
        self.vocabulary: set[str] = set()

    def fit(self, raw: Any) -> TextProfile:
        counts = Counter(w for text in self._texts(raw) for w in words(text))
        self.vocabulary = {w for w, _ in counts.most_common(VOCABULARY)}
        return self

    def _texts(self, raw: Any) -> np.ndarray:
        from automl_text.task import TextFeatures

        return TextFeatures(self.column).transform(raw)

    def measure(self, raw: Any) -> pd.DataFrame:
        rows = []
        for text in self._texts(raw):
            toks = words(text)
            unknown = sum(w not in self.vocabulary for w in toks)
            rows.append(
                (float(len(text)), float(len(toks)), unknown / len(toks) if toks else np.nan)
            )
        return pd.DataFrame(rows, columns=["characters", "words", "oov_rate"], dtype=np.float64)

    def get_state(self) -> dict[str, Any]:
        return {"column": self.column, "vocabulary": np.array(sorted(self.vocabulary), dtype=str)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextProfile:
        self = cls(state["column"])
        self.vocabulary = set(state["vocabulary"].tolist())
        return self


def texts_from_json(payload: Any) -> list[str]:
    """``{"rows": ["text", ...]}`` as a list of strings."""
    if not isinstance(payload, dict) or "rows" not in payload:
        raise DataError('send {"rows": ["a text", ...]}')
    rows = payload["rows"]
    if not isinstance(rows, list) or not rows:
        raise DataError('"rows" must be a non-empty list of strings')
    bad = [i for i, v in enumerate(rows) if not isinstance(v, str)]
    if bad:
        raise DataError(
            f"row {bad[0]} is a {type(rows[bad[0]]).__name__}, not a string; send texts as "
            "JSON strings"
        )
    return rows
