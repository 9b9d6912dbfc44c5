"""``fit(sample_weight=...)``: per-row weights taken from the input and split with its rows.

Weights are an array with one value per input row, or the name of a column of a DataFrame input
(taken out of the features; also read from a ``valid=`` DataFrame that holds it, else the
caller's validation rows weigh 1). The task says which input rows it put on each side
(``TaskData.train_rows`` / ``valid_rows``), so weights follow the rows whatever the modality.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.errors import ParameterError


def take(dataset: Any, valid: Any, sample_weight: Any) -> tuple[Any, Any, Any, Any]:
    """(dataset, valid, weights of the input rows, weights of the valid rows or None), the
    weight column removed from the data when it was named."""
    if sample_weight is None:
        return dataset, valid, None, None
    if isinstance(sample_weight, str):
        dataset, weights = _column(dataset, sample_weight, required=True)
        valid, valid_weights = _column(valid, sample_weight, required=False)
        return dataset, valid, _checked(weights), _checked(valid_weights)
    return dataset, valid, _checked(sample_weight), None


def _column(data: Any, name: str, *, required: bool) -> tuple[Any, Any]:
    frame = data[0] if isinstance(data, tuple) and len(data) == 2 else data
    if isinstance(frame, pd.DataFrame) and name in frame.columns:
        weights, rest = frame[name].to_numpy(), frame.drop(columns=[name])
        return ((rest, data[1]) if isinstance(data, tuple) else rest), weights
    if required:
        raise ParameterError(
            f"sample_weight={name!r} names a column, but the data has no such column (only a "
            "DataFrame input can name one); pass an array with one weight per row instead"
        )
    return data, None


def _checked(weights: Any) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, pd.Series):
        weights = weights.to_numpy()
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("sample_weight must hold numbers, one per row") from None
    if w.ndim != 1:
        raise ParameterError(f"sample_weight must be one-dimensional; got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ParameterError(
            "sample_weight must be finite and non-negative, with a positive sum (no NaN)"
        )
    return w


def attach(
    data: Any, weights: np.ndarray | None, valid_weights: np.ndarray | None, task: str
) -> None:
    """Give the train and valid rows of task ``task`` (its name) their weights
    (``data.w_train`` / ``w_valid``)."""
    if weights is None:
        return
    if data.train_rows is None or data.valid_rows is None:
        raise ParameterError(
            f"task {task!r} does not report which rows it split where, so sample_weight "
            "cannot follow them; its plugin must set TaskData.train_rows / valid_rows"
        )
    given = len(data.valid_rows) if data.given_valid else 0
    n_input = len(data.train_rows) + len(data.valid_rows) - given
    if len(weights) != n_input:
        raise ParameterError(
            f"sample_weight has {len(weights)} values but the data has {n_input} rows: pass one "
            "weight per row"
        )
    if given and valid_weights is not None and len(valid_weights) != given:
        raise ParameterError(
            f"the validation data's weight column has {len(valid_weights)} values for {given} rows"
        )
    extra = np.ones(given) if valid_weights is None else valid_weights
    every = np.concatenate([weights, extra]) if given else weights
    data.w_train = every[data.train_rows]
    data.w_valid = every[data.valid_rows]
