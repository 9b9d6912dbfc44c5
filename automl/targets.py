"""Target validation, problem-type inference, label encoding and the train/valid split.

Modality-agnostic: every task plugin hands its labels through here, so the same bad-input rules
(empty, NaN/inf, one class, a class too rare to split) hold for tables, images and text alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.task import PROBLEM_TYPES

# An integer target with at most this many distinct values (and few per row) is read as classes.
MAX_INFERRED_CLASSES = 30


@dataclass
class TargetEncoder:
    """Maps user labels to class ids 0..k-1 and back; identity for regression."""

    problem_type: str
    classes: list[Any] | None = None

    def encode(self, y: Any) -> np.ndarray:
        values = _as_1d(y)
        if self.problem_type == "regression":
            return values.astype(np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        try:
            return np.array([index[_plain(v)] for v in values], dtype=np.int64)
        except KeyError as exc:
            raise DataError(
                f"label {exc.args[0]!r} was not seen in training; known classes: {self.classes}"
            ) from None

    def decode(self, ids: np.ndarray) -> np.ndarray:
        if self.problem_type == "regression":
            return np.asarray(ids, dtype=np.float64)
        return np.asarray(self.classes, dtype=object)[np.asarray(ids, dtype=np.int64)]

    def to_json(self) -> dict[str, Any]:
        return {"problem_type": self.problem_type, "classes": self.classes}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TargetEncoder:
        return cls(obj["problem_type"], obj["classes"])


def _plain(v: Any) -> Any:
    """numpy scalars to Python scalars so labels survive JSON and compare equal."""
    return v.item() if isinstance(v, np.generic) else v


def _as_1d(y: Any) -> np.ndarray:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"the target has {y.shape[1]} columns; pass a single column")
        y = y.iloc[:, 0]
    arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"the target must be one-dimensional; got shape {arr.shape}")
    return arr


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return ~np.isfinite(values)
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


def validate_target(y: Any) -> np.ndarray:
    """Reject empty targets and NaN/inf values, naming the first offending rows."""
    values = _as_1d(y)
    if len(values) == 0:
        raise DataError("the data is empty: no rows to learn from; pass at least a few rows")
    bad = np.flatnonzero(_missing_mask(values))
    if len(bad):
        rows = ", ".join(str(i) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise DataError(
            f"the target has {len(bad)} missing or infinite value(s) (rows {rows}); "
            "drop those rows or fill in their labels before fit"
        )
    return values


def infer_problem_type(values: np.ndarray) -> tuple[str, str]:
    """Guess binary / multiclass / regression from the target values; returns (type, reason)."""
    n_unique = len(pd.unique(values))
    kind = values.dtype.kind
    if kind in "OUSb" or isinstance(values.dtype, pd.CategoricalDtype):
        ptype = "binary" if n_unique == 2 else "multiclass"
        return ptype, f"{n_unique} distinct non-numeric labels"
    if kind == "f" and not np.all(np.mod(values, 1) == 0):
        return "regression", "the target holds non-integer numbers"
    if n_unique == 2:
        return "binary", "the target holds exactly 2 distinct values"
    if n_unique <= MAX_INFERRED_CLASSES and n_unique <= max(2, len(values) // 10):
        return "multiclass", f"{n_unique} distinct integer values in {len(values)} rows"
    return "regression", f"{n_unique} distinct integer values: read as a quantity, not classes"


def prepare_target(y: Any, problem_type: str | None) -> tuple[np.ndarray, TargetEncoder, str, str]:
    """Validate, infer the problem type if not given, and encode: (y, encoder, type, reason)."""
    values = validate_target(y)
    if problem_type is None:
        problem_type, reason = infer_problem_type(values)
        reason = f"inferred '{problem_type}': {reason}"
    elif problem_type not in PROBLEM_TYPES:
        raise DataError(f"unknown problem_type {problem_type!r}; use one of {list(PROBLEM_TYPES)}")
    else:
        reason = "given by the caller"
    if problem_type == "regression":
        if values.dtype.kind not in "iufb":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(
                    "problem_type='regression' needs a numeric target; this one holds text labels"
                ) from None
        return values.astype(np.float32), TargetEncoder("regression"), problem_type, reason
    classes, counts = np.unique(
        values.astype(str) if values.dtype.kind == "O" else values, return_counts=True
    )
    if values.dtype.kind == "O":  # keep the user's own label objects, sorted by their text
        by_text = {str(v): _plain(v) for v in values}
        classes = np.array([by_text[c] for c in classes], dtype=object)
    if len(classes) < 2:
        raise DataError(
            f"the target has one class only ({_plain(classes[0])!r}); a classifier needs at "
            "least two: check the target column, or use problem_type='regression'"
        )
    if problem_type == "binary" and len(classes) != 2:
        raise DataError(
            f"problem_type='binary' but the target has {len(classes)} classes; "
            "use problem_type='multiclass' (or leave it None to infer)"
        )
    rare = [(_plain(c), int(n)) for c, n in zip(classes, counts) if n < 2]
    if rare:
        raise DataError(
            f"class(es) too rare to split into train and validation: {rare[:5]} (label, rows); "
            "each class needs at least 2 rows: collect more, merge or drop those rows"
        )
    encoder = TargetEncoder(problem_type, [_plain(c) for c in classes])
    return encoder.encode(values), encoder, problem_type, reason


def split_indices(
    y: np.ndarray, problem_type: str, valid_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a (stratified, for classification) train/valid split."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < valid_fraction < 1.0:
        raise DataError(f"valid_fraction must lie in (0, 1); got {valid_fraction}")
    n = len(y)
    n_classes = 1 if problem_type == "regression" else int(y.max()) + 1
    n_valid = max(int(round(n * valid_fraction)), n_classes)
    if n - n_valid < n_classes or n < 4:
        raise DataError(
            f"too few rows ({n} sample(s)) to hold out a validation split; pass at least "
            f"{max(4, 2 * n_classes)} rows"
        )
    stratify = None if problem_type == "regression" else y
    idx = np.arange(n)
    train, valid = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)
