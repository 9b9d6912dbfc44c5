"""Pairwise differences (and sums) of numeric columns, a searched option of the tree families.

A tree splits on one column at a time, so a boundary along ``a - b`` (elevation above the nearest
water: elevation minus its vertical distance) costs it a staircase of splits. Handing it
``a - b`` (and, as a second choice, ``a + b`` too) for every pair of continuous columns, in their
original units, lets one split do it. Differences alone are the default: on forest cover the
sums add 45 columns that mostly dilute a forest's random column draws (5-fold CV of a 300-tree
extra-trees model on the 75% split: 0.8814 with differences, 0.8762 with both, 0.8524 with
neither). The columns are read back from the preprocessed matrix (the normal-quantile
transform is inverted), so the featurizer needs only the fitted preprocessor's column plans.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.task import DataSpec, Featurizer
from automl_tabular.preprocessing import TabularPreprocessor, _from_quantiles

MAX_COLUMNS = 16  # at most 120 pairs, 240 new columns
CHOICES = ("none", "differences", "both")  # ``<family>.pair_columns``; both: sums and differences


def continuous_columns(pre: TabularPreprocessor) -> list[tuple[int, np.ndarray]]:
    """(position in the model-ready matrix, training quantiles) of each continuous column."""
    found, start = [], 0
    for plan in pre.columns:
        if plan.kind == "numeric" and plan.quantiles is not None:
            found.append((start, plan.quantiles))
        start += len(plan.outputs())
    return found


def applicable(pre: Any) -> bool:
    """Whether the data has the 2 to MAX_COLUMNS continuous columns the option needs."""
    return (
        isinstance(pre, TabularPreprocessor) and 2 <= len(continuous_columns(pre)) <= MAX_COLUMNS
    )


class PairwiseFeatures(Featurizer):
    """Appends ``a - b`` (after ``a + b`` when ``sums``) for every pair of continuous columns,
    in their original units."""

    sums = True  # what a featurizer pickled before the option existed did

    def __init__(self, pre: TabularPreprocessor, *, sums: bool = True) -> None:
        found = continuous_columns(pre)
        self.positions = [p for p, _ in found]
        self.quantiles = [q for _, q in found]
        self.sums = sums

    def fit(self, x: Any, y: np.ndarray) -> PairwiseFeatures:
        return self

    def get_state(self) -> dict[str, Any]:
        return {"positions": self.positions, "quantiles": self.quantiles, "sums": self.sums}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PairwiseFeatures:
        self = cls.__new__(cls)
        self.positions = [int(p) for p in state["positions"]]
        self.quantiles = [np.asarray(q) for q in state["quantiles"]]
        self.sums = bool(state["sums"])
        return self

    def transform(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        raw = np.column_stack(
            [
                _from_quantiles(x[:, p].astype(np.float64), q)
                for p, q in zip(self.positions, self.quantiles)
            ]
        )
        i, j = np.triu_indices(raw.shape[1], k=1)
        parts = [raw[:, i] + raw[:, j]] if self.sums else []
        new = np.concatenate([*parts, raw[:, i] - raw[:, j]], axis=1)
        return np.concatenate([x, new.astype(np.float32)], axis=1)

    def fold(self, values: np.ndarray) -> np.ndarray:
        """Per-column values over ``transform``'s output (e.g. SHAP attributions) back onto
        the input columns: each pair column's value split evenly between its two columns."""
        values = np.asarray(values, dtype=np.float64)
        width = values.shape[1] - self._n_new()
        out = values[:, :width].copy()
        i, j = np.triu_indices(len(self.positions), k=1)
        pos = np.asarray(self.positions)
        extra = values[:, width:]
        per_pair = extra[:, : len(i)] + extra[:, len(i) :] if self.sums else extra
        half = 0.5 * per_pair
        np.add.at(out.T, pos[i], half.T)
        np.add.at(out.T, pos[j], half.T)
        return out

    def _n_new(self) -> int:
        k = len(self.positions)
        return k * (k - 1) // 2 * (2 if self.sums else 1)

    def spec(self, spec: DataSpec) -> DataSpec:
        width = spec.input_shape[0] + self._n_new()
        return DataSpec((width,), spec.n_outputs, spec.problem_type, dict(spec.extra))
