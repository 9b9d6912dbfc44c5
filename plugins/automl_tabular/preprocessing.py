"""Table preprocessing, fitted on the training split only.

Numeric columns: median imputation (plus a missing-indicator column when the training split had
gaps), then a normal-quantile transform (more than 10 distinct values) or standardisation.
Categorical columns: one-hot up to ``MAX_ONEHOT`` levels, ordinal codes above (unseen levels map
to their own code); missing values are a level of their own. On a training split of at least
``TARGET_ORDER_ROWS`` rows the codes follow the levels' smoothed target means
(``levels.target_order``), so that one threshold of a tree separates the levels that raise the
target from those that lower it, as LightGBM's and CatBoost's own category splits do; on fewer
rows they follow the levels' frequencies (a smaller split's target order would leak into the
cross-validation of the search). On ``ORDERED_ROWS`` rows, categories of more than
``MAX_ONEHOT_ORDERED`` levels get such codes too, not one-hot columns. Date columns are expanded
into year, month, day, weekday and days-since-epoch. ID-like, constant and free-text columns are
dropped, each with a note in ``notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, FeatureEncoder
from automl_tabular.inputs import as_frame, refuse_container_cells
from automl_tabular.levels import MISSING, level_codes, level_counts, target_order

MAX_ONEHOT = 16
# on a training split of ORDERED_ROWS rows, categories of more than MAX_ONEHOT_ORDERED levels get
# target-ordered codes, not one-hot columns: on 800,000 rows of the scale benchmark's table, 600
# iterations of histogram boosting took 32 s on 13 columns and 80 s on 27 (test accuracy 0.9366
# and 0.9358); on adult's 26,000 (where one-hot columns cost little time) the search's test
# accuracy was 0.8727 twice with ordered codes, 0.8749 and 0.8753 with one-hot columns
ORDERED_ROWS = 200_000
MAX_ONEHOT_ORDERED = 2
FREE_TEXT_MIN_WORDS = 6
ID_NAME = re.compile(r"(^|[_\W])id$|^id([_\W]|$)", re.IGNORECASE)
QUANTILE_ROWS = 200_000  # a numeric column's quantile knots come from a sample of this many
DISTINCT_ROWS = 200_000  # and its distinct values are counted on one (``_distinct``)
TARGET_ORDER_ROWS = 20_000  # training rows from which ordinal codes follow the target


@dataclass
class Column:
    name: str
    kind: str  # numeric, onehot, ordinal, date
    fill: float = 0.0
    indicator: bool = False
    scale: tuple[float, float] = (0.0, 1.0)
    quantiles: np.ndarray | None = None
    levels: list[str] = field(default_factory=list)

    def outputs(self) -> list[str]:
        if self.kind == "onehot":
            return [f"{self.name}={lvl}" for lvl in self.levels]
        base = (
            [f"{self.name}.{p}" for p in ("year", "month", "day", "weekday", "days")]
            if self.kind == "date"
            else [self.name]
        )
        return base + ([f"{self.name}.missing"] if self.indicator else [])


def column_names(frame: pd.DataFrame) -> list[str]:
    """The columns as strings (how the model knows them); names that repeat, or that only
    differ in type (1 and "1"), are refused: a column would be read twice or swapped."""
    names = [str(c) for c in frame.columns]
    seen: dict[str, list[Any]] = {}
    for raw, name in zip(frame.columns, names):
        seen.setdefault(name, []).append(raw)
    twice = {name: raws for name, raws in seen.items() if len(raws) > 1}
    if twice:
        shown = "; ".join(f"{name!r} from {raws!r}" for name, raws in list(twice.items())[:3])
        raise DataError(
            f"the table has {len(twice)} duplicate column name(s) ({shown}): give every "
            "column a distinct name (df.columns = [...]) before fit or predict"
        )
    return names


def _distinct(values: pd.Series, exact: bool) -> int:
    """Distinct values of ``values`` (no missing ones). Unless ``exact``, a numeric column of
    more than ``DISTINCT_ROWS`` values counts those of a seeded sample when the sample already
    holds more than 10: all a plan asks of such a column is "constant?" and "more than 10?"
    (hashing 4M distinct floats, ten columns, took 34 s of a 5M-row table's preparation)."""
    if exact or len(values) <= DISTINCT_ROWS:
        return int(values.nunique())
    rng = np.random.default_rng(0)
    sampled = int(values.iloc[rng.choice(len(values), DISTINCT_ROWS, replace=False)].nunique())
    return sampled if sampled > 10 else int(values.nunique())


def _looks_like_date(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return False
    sample = series.dropna().astype(str).head(200)
    if sample.empty or not sample.str.contains(r"\d{1,4}[-/]\d{1,2}[-/]\d{1,4}").all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.95


def _date_parts(series: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(series, errors="coerce", format="mixed")
    days = (ts - pd.Timestamp("1970-01-01")).dt.days
    parts = [ts.dt.year, ts.dt.month, ts.dt.day, ts.dt.weekday, days]
    return np.column_stack([p.to_numpy(dtype=np.float64, na_value=np.nan) for p in parts])


def _normal_quantile_ref(n: int) -> np.ndarray:
    from scipy.stats import norm

    return norm.ppf(np.clip(np.linspace(0, 1, n), 1e-4, 1 - 1e-4))


class TabularPreprocessor(FeatureEncoder):
    """Fitted column plan for one table; ``transform`` validates columns and dtypes."""

    def __init__(self) -> None:
        self.columns: list[Column] = []
        self.input_columns: list[str] = []
        self.notes: list[str] = []
        self.feature_names: list[str] = []
        self.missing_counts: dict[str, int] = {}
        self._target: tuple[np.ndarray, str] | None = None  # while fitting (``fit``)

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self, frame: pd.DataFrame, target: np.ndarray | None = None, problem_type: str = ""
    ) -> TabularPreprocessor:
        """The column plans of ``frame``'s columns. ``target`` (the encoded training target,
        one per row: class codes, or numbers for ``problem_type="regression"``) orders the
        ordinal codes when there are ``TARGET_ORDER_ROWS`` rows (see the module's docstring)."""
        if target is not None and len(target) != len(frame):
            raise DataError(
                f"the target has {len(target)} values for {len(frame)} rows: pass one a row"
            )
        use = target is not None and len(frame) >= TARGET_ORDER_ROWS
        self._target = (np.asarray(target), problem_type) if use else None
        if frame.shape[1] == 0:
            raise DataError("the table has no feature columns besides the target")
        self.input_columns = column_names(frame)
        frame = frame.set_axis(self.input_columns, axis=1)
        refuse_container_cells(frame, self.input_columns)
        n = len(frame)
        for name in self.input_columns:
            col = frame[name]
            if pd.api.types.is_float_dtype(col):
                col = col.replace([np.inf, -np.inf], np.nan)
            n_missing = int(col.isna().sum())
            if n_missing:
                self.missing_counts[name] = n_missing
            plan = self._plan(name, col, n)
            if plan is not None:
                self.columns.append(plan)
        self._target = None
        if not self.columns:
            raise DataError(
                "no usable feature column is left: "
                + "; ".join(self.notes)
                + ". Pass columns that carry information about the target"
            )
        self.feature_names = [out for c in self.columns for out in c.outputs()]
        return self

    def _plan(self, name: str, col: pd.Series, n: int) -> Column | None:
        non_null = col.dropna()
        exact = not pd.api.types.is_numeric_dtype(col) or ID_NAME.search(name) is not None
        n_unique = _distinct(non_null, exact)
        if n_unique <= 1:
            self.notes.append(f"dropped {name!r}: constant")
            return None
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(float)
        if pd.api.types.is_numeric_dtype(col):
            integral = pd.api.types.is_integer_dtype(col) or bool(np.all(non_null % 1 == 0))
            if ID_NAME.search(name) and integral and n_unique > 0.95 * len(non_null):
                self.notes.append(f"dropped {name!r}: an ID-like column (unique per row)")
                return None
            return self._numeric(name, col.astype(np.float64), n_unique)
        if _looks_like_date(col):
            plan = Column(name, "date")
            parts = _date_parts(col)
            plan.fill = 0.0
            plan.indicator = bool(np.isnan(parts[:, 0]).any())
            med = np.nanmedian(parts, axis=0)
            std = np.nanstd(parts, axis=0)
            plan.scale = (med.tolist(), np.where(std > 0, std, 1.0).tolist())
            self.notes.append(f"{name!r} read as dates: expanded to year/month/day/weekday/days")
            return plan
        if n_unique > 0.5 * len(non_null) and n_unique > MAX_ONEHOT:
            words = non_null.astype(str).str.split().str.len().mean()
            why = "free text (use the text task)" if words >= FREE_TEXT_MIN_WORDS else "ID-like"
            self.notes.append(f"dropped {name!r}: {why}, {n_unique} distinct values")
            return None
        counts = level_counts(col)
        levels = [str(v) for v in counts.index]
        if len(levels) <= (
            MAX_ONEHOT if n < ORDERED_ROWS or self._target is None else MAX_ONEHOT_ORDERED
        ):
            return Column(name, "onehot", levels=sorted(levels))
        if self._target is not None:
            levels = target_order(col, levels, *self._target)
        codes = np.arange(len(levels), dtype=np.float64)
        return Column(name, "ordinal", levels=levels, scale=(codes.mean(), codes.std() or 1.0))

    def _numeric(self, name: str, col: pd.Series, n_unique: int) -> Column:
        """``n_unique``: the column's distinct values (counted by ``_plan``). A column of more
        than ``QUANTILE_ROWS`` finite values takes its quantile knots from a seeded sample of
        that many (1,000 knots; 5M rows sorted ten times cost seconds of the budget)."""
        values = col.to_numpy()
        finite = values[np.isfinite(values)]
        plan = Column(name, "numeric", fill=float(np.median(finite)))
        plan.indicator = len(finite) < len(values)
        if n_unique > 10:
            sample = finite
            if len(finite) > QUANTILE_ROWS:
                rng = np.random.default_rng(0)
                sample = finite[rng.choice(len(finite), QUANTILE_ROWS, replace=False)]
                sample = np.concatenate([sample, [finite.min(), finite.max()]])
            plan.quantiles = np.quantile(sample, np.linspace(0, 1, min(1000, len(sample))))
        else:
            plan.scale = (float(finite.mean()), float(finite.std()) or 1.0)
        return plan

    def describe_missing(self) -> dict[str, str]:
        return describe_missing(self)

    # -- saving (JSON values and arrays: a model folder holds no pickle) ----------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "fill": c.fill,
                    "indicator": c.indicator,
                    "scale": list(c.scale),
                    "quantiles": c.quantiles,
                    "levels": c.levels,
                }
                for c in self.columns
            ],
            "input_columns": self.input_columns,
            "notes": self.notes,
            "feature_names": self.feature_names,
            "missing_counts": self.missing_counts,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TabularPreprocessor:
        self = cls()
        for c in state["columns"]:
            quantiles = None if c["quantiles"] is None else np.asarray(c["quantiles"])
            self.columns.append(
                Column(
                    name=c["name"],
                    kind=c["kind"],
                    fill=c["fill"],
                    indicator=c["indicator"],
                    scale=tuple(c["scale"]),
                    quantiles=quantiles,
                    levels=list(c["levels"]),
                )
            )
        self.input_columns = list(state["input_columns"])
        self.notes = list(state["notes"])
        self.feature_names = list(state["feature_names"])
        self.missing_counts = dict(state["missing_counts"])
        return self

    def readable(self, raw: Any) -> pd.DataFrame:
        """The kept input columns of raw rows as given: numbers in short form, categories and
        dates as written, "missing" for missing values."""
        frame = self._frame(raw)
        shown = {c.name: [_raw_text(v) for v in frame[c.name].tolist()] for c in self.columns}
        return pd.DataFrame(shown, columns=[c.name for c in self.columns])

    # -- transforming ------------------------------------------------------------------------
    def _frame(self, raw: Any) -> pd.DataFrame:
        if isinstance(raw, pd.DataFrame):
            frame = raw.set_axis(column_names(raw), axis=1)
            missing = [c for c in self.input_columns if c not in frame.columns]
            if missing:
                raise DataError(
                    f"the data lacks column(s) the model was trained on: {missing}; "
                    f"expected columns: {self.input_columns}"
                )
        else:
            frame = as_frame(raw)
            if frame.shape[1] != len(self.input_columns):
                raise DataError(
                    f"X has {frame.shape[1]} features, but the model was trained on "
                    f"{len(self.input_columns)} ({self.input_columns[:10]}); pass the same "
                    "columns"
                )
            frame = frame.set_axis(self.input_columns, axis=1)
        refuse_container_cells(frame, [c.name for c in self.columns])
        return frame

    def transform(self, raw: Any) -> np.ndarray:
        """Model-ready float32 rows: each column's block written into one matrix (no float64
        copy of the whole table: 800,000 rows of 27 columns are 86 MB, not 86 + 173)."""
        frame = self._frame(raw)
        if not self.columns:
            return np.zeros((len(frame), 0))
        widths = [len(c.outputs()) for c in self.columns]
        out = np.empty((len(frame), sum(widths)), dtype=np.float32)
        start = 0
        for plan, width in zip(self.columns, widths):
            block = self._transform_column(plan, frame[plan.name])
            out[:, start : start + width] = block.reshape(len(frame), width)
            start += width
        return out

    def _transform_column(self, plan: Column, col: pd.Series) -> np.ndarray:
        if plan.kind == "numeric":
            values = self._numeric_values(plan.name, col)
            missing = ~np.isfinite(values)
            values = np.where(missing, plan.fill, values)
            if plan.quantiles is not None:
                ref = _normal_quantile_ref(len(plan.quantiles))
                out = np.interp(values, plan.quantiles, ref)
            else:
                out = (values - plan.scale[0]) / plan.scale[1]
            if not plan.indicator:
                return out.reshape(-1, 1)  # a view: no column_stack copy
            return np.column_stack([out, missing])
        if plan.kind == "date":
            parts = _date_parts(col)
            missing = np.isnan(parts[:, 0])
            med, std = np.asarray(plan.scale[0]), np.asarray(plan.scale[1])
            parts = np.where(np.isnan(parts), med, parts)
            out = (parts - med) / std
            return np.column_stack([out] + ([missing.astype(float)] if plan.indicator else []))
        codes = level_codes(col, plan.levels)
        if plan.kind == "onehot":
            onehot = np.zeros((len(col), len(plan.levels)), dtype=np.float32)
            known = codes >= 0
            onehot[np.flatnonzero(known), codes[known]] = 1.0
            return onehot
        codes = codes.astype(np.float64)
        codes[codes < 0] = len(plan.levels)  # unseen level: a code of its own
        return ((codes - plan.scale[0]) / plan.scale[1]).reshape(-1, 1)

    @staticmethod
    def _numeric_values(name: str, col: pd.Series) -> np.ndarray:
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(float)
        if not pd.api.types.is_numeric_dtype(col):
            converted = pd.to_numeric(col, errors="coerce")
            bad = converted.isna() & col.notna()
            if bad.any():
                examples = col[bad].astype(str).unique()[:3].tolist()
                raise DataError(
                    f"column {name!r} was numeric in training but holds non-numeric values "
                    f"now (e.g. {examples}); pass numbers or leave them empty"
                )
            col = converted
        return col.to_numpy(dtype=np.float64, na_value=np.nan)


# -- reading model-ready columns back (for explanations and reports) ------------------------------
def source_columns(pre: TabularPreprocessor) -> list[str]:
    """The input column each model-ready column comes from, in ``feature_names`` order."""
    return [c.name for c in pre.columns for _ in c.outputs()]


def describe_missing(pre: TabularPreprocessor) -> dict[str, str]:
    """How the missing values of each column that had some (in training) are handled."""
    plans = {c.name: c for c in pre.columns}
    out = {}
    for name in pre.missing_counts:
        plan = plans.get(name)
        if plan is None:
            out[name] = "column dropped (see notes)"
        elif plan.kind == "numeric":
            out[name] = f"filled with the training median ({_fmt(plan.fill)})" + (
                ", plus a missing-indicator column" if plan.indicator else ""
            )
        elif plan.kind == "date":
            out[name] = "filled with the median date, plus a missing-indicator column"
        else:
            out[name] = f"a level of its own ({MISSING!r})"
    return out


def readable_rows(pre: TabularPreprocessor, x: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Model-ready rows read back as a person reads them, a column per kept input column (numbers
    as approximately the original values, categories as their level, dates as dates), and
    numbers for colouring plots (the numeric value; NaN for categories and missing values)."""
    x = np.asarray(x, dtype=np.float64)
    text, colour, start = {}, np.full((len(x), len(pre.columns)), np.nan), 0
    for j, plan in enumerate(pre.columns):
        width = len(plan.outputs())
        block = x[:, start : start + width]
        start += width
        missing = block[:, -1] > 0.5 if plan.indicator else np.zeros(len(x), dtype=bool)
        if plan.kind == "numeric":
            if plan.quantiles is not None:
                values = _from_quantiles(block[:, 0], plan.quantiles)
            else:
                values = block[:, 0] * plan.scale[1] + plan.scale[0]
            colour[:, j] = np.where(missing, np.nan, values)
            text[plan.name] = ["missing" if m else _fmt(v) for v, m in zip(values, missing)]
        elif plan.kind == "date":
            med, std = np.asarray(plan.scale[0]), np.asarray(plan.scale[1])
            parts = block[:, :5] * std + med
            colour[:, j] = np.where(missing, np.nan, parts[:, 4])
            text[plan.name] = [
                "missing" if m else f"{p[0]:04.0f}-{p[1]:02.0f}-{p[2]:02.0f}"
                for p, m in zip(parts, missing)
            ]
        elif plan.kind == "onehot":
            hot = block.argmax(axis=1)
            known = block.max(axis=1) > 0.5
            text[plan.name] = [
                _level(plan.levels[h]) if k else "unseen level" for h, k in zip(hot, known)
            ]
        else:  # ordinal codes, unseen levels one past the last
            codes = np.rint(block[:, 0] * plan.scale[1] + plan.scale[0]).astype(int)
            text[plan.name] = [
                _level(plan.levels[c]) if 0 <= c < len(plan.levels) else "unseen level"
                for c in codes
            ]
    return pd.DataFrame(text, columns=[c.name for c in pre.columns]), colour


def _from_quantiles(t: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """The inverse of the normal-quantile transform. A value the transform put on a knot (a
    value tied in training, like the many zeros of a sparse column) returns to that knot's value
    exactly, though float32 moved it a hair off the knot."""
    ref = _normal_quantile_ref(len(quantiles))
    values = np.interp(t, ref, quantiles)
    right = np.clip(np.searchsorted(ref, t), 1, len(ref) - 1)
    nearest = np.where(np.abs(ref[right] - t) < np.abs(t - ref[right - 1]), right, right - 1)
    on_knot = np.abs(ref[nearest] - t) <= 1e-6 * np.maximum(1.0, np.abs(t))
    return np.where(on_knot, quantiles[nearest], values)


def _level(level: str) -> str:
    return "missing" if level == MISSING else level


def _raw_text(value: Any) -> str:
    """A raw cell as a person reads it."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value) + 0.0:.6g}"  # + 0.0: no "-0"
    return str(value)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return str(value)
    if abs(value) >= 100 or abs(value - round(value)) < 1e-4:
        return f"{round(value) + 0:,.0f}"  # + 0: a value rounding to zero is "0", not "-0"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"
