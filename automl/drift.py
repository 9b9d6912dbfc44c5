"""Drift against the training data: what a task monitors of its input, the reference statistics
kept in the model folder, and the population stability index (PSI) that compares the two.

A task's ``InputProfile`` turns raw input rows into a small table of per-row statistics: a
table's own columns, an image's brightness, contrast and size, a text's length and
out-of-vocabulary rate. At fit time the core bins the training rows' statistics (numeric: the
training deciles; categorical: the levels holding at least 1% of the rows, the rest "other";
missing values a bin of their own) and the model's predictions on the held-out rows, and saves
these counts as the ``DriftReference``. A batch of new rows is binned the same way and compared
bin by bin with PSI = sum((q - p) ln(q / p)) (counts smoothed by 0.5).

A feature drifts when its PSI exceeds 0.2 (the usual "significant shift" line) and what sampling
noise alone reaches with probability 0.001: for counts from one distribution,
PSI x n m / (n + m) is close to chi-square with (bins - 1) degrees of freedom, so small windows
need a larger PSI before they are flagged. Nothing here knows images, text or tables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError

PSI_THRESHOLD = 0.2
NOISE_LEVEL = 0.999  # chi-square quantile that sampling noise alone stays under
N_BINS = 10
MIN_LEVEL_SHARE = 0.01
MAX_LEVELS = 20
OTHER, MISSING = "other", "missing"
PREDICTION = "prediction"
REFERENCE_ROWS = 5000  # held-out rows the prediction reference is computed on, at most


class InputProfile(ABC):
    """What a task monitors of its raw input, fitted on the training rows (``Task.adapt``
    sets ``TaskData.profile`` and ``TaskData.profile_rows``) and saved with the model."""

    @abstractmethod
    def fit(self, raw: Any) -> InputProfile:
        """Learn what measuring needs (column kinds, a vocabulary) from the training rows."""

    @abstractmethod
    def measure(self, raw: Any) -> pd.DataFrame:
        """One row of statistics per input row: numeric columns (float) or categorical ones
        (strings); raise DataError naming what is wrong with the input."""

    def get_state(self) -> dict[str, Any] | None:
        """See ``FeatureEncoder.get_state``."""
        return None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> InputProfile:
        """Rebuild the profile from what ``get_state`` returned."""
        raise NotImplementedError(f"{cls.__name__} defines get_state but not from_state")


@dataclass
class FeatureBins:
    """The reference bins of one monitored statistic (or of the predictions)."""

    name: str
    kind: str  # "numeric" or "categorical"
    edges: np.ndarray  # numeric: inner bin edges, bins (-inf, e0], (e0, e1], ..., (e_k, inf)
    levels: list[str]  # categorical: the kept levels, then "other"
    counts: np.ndarray  # reference rows per bin; the last bin holds missing values

    @classmethod
    def fit(cls, name: str, values: Any, kind: str | None = None) -> FeatureBins:
        """Bins from reference values: deciles (numeric) or frequent levels (categorical)."""
        series = pd.Series(values)
        kind = kind or ("numeric" if is_numeric(series) else "categorical")
        if kind == "numeric":
            numbers = _numbers(series)
            finite = numbers[np.isfinite(numbers)]
            inner = np.linspace(0, 1, N_BINS + 1)[1:-1]
            edges = np.unique(np.quantile(finite, inner)) if len(finite) else np.zeros(1)
            bins = cls(name, kind, edges, [], np.zeros(0))
        else:
            text = _texts(series)
            shares = text[text.notna()].value_counts(normalize=True)
            kept = [str(v) for v, s in shares.items() if s >= MIN_LEVEL_SHARE][:MAX_LEVELS]
            bins = cls(name, kind, np.zeros(0), [*kept, OTHER], np.zeros(0))
        bins.counts = bins.count(series)
        return bins

    @property
    def n_bins(self) -> int:
        return (len(self.edges) + 1 if self.kind == "numeric" else len(self.levels)) + 1

    def index(self, values: Any) -> np.ndarray:
        """The bin of each value (the last bin: missing)."""
        if self.kind == "numeric":
            arr = np.asarray(values)
            numbers = arr if arr.dtype == np.float64 else _numbers(pd.Series(values))
            idx = np.searchsorted(self.edges, numbers, side="left")
            return np.where(np.isnan(numbers), self.n_bins - 1, idx).astype(np.int64)
        lookup = {level: i for i, level in enumerate(self.levels[:-1])}
        other, missing = len(self.levels) - 1, self.n_bins - 1
        text = _texts(pd.Series(values)).to_list()
        return np.array(
            [missing if v is None else lookup.get(v, other) for v in text], dtype=np.int64
        )

    def count(self, values: Any) -> np.ndarray:
        return np.bincount(self.index(values), minlength=self.n_bins).astype(np.float64)

    def labels(self) -> list[str]:
        """A readable name per bin, for reports."""
        if self.kind == "categorical":
            return [*self.levels, MISSING]
        e = [f"{v:.4g}" for v in self.edges]
        inner = [f"({a}, {b}]" for a, b in zip(e, e[1:])]
        return [f"<= {e[0]}", *inner, f"> {e[-1]}", MISSING]

    def get_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": self.edges.astype(np.float64),
            "levels": self.levels,
            "counts": self.counts.astype(np.float64),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureBins:
        return cls(
            state["name"],
            state["kind"],
            np.asarray(state["edges"], dtype=np.float64),
            list(state["levels"]),
            np.asarray(state["counts"], dtype=np.float64),
        )


@dataclass
class Comparison:
    """One statistic of a batch against its reference."""

    name: str
    kind: str
    psi: float
    threshold: float  # max(PSI_THRESHOLD, the noise bound for these row counts)
    drifted: bool
    rows: int
    bins: list[str]
    reference: list[float]  # share of reference rows per bin
    current: list[float]  # share of the batch's rows per bin

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "psi": round(self.psi, 6),
            "threshold": round(self.threshold, 6),
            "drift": self.drifted,
            "rows": self.rows,
            "bins": self.bins,
            "reference": [round(v, 6) for v in self.reference],
            "current": [round(v, 6) for v in self.current],
        }


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two count vectors (each smoothed by 0.5 a bin)."""
    used = (reference > 0) | (current > 0)
    p = (reference[used] + 0.5) / (reference[used].sum() + 0.5 * used.sum())
    q = (current[used] + 0.5) / (current[used].sum() + 0.5 * used.sum())
    return float(np.sum((q - p) * np.log(q / p)))


def threshold(reference: np.ndarray, current: np.ndarray) -> float:
    """The PSI a batch must exceed to be called drift: 0.2, or the sampling-noise bound."""
    from scipy.stats import chi2

    used = int(((reference > 0) | (current > 0)).sum())
    n, m = float(current.sum()), float(reference.sum())
    if used < 2 or n == 0 or m == 0:
        return PSI_THRESHOLD
    noise = chi2.ppf(NOISE_LEVEL, used - 1) * (1.0 / n + 1.0 / m)
    return float(max(PSI_THRESHOLD, noise))


def compare(bins: FeatureBins, current: np.ndarray) -> Comparison:
    """A batch's bin counts against the reference bins."""
    current = np.asarray(current, dtype=np.float64)
    value = psi(bins.counts, current)
    limit = threshold(bins.counts, current)
    total = current.sum()
    return Comparison(
        name=bins.name,
        kind=bins.kind,
        psi=value,
        threshold=limit,
        drifted=bool(total > 0 and value > limit),
        rows=int(total),
        bins=bins.labels(),
        reference=(bins.counts / max(bins.counts.sum(), 1.0)).tolist(),
        current=(current / max(total, 1.0)).tolist(),
    )


class DriftReference:
    """Reference bins of every monitored statistic and of the predictions, from fit time."""

    def __init__(
        self,
        features: list[FeatureBins],
        prediction: FeatureBins,
        class_priors: dict[str, float] | None,
        rows: int,
    ) -> None:
        self.features, self.prediction = features, prediction
        self.class_priors, self.rows = class_priors, rows

    @classmethod
    def build(
        cls,
        table: pd.DataFrame,
        predictions: np.ndarray,
        problem_type: str,
        classes: list[Any] | None = None,
        y_train: np.ndarray | None = None,
    ) -> DriftReference:
        """From the training rows' statistics and the model's output on held-out rows
        (class probabilities or values)."""
        features = [FeatureBins.fit(str(c), table[c]) for c in table.columns]
        if problem_type == "regression":
            prediction = FeatureBins.fit(PREDICTION, np.asarray(predictions), "numeric")
            priors = None
        else:
            names = [str(c) for c in classes or []]
            prediction = FeatureBins(PREDICTION, "categorical", np.zeros(0), [*names, OTHER], [])
            prediction.counts = prediction.count(predicted_labels(predictions, names))
            counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=len(names))
            priors = {
                n: round(float(c) / max(float(counts.sum()), 1.0), 6)
                for n, c in zip(names, counts)
            }
        return cls(features, prediction, priors, len(table))

    def feature(self, name: str) -> FeatureBins:
        return next(f for f in self.features if f.name == name)

    def compare_table(self, table: pd.DataFrame) -> list[Comparison]:
        """Every monitored statistic of a batch against its reference."""
        self._measured(table)
        return [compare(f, f.count(table[f.name])) for f in self.features]

    def index_table(self, table: pd.DataFrame) -> np.ndarray:
        """The bin of every statistic of every row: int (rows, features)."""
        self._measured(table)
        if not self.features:
            return np.zeros((len(table), 0), dtype=np.int64)
        return np.column_stack([f.index(table[f.name]) for f in self.features])

    def _measured(self, table: pd.DataFrame) -> None:
        """The input profile measures every statistic this reference has bins for."""
        missing = [f.name for f in self.features if f.name not in table.columns]
        if missing:
            raise DataError(
                f"the model's drift reference has bins for {missing[:5]}, which its input "
                f"profile does not measure ({list(table.columns)[:10]}): the model folder's "
                "drift.json and profile.json disagree (changed after saving?); fit the model "
                "again"
            )

    def get_state(self) -> dict[str, Any]:
        return {
            "features": [f.get_state() for f in self.features],
            "prediction": self.prediction.get_state(),
            "class_priors": self.class_priors,
            "rows": self.rows,
            "psi_threshold": PSI_THRESHOLD,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DriftReference:
        return cls(
            [FeatureBins.from_state(f) for f in state["features"]],
            FeatureBins.from_state(state["prediction"]),
            state["class_priors"],
            int(state["rows"]),
        )


def predicted_labels(output: np.ndarray, classes: list[str]) -> list[str]:
    """Class names (strings) of the most probable class per row."""
    return [classes[i] for i in np.asarray(output).argmax(axis=1)]


def reference_for(
    predictor: Any, target: Any, profile_rows: pd.DataFrame, x_valid: Any, y_train: Any
) -> Any:
    """The drift reference of a fitted model (``predictor``, its ``target`` encoder): its
    training rows' statistics and its own predictions on (at most REFERENCE_ROWS of) the
    held-out rows."""
    output = predictor.output(x_valid[:REFERENCE_ROWS])
    classes = None if target.classes is None else [str(c) for c in target.classes]
    return DriftReference.build(profile_rows, output, target.problem_type, classes, y_train)


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _texts(series: pd.Series) -> pd.Series:
    """Values as strings; missing values as None."""
    missing = series.isna().to_numpy()
    text = series.astype(object).map(str).to_numpy(dtype=object)
    text[missing] = None
    return pd.Series(text, dtype=object)
