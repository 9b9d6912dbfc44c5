"""What drift monitoring watches of a table: each column the model uses, as it came in (numbers
as numbers, categories as their level, dates as days since 1970), and how a JSON request's
rows become a table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, InputProfile
from automl_tabular.inputs import refuse_container_cells
from automl_tabular.preprocessing import TabularPreprocessor, _date_parts, column_names


class TabularProfile(InputProfile):
    """The kept columns of the fitted preprocessing, with their kinds."""

    def __init__(self, pre: TabularPreprocessor | None = None) -> None:
        self.columns: dict[str, str] = {}
        self.inputs: list[str] = []  # every input column, to name the columns of an array
        if pre is not None:
            self.columns = {c.name: _kind(c.kind) for c in pre.columns}
            self.inputs = list(pre.input_columns)

    def fit(self, raw: Any) -> TabularProfile:
        return self

    def measure(self, raw: Any) -> pd.DataFrame:
        if isinstance(raw, pd.DataFrame):
            frame = raw.set_axis(column_names(raw), axis=1)
        else:  # an array: the training columns in order, as predict reads it
            from automl_tabular.inputs import as_frame

            frame = as_frame(raw)
            if frame.shape[1] != len(self.inputs):
                raise DataError(
                    f"X has {frame.shape[1]} features, but the model was trained on "
                    f"{len(self.inputs)}; pass the same columns"
                )
            frame = frame.set_axis(self.inputs, axis=1)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"the data lacks column(s) the model was trained on: {missing}; expected "
                f"columns: {list(self.columns)}"
            )
        refuse_container_cells(frame, self.columns)
        out = {}
        for name, kind in self.columns.items():
            col = frame[name]
            if kind == "numeric":
                if pd.api.types.is_bool_dtype(col):
                    col = col.astype(float)
                values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
                out[name] = np.where(np.isfinite(values), values, np.nan)
            elif kind == "date":
                out[name] = _date_parts(col)[:, 4]
            else:
                values = col.to_numpy(dtype=object)
                out[name] = np.where(col.notna().to_numpy(), values, None)
        return pd.DataFrame(out, index=range(len(frame)))

    def get_state(self) -> dict[str, Any]:
        return {
            "columns": [[name, kind] for name, kind in self.columns.items()],
            "inputs": self.inputs,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TabularProfile:
        self = cls()
        self.columns = {name: kind for name, kind in state["columns"]}
        self.inputs = list(state["inputs"])
        return self


def _kind(plan_kind: str) -> str:
    return {"numeric": "numeric", "date": "date"}.get(plan_kind, "categorical")


def rows_from_json(payload: Any, pre: TabularPreprocessor) -> pd.DataFrame:  # noqa: C901
    """``{"rows": [{column: value}, ...]}`` (records) or ``{"columns": {column: [values]}}``
    as a DataFrame, with numbers checked where the model reads numbers."""
    if not isinstance(payload, dict) or not ({"rows", "columns"} & set(payload)):
        raise DataError(
            'send {"rows": [{"column": value, ...}, ...]} (records) or '
            '{"columns": {"column": [values], ...}}'
        )
    if "rows" in payload:
        rows = payload["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DataError('"rows" must be a list of records (JSON objects of column: value)')
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    else:
        columns = payload["columns"]
        if not isinstance(columns, dict) or not all(isinstance(v, list) for v in columns.values()):
            raise DataError('"columns" must map each column name to a list of values')
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise DataError(f'the "columns" lists differ in length: {sorted(lengths)}')
        frame = pd.DataFrame(columns)
    if len(frame) == 0:
        raise DataError("the request holds no rows: send at least one")
    missing = [c for c in pre.input_columns if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the model reads {pre.input_columns}")
    for plan in pre.columns:
        if plan.kind != "numeric":
            continue
        bad = [
            v
            for v in frame[plan.name].tolist()
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool))
        ]
        if bad:
            raise DataError(
                f"column {plan.name!r} takes numbers (or null for missing); got "
                f"{type(bad[0]).__name__} {bad[0]!r}"
            )
    return frame


def describe_columns(pre: TabularPreprocessor) -> list[dict[str, Any]]:
    """The input columns with how the model reads them."""
    plans = {c.name: c for c in pre.columns}
    out = []
    for name in pre.input_columns:
        plan = plans.get(name)
        if plan is None:
            out.append({"name": name, "type": "ignored", "detail": "dropped at fit (see notes)"})
        elif plan.kind == "numeric":
            out.append({"name": name, "type": "number", "detail": "null for missing"})
        elif plan.kind == "date":
            out.append({"name": name, "type": "date", "detail": "a date string"})
        else:
            shown = [lvl for lvl in plan.levels[:20]]
            out.append({"name": name, "type": "category", "levels": shown})
    return out
