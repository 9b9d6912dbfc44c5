"""Are attributions faithful to the model? A deletion check, and how far two methods agree.

Deletion check: remove the ``k`` features a method ranks highest for a row (what "remove" means
is the modality's: pixels set to the channel mean, tokens deleted, table columns set to the
background's value) and measure how far the explained output drops; compare with removing ``k``
features drawn at random. Attributions that say something about the model drop it further than
chance. Agreement: Spearman's rank correlation of two methods' attributions of a row, and the
share of their top ``k`` features they have in common.

Nothing here knows a modality: the plugin's explainer hands over each row's attributions, a
function that removes features from a row and one that scores rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.errors import ParameterError

RANDOM_DRAWS = 5  # random removals per row; their mean drop is the chance level


@dataclass
class DeletionCheck:
    """Per row: ``k`` features removed, the explained output's ``drop`` when they are the top
    ``k`` by attribution and its mean drop over ``RANDOM_DRAWS`` random sets of ``k``."""

    share: float
    k: np.ndarray
    drop: np.ndarray
    random_drop: np.ndarray

    @property
    def mean_drop(self) -> float:
        """The mean top-k drop over the rows that had features to remove."""
        return _mean(self.drop[self.k > 0])

    @property
    def mean_random(self) -> float:
        """The mean random drop over the rows that had features to remove."""
        return _mean(self.random_drop[self.k > 0])

    @property
    def gap(self) -> np.ndarray:
        """Per row with features: the top-k drop minus the random drop (finite ones only)."""
        gap = np.asarray(self.drop - self.random_drop, dtype=np.float64)[self.k > 0]
        return gap[np.isfinite(gap)]

    @property
    def above_random(self) -> bool:
        """Whether removing the top-ranked features drops the output more than removing random
        ones, on average over the rows."""
        return bool(len(self.gap) and self.gap.mean() > 0)

    @property
    def significant(self) -> bool:
        """Whether the mean gap exceeds twice its standard error (rows vary a lot: with a few
        rows a real gap may not be significant)."""
        gap = self.gap
        if len(gap) < 2:
            return False
        return bool(gap.mean() > 2 * gap.std(ddof=1) / math.sqrt(len(gap)))

    @property
    def verdict(self) -> str:
        """ "above random", "above random (not significant over N rows)" or "not above
        random"."""
        if not self.above_random:
            return "not above random"
        if self.significant:
            return "above random"
        return f"above random (not significant over {len(self.gap)} rows)"

    def summary(self, method: str) -> str:
        """One sentence for notes and the report."""
        return (
            f"{method} deletion check on {int((self.k > 0).sum())} rows: removing each row's top "
            f"{self.share:.0%} attributed features (k = {_k_range(self.k)}) lowers the explained "
            f"output by {self.mean_drop:.3g} on average, removing k random ones by "
            f"{self.mean_random:.3g}: {self.verdict}"
        )


@dataclass
class Agreement:
    """Per row: Spearman's rank correlation of two methods' attributions and the share of
    their top ``k`` features (by attribution) they have in common."""

    rank_correlation: np.ndarray
    top_overlap: np.ndarray
    k: np.ndarray

    @property
    def mean_correlation(self) -> float:
        return _mean(self.rank_correlation)

    @property
    def mean_overlap(self) -> float:
        return _mean(self.top_overlap)


def top_features(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The ``k`` features with the largest attributions (ties in random order)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.lexsort((rng.random(len(values)), -values))
    return order[:k]


def removal_count(n_features: int, share: float) -> int:
    """How many of a row's ``n_features`` the check removes: ``share`` of them, at least one
    (none when the row has no features)."""
    if n_features <= 0:
        return 0
    return int(min(n_features, max(1, round(share * n_features))))


def scored_rows(checked: int) -> int:
    """How many rows ``deletion_check`` scores for ``checked`` rows (each as explained, with its
    top features removed, and ``RANDOM_DRAWS`` random removals): an explainer's forecast of
    the check's time at the model's pace, to stop its method that much before its deadline."""
    return checked * (2 + RANDOM_DRAWS)


def deletion_check(
    attributions: Sequence[np.ndarray],
    remove: Callable[[int, np.ndarray], Any],
    score: Callable[[list[Any], np.ndarray], np.ndarray],
    *,
    share: float,
    seed: int = 0,
) -> DeletionCheck:
    """The deletion check for rows ``0 .. n-1``: ``attributions[i]`` are row i's attributions
    over its features, ``remove(i, features)`` returns row i with those features removed, and
    ``score(rows, which)`` the explained output of each given row (``which[j]``: the explained
    row that ``rows[j]`` came from, so its class is known). Rows without features drop 0 and
    are left out of the means."""
    if not 0 < share <= 1:
        raise ParameterError(f"share must be in (0, 1]; got {share}")
    rng = np.random.default_rng(seed)
    n = len(attributions)
    ks = np.array([removal_count(len(a), share) for a in attributions], dtype=int)
    rows: list[Any] = []
    which: list[int] = []
    for i, values in enumerate(attributions):
        rows.append(remove(i, np.zeros(0, dtype=int)))  # the row as explained
        which.append(i)
        if ks[i] == 0:
            continue
        rows.append(remove(i, top_features(values, ks[i], rng)))
        which.append(i)
        for _ in range(RANDOM_DRAWS):
            rows.append(remove(i, rng.choice(len(values), size=ks[i], replace=False)))
            which.append(i)
    out = np.asarray(score(rows, np.asarray(which)), dtype=np.float64)
    drop, random_drop = np.zeros(n), np.zeros(n)
    pos = 0
    for i in range(n):
        full = out[pos]
        pos += 1
        if ks[i] == 0:
            continue
        drop[i] = full - out[pos]
        random_drop[i] = full - out[pos + 1 : pos + 1 + RANDOM_DRAWS].mean()
        pos += 1 + RANDOM_DRAWS
    return DeletionCheck(float(share), ks, drop, random_drop)


def agreement(
    first: Sequence[np.ndarray], second: Sequence[np.ndarray], *, share: float, seed: int = 0
) -> Agreement:
    """How far two methods' attributions of the same rows agree (rows of different lengths,
    or of fewer than two features, count as NaN)."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    n = min(len(first), len(second))
    corr, overlap, ks = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=int)
    for i in range(n):
        a, b = np.asarray(first[i], float), np.asarray(second[i], float)
        if len(a) != len(b) or len(a) < 2:
            continue
        k = removal_count(len(a), share)
        ks[i] = k
        top_a, top_b = set(top_features(a, k, rng)), set(top_features(b, k, rng))
        overlap[i] = len(top_a & top_b) / k
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            corr[i] = float(spearmanr(a, b).statistic)
    return Agreement(corr, overlap, ks)


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def _k_range(ks: np.ndarray) -> str:
    ks = np.asarray(ks)
    ks = ks[ks > 0]
    if len(ks) == 0:
        return "0"
    lo, hi = int(ks.min()), int(ks.max())
    return f"{lo}" if lo == hi else f"{lo}–{hi}"
