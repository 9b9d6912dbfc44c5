"""Pairwise columns of the continuous columns, a searched option of the tree families.

A tree splits on one column at a time, so a boundary along ``a - b`` (elevation above the nearest
water: elevation minus its vertical distance) costs it a staircase of splits. Handing it
``a - b`` (and, as a second choice, ``a + b`` too) for every pair of continuous columns, in their
original units, lets one split do it. Differences alone are the default of the extra-trees
family: on forest cover the sums add 45 columns that mostly dilute a forest's random column draws
(5-fold CV of a 300-tree extra-trees model on the 75% split: 0.8814 with differences, 0.8762
with both, 0.8524 with neither).

All pairs of all columns dilute too where few pairs mean something: on California housing the
45-degree turn of the coordinates (longitude + latitude, longitude - latitude) and ratios such as
rooms per person help, the other 50 sums and differences do not (a hist_gb model, 3-fold CV on
the 75% split: 0.8275 without pair columns, 0.8265 with all differences, 0.8369 screened). The
``screened`` choice (``ScreenedPairs``) makes every sum, difference and, of two columns
positive in training, ratio, then keeps as many of them as there are continuous columns: those
an extra-trees model on a sample of the training rows (at most ``SCREEN_ROWS``) found most
important, beside the columns themselves (OpenFE and AutoFeat screen generated columns the
same way, with a cheap model's gain).

The columns are read back from the preprocessed matrix (the normal-quantile transform is
inverted, which also keeps each value within its training range: a ratio's denominator is never
below its column's smallest training value), so the featurizer needs only the fitted
preprocessor's column plans.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.plugin import DataSpec, Featurizer
from automl_tabular.preprocessing import TabularPreprocessor, _from_quantiles

MAX_COLUMNS = 16  # at most 120 pairs, 240 new columns (360 candidates when screened)
# ``<family>.pair_columns``: both: sums and differences; screened: see ScreenedPairs
CHOICES = ("none", "differences", "both", "screened")
SUM, DIFFERENCE, RATIO = 0, 1, 2  # the operation of a pair column (``ops``' first field)
SCREEN_ROWS = 4000  # training rows the screening model sees (a sample of them)
SCREEN_TREES = 60
BLOCK_ROWS = 65_536  # rows transformed at a time, at most
BLOCK_VALUES = 1 << 20  # pair values a block of rows holds at most (8 MB in float64)
# the pair columns of all rows (a refit's: train + valid) may take this many bytes, counted at 12
# a value (the float32 matrix and histogram boosting's float64 copy of it): on 1,000,000 rows a
# trial's 90 sums and differences of 10 columns took a fit from 725 to 1,035 MiB (a trace of its
# resident memory); choices that need more are not searched (``affordable``)
PAIR_BYTES = 256 * 2**20
BYTES_A_VALUE = 12


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


def added_columns(choice: str, k: int) -> int:
    """Pair columns a choice adds to ``k`` continuous columns."""
    pairs = k * (k - 1) // 2
    return {"none": 0, "differences": pairs, "both": 2 * pairs, "screened": k}[choice]


def affordable(data: Any) -> tuple[str, ...]:
    """The ``CHOICES`` whose pair columns of the training and validation rows (what a refit
    transforms) fit ``PAIR_BYTES``; none where the option is not ``applicable``."""
    if not applicable(data.features):
        return ()
    k = len(continuous_columns(data.features))
    rows = data.n_train + data.n_valid
    return tuple(c for c in CHOICES if added_columns(c, k) * rows * BYTES_A_VALUE <= PAIR_BYTES)


def all_pairs(k: int, operations: tuple[int, ...]) -> np.ndarray:
    """(operation, i, j) rows for every pair i < j of ``k`` columns and every operation, grouped
    by operation in the order given (sums, then differences, as the saved models had them)."""
    i, j = np.triu_indices(k, k=1)
    rows = [np.column_stack([np.full(len(i), op), i, j]) for op in operations]
    return np.concatenate(rows).astype(np.int64).reshape(-1, 3)


class PairwiseFeatures(Featurizer):
    """Appends pair columns of the continuous columns, in their original units: ``ops`` rows
    (operation, i, j) give ``a + b``, ``a - b`` or ``a / b`` of continuous columns i and j. By
    default every pair's difference, after its sum when ``sums``."""

    def __init__(self, pre: TabularPreprocessor, *, sums: bool = True) -> None:
        found = continuous_columns(pre)
        self.positions = [p for p, _ in found]
        self.quantiles = [q for _, q in found]
        self.ops = all_pairs(len(found), (SUM, DIFFERENCE) if sums else (DIFFERENCE,))

    @property
    def sums(self) -> bool:
        return bool(np.any(self.ops[:, 0] == SUM))

    def fit(self, x: Any, y: np.ndarray) -> PairwiseFeatures:
        return self

    def get_state(self) -> dict[str, Any]:
        return {"positions": self.positions, "quantiles": self.quantiles, "ops": self.ops}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PairwiseFeatures:
        self = cls.__new__(cls)
        self.positions = [int(p) for p in state["positions"]]
        self.quantiles = [np.asarray(q) for q in state["quantiles"]]
        if "ops" in state:
            self.ops = np.asarray(state["ops"], dtype=np.int64).reshape(-1, 3)
        else:  # saved before the operations were listed: every pair, sums when "sums"
            ops = (SUM, DIFFERENCE) if state["sums"] else (DIFFERENCE,)
            self.ops = all_pairs(len(self.positions), ops)
        return self

    def raw(self, x: Any) -> np.ndarray:
        """The continuous columns in their original units (each within its training range)."""
        x = np.asarray(x, dtype=np.float32)
        return np.column_stack(
            [
                _from_quantiles(x[:, p].astype(np.float64), q)
                for p, q in zip(self.positions, self.quantiles)
            ]
        )

    def transform(self, x: Any) -> np.ndarray:
        """``x`` and its pair columns, one float32 matrix written ``BLOCK_ROWS`` rows at a
        time: the float64 pair values of 800,000 rows (45 differences: 288 MB) never exist at
        once, only the output (800,000 x 72 float32: 230 MB)."""
        x = np.asarray(x)
        width = x.shape[1]
        out = np.empty((len(x), width + len(self.ops)), dtype=np.float32)
        # three float64 temporaries of a block's pair values (``pair_values``): 65,536 rows of
        # 90 pairs were 141 MB, now at most BLOCK_VALUES values each
        step = max(256, min(BLOCK_ROWS, BLOCK_VALUES // max(1, len(self.ops))))
        for start in range(0, len(x), step):
            block = np.asarray(x[start : start + step], dtype=np.float32)
            out[start : start + len(block), :width] = block
            out[start : start + len(block), width:] = pair_values(self.raw(block), self.ops)
        return out

    def fold(self, values: np.ndarray) -> np.ndarray:
        """Per-column values over ``transform``'s output (e.g. SHAP attributions) back onto
        the input columns: each pair column's value split evenly between its two columns."""
        values = np.asarray(values, dtype=np.float64)
        width = values.shape[1] - len(self.ops)
        out = values[:, :width].copy()
        pos = np.asarray(self.positions)
        half = 0.5 * values[:, width:]
        np.add.at(out.T, pos[self.ops[:, 1]], half.T)
        np.add.at(out.T, pos[self.ops[:, 2]], half.T)
        return out

    def spec(self, spec: DataSpec) -> DataSpec:
        width = spec.input_shape[0] + len(self.ops)
        return DataSpec((width,), spec.n_outputs, spec.problem_type, dict(spec.extra))


def pair_values(raw: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """The pair columns ``ops`` of the continuous columns ``raw`` (original units)."""
    a, b = raw[:, ops[:, 1]], raw[:, ops[:, 2]]
    op = ops[:, 0]
    out = a - b  # then the sum and ratio columns overwritten from their own columns only
    for kind, combine in ((SUM, np.add), (RATIO, np.divide)):
        # a ratio's denominators are at least their column's smallest training value, > 0
        chosen = op == kind
        if chosen.any():
            out[:, chosen] = combine(a[:, chosen], b[:, chosen])
    return out


class ScreenedPairs(PairwiseFeatures):
    """The pair columns an extra-trees model finds most important: of every sum, difference
    and ratio (of two columns whose training values are all positive), as many as there are
    continuous columns, chosen on a sample of the training rows when fitted."""

    def __init__(self, pre: TabularPreprocessor, *, regression: bool) -> None:
        super().__init__(pre)
        k = len(self.positions)
        positive = np.array([float(q[0]) > 0 for q in self.quantiles])
        ratios = all_pairs(k, (RATIO,))
        ratios = ratios[positive[ratios[:, 1]] & positive[ratios[:, 2]]]
        self.ops = np.concatenate([all_pairs(k, (SUM, DIFFERENCE)), ratios])
        self.keep = k
        self.regression = regression

    def fit(self, x: Any, y: np.ndarray) -> ScreenedPairs:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        from automl_tabular.families import N_JOBS

        rows = np.arange(len(y))
        if len(rows) > SCREEN_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(rows, SCREEN_ROWS, replace=False))
        raw = self.raw(np.asarray(x)[rows])
        candidates = pair_values(raw, self.ops)
        model = (ExtraTreesRegressor if self.regression else ExtraTreesClassifier)(
            n_estimators=SCREEN_TREES,
            max_features="sqrt",
            min_samples_leaf=5,
            n_jobs=N_JOBS,
            random_state=0,
        )
        model.fit(np.concatenate([raw, candidates], axis=1), np.asarray(y)[rows])
        importance = model.feature_importances_[raw.shape[1] :]
        best = np.argsort(-importance, kind="stable")[: self.keep]
        self.ops = self.ops[np.sort(best)]  # grouped by operation, as all_pairs orders them
        return self
