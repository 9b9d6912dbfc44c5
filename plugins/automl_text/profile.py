"""What drift monitoring watches of texts: length in characters and in words, and the share of
words that the training texts never used (out-of-vocabulary rate; the vocabulary is the
training split's 50,000 most frequent words); and how a JSON request's texts are read.

Every training text is in the vocabulary built from it, so the reference rates are
cross-fitted: each fifth of the training texts is measured against the vocabulary of the other
four fifths, as new texts meet a vocabulary they did not help build."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, InputProfile
from automl_text.tokenize import words

VOCABULARY = 50_000  # the largest vocabulary any family searches


class TextProfile(InputProfile):
    """Characters, words and out-of-vocabulary rate of each text."""

    def __init__(self, column: str | None = None) -> None:
        self.column = column
        self.vocabulary: set[str] = set()

    def fit(self, raw: Any) -> TextProfile:
        self.vocabulary = _vocabulary(self._texts(raw))
        return self

    def training_rows(self, raw: Any, folds: int = 5, seed: int = 0) -> pd.DataFrame:
        """The statistics of the training texts, out-of-vocabulary rates cross-fitted."""
        texts = self._texts(raw)
        order = np.random.default_rng(seed).permutation(len(texts))
        parts = [order[i::folds] for i in range(folds)] if len(texts) >= folds else [order]
        out = self.measure(texts)
        for part in parts:
            rest = np.setdiff1d(order, part)
            vocabulary = _vocabulary(texts[rest]) if len(rest) else set()
            out.loc[part, "oov_rate"] = self._table(texts[part], vocabulary)["oov_rate"].values
        return out

    def _texts(self, raw: Any) -> np.ndarray:
        """Cleaned texts; the warning about empty texts is predict's (or fit's) to give."""
        import warnings

        from automl_text.task import TextFeatures

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return TextFeatures(self.column).transform(raw)

    def measure(self, raw: Any) -> pd.DataFrame:
        return self._table(self._texts(raw), self.vocabulary)

    @staticmethod
    def _table(texts: Any, vocabulary: set[str]) -> pd.DataFrame:
        rows = []
        for text in texts:
            toks = words(text)
            unknown = sum(w not in vocabulary for w in toks)
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


def _vocabulary(texts: Any) -> set[str]:
    counts = Counter(w for text in texts for w in words(text))
    return {w for w, _ in counts.most_common(VOCABULARY)}


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
