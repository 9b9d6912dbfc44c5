"""Greedy ensemble selection (Caruana et al., 2004) over the trials of one search.

Each completed trial leaves its validation output; models are added one at a time, with
replacement, wherever the averaged output scores best on the validation split. The ensemble is
used only when it beats the best single model there.

Members are added by the task's metric, except accuracy: it counts the rows on the right side
of the largest probability, a coarse score on a few hundred validation rows that a lucky average
wins by a row or two. Under accuracy the ensemble is chosen by log loss (a proper score of the
same probabilities, Caruana et al.'s advice for noisy metrics) and compared with the best trial
by log loss too. On credit-g's eight 75/25 splits, five families' defaults cross-validated on
the training split: accuracy-chosen ensembles scored 0.7570 mean test accuracy, log-loss-chosen
ones 0.7680 (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.metrics import METRICS, Metric, accuracy_fn
from automl.predictors import Predictor

ROUNDS = 25
TOP_K = 12


def select(
    outputs: dict[int, np.ndarray],
    y_valid: np.ndarray,
    metric: Metric,
    *,
    rounds: int = ROUNDS,
    top_k: int = TOP_K,
) -> tuple[dict[int, int], float]:
    """Weights (times chosen) per trial number, and the ensemble's validation score."""
    if not outputs:
        return {}, metric.worst
    ranked = sorted(outputs, key=lambda n: (_rank_key(metric, metric(y_valid, outputs[n])), n))
    candidates = ranked[:top_k]
    total = np.zeros_like(outputs[candidates[0]], dtype=np.float64)
    counts: dict[int, int] = {}
    best_counts, best_score = {}, metric.worst
    for step in range(1, rounds + 1):
        scores = [(metric(y_valid, (total + outputs[n]) / step), n) for n in candidates]
        score, chosen = min(scores, key=lambda sn: (_rank_key(metric, sn[0]), sn[1]))
        total += outputs[chosen]
        counts[chosen] = counts.get(chosen, 0) + 1
        if metric.better(score, best_score):
            best_counts, best_score = dict(counts), score
    return best_counts, best_score


def criterion(metric: Metric) -> Metric:
    """The score members are chosen by for a search under ``metric`` (its bound row weights
    kept): log loss for accuracy, the metric itself otherwise."""
    if metric.fn is accuracy_fn:
        return METRICS["log_loss"].weighted(metric.weights)
    return metric


def blend(outputs: dict[int, np.ndarray], weights: dict[int, int]) -> np.ndarray:
    """The weighted average of the chosen trials' outputs."""
    total = sum(weights.values())
    return sum(outputs[n] * w for n, w in weights.items()) / total


def _rank_key(metric: Metric, score: float) -> float:
    """Smaller is better, whatever the metric's direction."""
    return -score if metric.direction == "maximize" else score


class EnsemblePredictor(Predictor):
    """Weighted average of member outputs (probabilities or regression values)."""

    kind = "ensemble"

    def __init__(self, members: list[tuple[Predictor, float]]) -> None:
        first = members[0][0]
        super().__init__(first.problem_type, first.n_outputs)
        self.members = members
        self.has_proba = all(p.has_proba for p, _ in members)

    def output(self, x: Any) -> np.ndarray:
        total = sum(w for _, w in self.members)
        return sum(w * p.output(x) for p, w in self.members) / total
