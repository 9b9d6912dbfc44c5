"""Greedy ensemble selection (Caruana et al., 2004) over the trials of one search.

Each completed trial leaves its validation output; models are added one at a time, with
replacement, wherever the averaged output scores best on the validation split. The ensemble is
used only when it beats the best single model there.

Members are added by the task's metric, except under accuracy (``choose``): accuracy counts
the rows on the right side of the largest probability, a coarse score that on a few hundred
validation rows a lucky average wins by a row or two. There a second ensemble is chosen by log
loss (a proper score of the same probabilities), and of the three candidates (that one, the
accuracy-chosen one, the best trial) the one of least log loss is returned among those whose
validation accuracy is within one standard error of the best of them. On credit-g's eight
75/25 splits (the probe ``studies/probe_ensemble.py`` of commit 7243d27: seven defaults
cross-validated on the training split) accuracy-chosen ensembles scored 0.7610 mean test
accuracy, log-loss-chosen ones 0.7665.
The accuracy guard is for models of poor probabilities (forest cover: extra trees, the most
accurate trial, had a log loss the greedy log-loss choice left out, 0.8761 validation accuracy
against its 0.8876).
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


def choose(
    outputs: dict[int, np.ndarray],
    y: np.ndarray,
    metric: Metric,
    best: tuple[float, np.ndarray | None],
    *,
    rounds: int = ROUNDS,
    top_k: int = TOP_K,
) -> tuple[dict[int, int], float]:
    """The greedy ensemble to return instead of the best trial (whose validation score and
    output are ``best``; its output may be unknown), and its validation score by ``metric``
    (whose row weights are bound); no weights when the best trial should stay."""
    weights, score = select(outputs, y, metric, top_k=top_k, rounds=rounds)
    best_score, best_output = best
    if metric.fn is not accuracy_fn or best_output is None:
        return (weights, score) if metric.better(score, best_score) else ({}, best_score)
    loss = METRICS["log_loss"].weighted(metric.weights)
    by_loss, _ = select(outputs, y, loss, top_k=top_k, rounds=rounds)
    candidates = [  # (accuracy, log loss, weights), the best trial's weights empty
        (best_score, loss(y, best_output), {}),
        (score, loss(y, blend(outputs, weights)), weights),
        (metric(y, blend(outputs, by_loss)), loss(y, blend(outputs, by_loss)), by_loss),
    ]
    top = max(c[0] for c in candidates)
    close = [c for c in candidates if c[0] >= top - _standard_error(top, metric.weights, len(y))]
    accuracy, _, chosen = min(close, key=lambda c: c[1])
    return chosen, accuracy


def choice_note(metric: Metric, score: float, best_score: float) -> str:
    """How a returned ensemble was chosen, in words, with its validation score and the best
    trial's (under accuracy the ensemble may score a little below the best trial there)."""
    how = f"greedy selection by validation {metric.name}"
    if metric.fn is accuracy_fn:
        how = (
            "of the best trial and the ensembles chosen greedily by validation accuracy and by "
            "validation log loss, the one of least log loss within one standard error of the "
            "best validation accuracy"
        )
    return f"{how}: {metric.name} {score:.4f} on validation, the best trial's {best_score:.4f}"


def _standard_error(accuracy: float, weights: np.ndarray | None, rows: int) -> float:
    """Of an accuracy measured on ``rows`` rows (their effective count under weights)."""
    n = rows if weights is None else float(weights.sum() ** 2 / max((weights**2).sum(), 1e-12))
    return float(np.sqrt(max(accuracy * (1 - accuracy), 0.0) / max(n, 1.0)))


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
