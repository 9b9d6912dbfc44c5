"""The metrics a search can optimise, their direction and how they read model output.

Model output is class probabilities of shape (n, k) for classification and values of shape (n,)
for regression; every metric takes the encoded truth and that output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from automl.errors import DataError

CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "maximize" or "minimize"
    problem_types: tuple[str, ...]
    fn: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, y_true: np.ndarray, output: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(output)))

    def better(self, a: float, b: float) -> bool:
        """Whether score a beats score b."""
        return a > b if self.direction == "maximize" else a < b

    @property
    def worst(self) -> float:
        return -np.inf if self.direction == "maximize" else np.inf


def _labels(output: np.ndarray) -> np.ndarray:
    return output.argmax(axis=1)


def _f1(y, p):
    average = "binary" if p.shape[1] == 2 else "macro"
    return skm.f1_score(y, _labels(p), average=average)


def _roc_auc(y, p):
    if p.shape[1] == 2:
        return skm.roc_auc_score(y, p[:, 1])
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))


def _log_loss(y, p):
    p = np.clip(p, 1e-15, 1.0)
    return skm.log_loss(y, p / p.sum(axis=1, keepdims=True), labels=np.arange(p.shape[1]))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "maximize", CLASSIFICATION, lambda y, p: np.mean(_labels(p) == y)),
        Metric(
            "balanced_accuracy",
            "maximize",
            CLASSIFICATION,
            lambda y, p: skm.balanced_accuracy_score(y, _labels(p)),
        ),
        Metric("f1", "maximize", CLASSIFICATION, _f1),
        Metric("roc_auc", "maximize", CLASSIFICATION, _roc_auc),
        Metric("log_loss", "minimize", CLASSIFICATION, _log_loss),
        Metric("r2", "maximize", ("regression",), skm.r2_score),
        Metric(
            "rmse", "minimize", ("regression",), lambda y, v: np.sqrt(skm.mean_squared_error(y, v))
        ),
        Metric("mae", "minimize", ("regression",), skm.mean_absolute_error),
    )
}

DEFAULT_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


def resolve(metric: str | None, problem_type: str) -> Metric:
    """The metric to optimise: the user's (checked against the problem type) or the default."""
    name = DEFAULT_METRIC[problem_type] if metric is None else metric
    if name not in METRICS:
        raise DataError(f"unknown metric {name!r}; choose one of {sorted(METRICS)}")
    found = METRICS[name]
    if problem_type not in found.problem_types:
        usable = sorted(k for k, m in METRICS.items() if problem_type in m.problem_types)
        raise DataError(f"metric {name!r} does not apply to {problem_type}; use one of {usable}")
    return found


def report_metrics(problem_type: str, y_true: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """Every applicable metric, for leaderboards and reports (roc_auc skipped when undefined)."""
    out = {}
    for name, metric in METRICS.items():
        if problem_type in metric.problem_types:
            try:
                out[name] = metric(y_true, output)
            except ValueError:
                continue
    return out
