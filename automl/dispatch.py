"""Which task takes an input, and the input checks that come before any task sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.plugins import Registry
from automl.task import Task


def as_pair(dataset: Any, target: Any) -> tuple[Any, Any]:
    """``fit(X, y)`` as scikit-learn and FLAML users call it: a ``target`` that holds one label
    per row (not a column name) is the y of an ``(X, y)`` pair, for every task."""
    if target is None or isinstance(target, (str, bytes, tuple)) or isinstance(dataset, tuple):
        return dataset, target
    if isinstance(dataset, str) or not hasattr(dataset, "__len__"):
        return dataset, target
    try:
        labels = np.ndim(target) >= 1 and len(target) == len(dataset)
    except TypeError:
        return dataset, target
    return ((dataset, target), None) if labels else (dataset, target)


def target_name(dataset: Any, target: Any) -> str | int | None:
    """The name of the target as later rows may hold it (``fit(df, "class")``: "class"; an
    ``(X, y)`` pair whose y is a named Series that X lacks: its name), so that
    ``result.evaluate(test_df)`` finds it there; None: the target has no name."""
    if isinstance(target, (str, int)) and not isinstance(target, bool):
        return target
    if isinstance(dataset, tuple) and len(dataset) == 2 and target is None:
        x, y = dataset
        name = getattr(y, "name", None) if isinstance(y, pd.Series) else None
        if isinstance(name, str) and name not in getattr(x, "columns", ()):
            return name
    return None


def describe_value(value: Any) -> str:
    """A short description for messages: never a whole array."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    shape = getattr(value, "shape", None)
    size = f" of shape {tuple(shape)}" if shape is not None else ""
    if not size and hasattr(value, "__len__"):
        size = f" of {len(value)} items"
    return f"a {type(value).__name__}{size}"


def check_iterable_input(dataset: Any) -> None:
    """A generator (or any one-pass iterator) of rows, texts or images cannot be split, sniffed
    and read again at predict time: ask for a list."""
    parts = dataset if isinstance(dataset, tuple) else (dataset,)
    for part in parts:
        if isinstance(part, Iterator):
            raise DataError(
                f"the data is a one-pass {type(part).__name__}: pass a list (list(...)), an "
                "array or a DataFrame, so it can be split and read more than once"
            )


def choose_task(registry: Registry, dataset: Any, target: Any, task: str | None) -> Task:
    """The named task, or the loaded task that accepts this input best."""
    if task is not None:
        return registry.task(task)
    scores = {name: t.accepts(dataset, target) for name, t in registry.tasks.items()}
    name, best = max(scores.items(), key=lambda kv: kv[1], default=("", 0.0))
    if not best:
        accepted = "; ".join(t.describe_input() for t in registry.tasks.values()) or "none"
        raise DataError(
            f"no loaded plugin accepts input of type {type(dataset).__name__}"
            f"{'' if target is None else f' with target={describe_value(target)}'}. "
            f"Accepted: {accepted}"
        )
    return registry.tasks[name]
