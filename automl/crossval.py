"""k-fold cross-validation of one candidate, for small data sets.

A 20% holdout of a small table is a few hundred rows: a search that ranks hundreds of trials on it
picks the luckiest, not the best (credit-g: 150 validation rows). With ``cv_folds`` the search
scores each trial by k-fold cross-validation over train+valid instead; the out-of-fold outputs
cover every row, so the greedy ensemble is chosen on all of them too. Only the first fold reports
per-epoch scores to the pruner (a pruned trial stops there); the final models are refitted on all
rows as without cross-validation. The task's feature encoder stays fitted on the training split.

A model family may declare a larger ``cv_max_rows`` than its task (text: TF-IDF + a linear model
trains in seconds where the networks beside it take minutes). Under "auto" only that family's
trials are then cross-validated; the others keep the holdout split, and the ensemble is chosen on
the validation rows, where every trial has an out-of-sample output. Folds keep the task's row
groups whole (``TaskData.groups``), as its own split did.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from automl.errors import DataError, ParameterError
from automl.task import TaskData

AUTO_FOLDS = 5
EARLY_STOPPING_SHARE = 0.15  # of each fold's fit rows, for models that stop by epoch


def resolve_folds(cv_folds: Any, data: TaskData, auto_max_rows: int) -> int:
    """The number of folds to use (0: a single holdout split) for ``fit(cv_folds=...)``.
    "auto" cross-validates when train+valid has at most ``auto_max_rows`` rows (the task's
    ``cv_max_rows``: 0 for tasks whose models are too slow to train k times)."""
    rows = data.n_train + data.n_valid
    smallest = _smallest_class(data)
    if cv_folds in (None, 0, False):
        return 0
    if cv_folds == "auto":
        if rows > auto_max_rows:
            return 0
        folds = min(AUTO_FOLDS, smallest)
        return folds if folds >= 2 else 0
    if isinstance(cv_folds, bool) or not isinstance(cv_folds, (int, np.integer)) or cv_folds < 2:
        raise ParameterError(
            f"cv_folds must be 'auto', 0 (one holdout split) or an integer >= 2; got {cv_folds!r}"
        )
    if cv_folds > smallest:
        what = "rows" if data.problem_type == "regression" else "rows in the rarest class"
        raise DataError(
            f"cv_folds={cv_folds} needs at least that many {what}; there are {smallest}. "
            f"Pass cv_folds <= {smallest} or cv_folds=0"
        )
    return int(cv_folds)


def family_folds(
    cv_folds: Any, data: TaskData, task_max_rows: int, families: list[Any]
) -> dict[str, int]:
    """The folds of each family's trials (0: scored on the holdout split). "auto" applies the
    larger of the task's and the family's ``cv_max_rows``; a number or 0 applies to all."""
    return {
        f.name: resolve_folds(
            cv_folds, data, max(task_max_rows, int(getattr(f, "cv_max_rows", 0)))
        )
        for f in families
    }


def describe_validation(folds: dict[str, int], data: TaskData) -> str:
    """How trials are scored, for ``result.summary["validation"]``."""
    rows = data.n_train + data.n_valid
    holdout = f"holdout split of {data.n_valid} rows"
    crossed = sorted(n for n, k in folds.items() if k)
    if not crossed:
        return holdout
    k = max(folds.values())
    cv = f"{k}-fold cross-validation over train+valid ({rows} rows)"
    if len(crossed) == len(folds):
        return cv
    return f"{holdout}; {cv} for {', '.join(crossed)}"


def _smallest_class(data: TaskData) -> int:
    y = np.concatenate([data.y_train, data.y_valid])
    if data.problem_type == "regression":
        return len(y)
    return int(np.bincount(y.astype(np.int64)).min())


@dataclasses.dataclass
class Folds:
    """All rows (train, then valid) and the k (fit, holdout) index pairs over them."""

    x: Any
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    w: np.ndarray | None = None  # per-row weights (train, then valid), or None

    @classmethod
    def make(cls, data: TaskData, k: int, seed: int) -> Folds:
        from sklearn import model_selection as ms

        x = np.concatenate([data.x_train, data.x_valid])
        y = np.concatenate([data.y_train, data.y_valid])
        regression = data.problem_type == "regression"
        if data.groups is None:
            splitter = (ms.KFold if regression else ms.StratifiedKFold)(
                k, shuffle=True, random_state=seed
            )
        elif regression:
            splitter = ms.GroupKFold(k, shuffle=True, random_state=seed)
        else:
            splitter = ms.StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(y)), y, groups=data.groups)
        w = None if data.w_train is None else np.concatenate([data.w_train, data.w_valid])
        return cls(x, y, [(fit, hold) for fit, hold in splits], w)

    def fold(self, data: TaskData, i: int, *, inner: float = 0.0) -> TaskData:
        """``data`` with fold ``i``'s fit rows as its train split and, as its valid split, the
        fold's holdout rows, or (``inner`` > 0) that share of the fit rows: a model that picks
        its epoch on the rows it is scored on would score optimistically."""
        fit, hold = self.splits[i]
        if inner:
            from automl.targets import split_indices

            kind = data.problem_type
            keep, stop = split_indices(self.y[fit], kind, inner, seed=i)
            fit, hold = fit[keep], fit[stop]
        return dataclasses.replace(
            data,
            x_train=self.x[fit],
            y_train=self.y[fit],
            x_valid=self.x[hold],
            y_valid=self.y[hold],
            w_train=None if self.w is None else self.w[fit],
            w_valid=None if self.w is None else self.w[hold],
        )

    def holdout(self, i: int) -> tuple[np.ndarray, Any]:
        """Fold ``i``'s holdout rows (positions in all rows) and their model input."""
        hold = self.splits[i][1]
        return hold, self.x[hold]
