"""The table inputs we accept, turned into a DataFrame of features and a target."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, is_table_path, read_table, unpack_pair

ACCEPTED = (
    "tables: a pandas DataFrame with target='column', an (X, y) pair of 2-D numpy arrays or "
    "DataFrames, a CSV/TSV/Parquet path with target='column', or a scikit-learn Bunch"
)


def as_frame(x: Any) -> pd.DataFrame:
    """Features as a DataFrame; numpy columns are named x0, x1, ..."""
    if isinstance(x, pd.DataFrame):
        return x
    if isinstance(x, pd.Series):
        return x.to_frame()
    arr = np.asarray(x)
    if arr.ndim == 1:
        raise DataError(
            f"features must be 2-D (rows x columns); got a 1-D array of {len(arr)} values: "
            "reshape a single feature with x.reshape(-1, 1)"
        )
    if arr.ndim != 2:
        raise DataError(f"tabular features must be 2-D (rows x columns); got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def split_target(dataset: Any, target: Any) -> tuple[pd.DataFrame, Any]:  # noqa: C901
    """(features, target) from any accepted input; errors name what is missing."""
    if is_table_path(dataset):
        dataset = read_table(dataset)
    if _is_bunch(dataset):
        frame = getattr(dataset, "frame", None)
        data = dataset.data
        names = getattr(dataset, "feature_names", None)
        if not isinstance(data, pd.DataFrame) and names is not None and frame is None:
            data = pd.DataFrame(np.asarray(data), columns=list(names))
        return as_frame(data), dataset.target
    if isinstance(dataset, tuple):
        return pair(*unpack_pair(dataset, target))
    if isinstance(dataset, pd.DataFrame):
        if target is None:
            raise DataError(
                "a DataFrame needs target='column' naming the column to predict; columns: "
                f"{list(dataset.columns)[:20]}"
            )
        if not is_column_name(target):
            names = list(target) if isinstance(target, (list, tuple)) else []
            if names and all(is_column_name(n) and n in dataset.columns for n in names):
                raise DataError(
                    f"target must name one column; got the list {names!r}: pass "
                    f"target={names[0]!r} (one model per target column)"
                )
            return pair(dataset, target)  # fit(X, y): the labels themselves
        if target not in dataset.columns:
            raise DataError(
                f"target column {target!r} is not in the data; columns: "
                f"{list(dataset.columns)[:20]}"
            )
        return dataset.drop(columns=[target]), dataset[target]
    raise DataError(f"input of type {type(dataset).__name__} is not a table; accepted: {ACCEPTED}")


# what pandas infers of an object column whose cells are all single values (no loop needed)
_SINGLE_VALUES = {
    "string",
    "bytes",
    "floating",
    "integer",
    "mixed-integer-float",
    "decimal",
    "complex",
    "boolean",
    "datetime64",
    "datetime",
    "date",
    "timedelta64",
    "timedelta",
    "time",
    "period",
    "interval",
    "categorical",
    "empty",
}


def refuse_container_cells(frame: pd.DataFrame, names: Iterable[str]) -> None:
    """A cell holds one value: a column whose cells are lists, dicts, sets or arrays (neither
    a number nor a category) is refused, naming the column, a row and what to do."""
    for name in names:
        col = frame[name]
        if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in _SINGLE_VALUES:
            continue
        for row, value in col.items():
            try:
                hash(value)
            except TypeError:
                raise DataError(
                    f"column {name!r} holds {type(value).__name__} values (row {row!r}: "
                    f"{value!r:.40}); a cell must hold one number, string or date: spread them "
                    f"over columns of their own (pd.json_normalize, or "
                    f"df[{name!r}].apply(pd.Series)), join them into one string, or drop the "
                    "column"
                ) from None


def is_column_name(target: Any) -> bool:
    """A column name (a string or another hashable scalar), not a sequence of labels."""
    return isinstance(target, (str, int, np.integer)) and not isinstance(target, bool)


def pair(x: Any, y: Any) -> tuple[pd.DataFrame, Any]:
    """Features and labels of an (X, y) pair: as many labels as rows, and a y Series with an
    index of its own aligned to X's as pandas does, or refused when the two differ."""
    frame = as_frame(x)
    if np.ndim(y) == 0:
        raise DataError(f"y must hold one label per row; got a single {type(y).__name__}")
    if len(frame) != len(y):
        raise DataError(f"X has {len(frame)} rows but y has {len(y)}: they must match")
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series) and isinstance(x, pd.DataFrame) and not y.index.equals(x.index):
        same = y.index.is_unique and x.index.is_unique and set(y.index) == set(x.index)
        if not same:
            only = [i for i in y.index if i not in set(x.index)][:3]
            raise DataError(
                "X and y have different row indexes (e.g. y rows "
                f"{only or list(y.index[:3])} are not in X): pandas would pair them by index, "
                "not position. Align them (y = y.loc[X.index]) or reset both "
                "(X.reset_index(drop=True), y.reset_index(drop=True))"
            )
        y = y.loc[x.index]  # the same rows in another order: paired by index
    return frame, y


def _is_bunch(obj: Any) -> bool:
    return hasattr(obj, "data") and hasattr(obj, "target") and not isinstance(obj, pd.DataFrame)


def accepts(dataset: Any, target: Any) -> float:
    """How surely this input is a table."""
    if isinstance(dataset, pd.DataFrame):
        if target is None:
            return 0.5
        if not is_column_name(target):
            return 0.9  # fit(X, y) with labels, or a wrong target that split_target names
        return 0.9 if target in dataset.columns else 0.5
    if is_table_path(dataset):
        return 0.8
    if _is_bunch(dataset):
        return 0.9 if np.ndim(dataset.data) == 2 else 0.0
    if isinstance(dataset, tuple) and len(dataset) == 2:
        x = dataset[0]
        if isinstance(x, pd.DataFrame):
            return 0.9
        if isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind in "biufO":
            return 0.9
    return 0.0
