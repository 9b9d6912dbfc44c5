"""Edge rows for the export check of a table, built from the fitted column plan (what the model
knows of its training data): a typical row (each number at its training median, each category
at a level seen in training), then that row with one cell at an edge: each number missing,
infinite, at the training minimum and maximum and beyond them by the training range (for a
standardised column of few values, whose range the plan does not keep, 4 standard deviations
from the mean); each category unseen and missing. Last, every column missing, and every number
at its low or its high extreme at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.plugin import EdgeRows
from automl_tabular.preprocessing import MISSING, Column, TabularPreprocessor

UNSEEN = "__a level never seen in training__"


def edge_rows(pre: TabularPreprocessor) -> EdgeRows:
    """The named edge rows of this table (see the module's docstring)."""
    typical = {plan.name: _typical(plan) for plan in pre.columns}
    rows, names = [dict(typical)], ["every column typical"]
    low, high = dict(typical), dict(typical)
    for plan in pre.columns:
        if plan.kind == "numeric":
            cases = {"missing": np.nan, "infinite": np.inf, **_extremes(plan)}
            low[plan.name], high[plan.name] = _far(plan)
        elif plan.kind == "date":
            cases = {"missing": None}
        else:
            cases = {"unseen": UNSEEN, "missing": None}
        for case, value in cases.items():
            rows.append({**typical, plan.name: value})
            names.append(f"{plan.name} {case}")
    nothing = {p.name: np.nan if p.kind == "numeric" else None for p in pre.columns}
    rows += [nothing, low, high]
    names += [
        "every column missing",
        "every number at its low extreme",
        "every number at its high extreme",
    ]
    frame = pd.DataFrame(rows, columns=pre.input_columns)  # dropped columns: empty
    for plan in pre.columns:
        if plan.kind == "numeric":
            frame[plan.name] = frame[plan.name].astype(np.float64)
        else:
            frame[plan.name] = frame[plan.name].astype(object)
    return EdgeRows(frame, names)


def _typical(plan: Column) -> object:
    if plan.kind == "numeric":
        return plan.fill
    if plan.kind == "date":
        return "2000-01-01"
    return next(lvl for lvl in plan.levels if lvl != MISSING)


def _extremes(plan: Column) -> dict[str, float]:
    if plan.quantiles is None:
        mean, sd = plan.scale
        return {
            "4 standard deviations below the training mean": mean - 4 * sd,
            "4 standard deviations above the training mean": mean + 4 * sd,
        }
    lo, hi = float(plan.quantiles[0]), float(plan.quantiles[-1])
    return {
        "at the training minimum": lo,
        "at the training maximum": hi,
        "below the training minimum": lo - (hi - lo),
        "above the training maximum": hi + (hi - lo),
    }


def _far(plan: Column) -> tuple[float, float]:
    values = list(_extremes(plan).values())
    return (values[0], values[1]) if plan.quantiles is None else (values[2], values[3])
