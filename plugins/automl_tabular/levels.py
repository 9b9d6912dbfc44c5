"""The levels of a categorical column: their text, their rows, each row's level code and, on a
large training split, their order by the target (``target_order``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING = "__missing__"  # the level of a missing value
SMOOTHING = 20.0  # rows of the overall target mean added to each level's own (m-estimate)


def as_text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), MISSING).map(str)


def is_text(col: pd.Series) -> bool:
    """A column of strings only (object, pandas' string dtype or a categorical of strings)."""
    values = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
    numeric = pd.api.types.is_numeric_dtype(col.dtype)
    return not numeric and pd.api.types.infer_dtype(values, skipna=True) == "string"


def level_counts(col: pd.Series) -> pd.Series:
    """Rows per level (its text; missing values: ``MISSING``), most frequent first: what
    ``as_text(col).value_counts()`` gives, counted without a Python string per row for a
    column of strings."""
    if is_text(col):
        counts = col.value_counts(dropna=False)
        if isinstance(col.dtype, pd.CategoricalDtype):
            counts = counts[counts > 0]  # categories no row holds are no level
        counts.index = [v if isinstance(v, str) else MISSING for v in counts.index]
        if not counts.index.has_duplicates:  # else "__missing__" is also written out: merge
            return counts
    return as_text(col).value_counts()


def level_codes(col: pd.Series, levels: list[str]) -> np.ndarray:
    """Each row's position in ``levels`` (its text; a missing value: ``MISSING``'s), -1 for a
    level not among them. A column of strings (or a pandas categorical of strings) is coded by
    hashing, without a Python string per row (``as_text``)."""
    if not is_text(col):
        text = as_text(col)
        return pd.Categorical(text.where(text.isin(levels)), categories=levels).codes
    codes = pd.Index(levels, dtype=object).get_indexer(col.to_numpy(dtype=object))
    if MISSING in levels:
        codes[col.isna().to_numpy()] = levels.index(MISSING)
    return codes


def target_order(col: pd.Series, levels: list[str], y: np.ndarray, problem_type: str) -> list:
    """``levels`` (most frequent first) ordered by their smoothed target means: the mean of a
    regression target, the share of class 1 of a binary one; of several classes, the levels'
    class shares projected on their first principal direction (weighted by rows), the one order
    that separates the classes' shares most. Each level's mean is drawn towards the overall one
    by ``SMOOTHING`` rows, so that a rare level sits near the middle; ties keep the frequency
    order."""
    codes = level_codes(col, levels)
    rows = np.bincount(codes, minlength=len(levels)).astype(np.float64)
    if problem_type == "regression":
        values = y.astype(np.float64)
        sums = np.bincount(codes, weights=values, minlength=len(levels))
        prior = values.mean()
        score = (sums + SMOOTHING * prior) / (rows + SMOOTHING)
    else:
        classes = int(y.max(initial=0)) + 1
        counts = np.bincount(codes * classes + y.astype(np.int64), minlength=len(levels) * classes)
        counts = counts.reshape(len(levels), classes).astype(np.float64)
        prior = counts.sum(axis=0) / max(1.0, counts.sum())
        shares = (counts + SMOOTHING * prior) / (rows + SMOOTHING)[:, None]
        if classes <= 2:
            score = shares[:, -1]
        else:
            centred = (shares - prior) * np.sqrt(rows)[:, None]
            direction = np.linalg.svd(centred, full_matrices=False)[2][0]
            direction *= np.sign(direction[np.argmax(np.abs(direction))])
            score = (shares - prior) @ direction
    return [levels[i] for i in np.argsort(score, kind="stable")]
