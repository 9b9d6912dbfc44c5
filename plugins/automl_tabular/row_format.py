"""A table's served row for ``automl serve``'s ``/docs``: a field per input column, typed as
the fitted preprocessor reads it, with an example value from the training split."""

from __future__ import annotations

import pandas as pd

from automl.plugin import RowField, RowFormat
from automl_tabular.preprocessing import MISSING, TabularPreprocessor

LISTED_LEVELS = 20  # levels named in a category's description


def row_format(pre: TabularPreprocessor) -> RowFormat:
    """Records (or columns) of every input column; dropped columns are sent but not read."""
    plans = {c.name: c for c in pre.columns}
    fields = []
    for name in pre.input_columns:
        plan = plans.get(name)
        if plan is None:
            fields.append(
                RowField(name, None, "dropped at fit: any value, not read", examples=(None,))
            )
        elif plan.kind == "numeric":
            fields.append(
                RowField(
                    name,
                    "number",
                    "a number; null for missing (read as the training median, "
                    f"{_short(plan.fill)})",
                    nullable=True,
                    examples=(_short(plan.fill),),
                )
            )
        elif plan.kind == "date":
            median = pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(plan.scale[0][4]))
            fields.append(
                RowField(
                    name,
                    "string",
                    "a date; null for missing",
                    nullable=True,
                    format="date",
                    examples=(median.date().isoformat(),),
                )
            )
        else:
            levels = [lvl for lvl in plan.levels if lvl != MISSING]
            shown = ", ".join(levels[:LISTED_LEVELS])
            more = (
                f" and {len(levels) - LISTED_LEVELS} more" if len(levels) > LISTED_LEVELS else ""
            )
            fields.append(
                RowField(
                    name,
                    "string",
                    f"a category, seen at fit: {shown}{more}; another value reads as unseen, "
                    "null as missing",
                    nullable=True,
                    examples=tuple(levels[:5]),
                )
            )
    return RowFormat(tuple(fields), record=True, by_columns=True)


def _short(value: float) -> float | int:
    """A whole number as an int (39, not 39.0), else rounded to 4 significant digits."""
    return int(value) if float(value).is_integer() else float(f"{value:.4g}")
