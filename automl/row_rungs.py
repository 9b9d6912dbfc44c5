"""Rows as a fidelity: on a large training split, trials start on a row subsample and the
promising ones move on to more rows (successive halving over sample size, as FLAML's
sample-size search), on top of the pruner's epoch rungs.

A task declares the rows of the first rung (``TaskData.row_rungs_from``; the tabular task:
50,000); each rung has ``FACTOR`` times the rows of the one before, the last all training rows.
A trial trains on the first rung's rows, then on the next rung's while its validation score is
among the best ``1/FACTOR`` of the scores seen at its rung (asynchronous successive halving: a
rung's first score is promoted) and the next fit, at the pace this one measured (scaled by the
rows), ends before the trial's deadline: a fit that cannot end in the time left is not started.
The trial keeps the best of its fits; the leaderboard says on how many rows it trained
(``rows``), and its refit trains on the same share of train+valid (``refit_rows``).

The rows of a rung are the first of one seeded permutation of the training rows, so a
promoted trial's rows hold the rows it trained on before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

FACTOR = 3  # rows grow by this factor from one rung to the next; 1/FACTOR of a rung moves on
LAST_RUNG = 1.5  # a rung within this factor of all rows is dropped: the last one takes all
# the next fit is expected to take its rows' share of this one's time, with this margin; the
# validation predictions (the same rows at every rung) at this one's: a hist_gb fit on 50,000
# of 1M rows spent 3.6 of its 7.0 s predicting the 200,000 validation rows
MARGIN = 1.2


def rung_sizes(n_train: int, first: int | None) -> tuple[int, ...]:
    """Rows of each rung, ascending, the last ``n_train``: ``first``, ``FACTOR`` times as many,
    ... (one rung, all rows, when ``first`` is None or the table has too few rows for two)."""
    sizes: list[int] = []
    size = first or n_train
    while size * LAST_RUNG < n_train:
        sizes.append(size)
        size *= FACTOR
    return (*sizes, n_train)


@dataclass
class RowRungs:
    """The rungs of one search and the validation scores seen at each (this process's)."""

    sizes: tuple[int, ...]
    seed: int = 0
    scores: dict[int, list[float]] = field(default_factory=dict)
    _order: np.ndarray | None = None

    @classmethod
    def make(cls, n_train: int, first: int | None, seed: int) -> RowRungs:
        return cls(rung_sizes(n_train, first), seed)

    @property
    def active(self) -> bool:
        return len(self.sizes) > 1

    def rows(self, rung: int) -> np.ndarray | None:
        """The training rows of ``rung`` (sorted positions; None: all of them)."""
        if rung >= len(self.sizes) - 1:
            return None
        if self._order is None:
            n = self.sizes[-1]
            dtype = np.int32 if n < 2**31 else np.int64
            self._order = np.random.default_rng(self.seed).permutation(n).astype(dtype)
        return np.sort(self._order[: self.sizes[rung]])

    def rows_of(self, size: int) -> np.ndarray | None:
        """The training rows of the rung of ``size`` rows (None: all, or no such rung)."""
        return self.rows(self.sizes.index(size)) if size in self.sizes else None

    def promotes(self, rung: int, score: float, better: Callable[[float, float], bool]) -> bool:
        """Record ``score`` at ``rung``; whether it is among the best ``1/FACTOR`` there."""
        seen = self.scores.setdefault(rung, [])
        seen.append(score)
        if not math.isfinite(score):
            return False
        ahead = sum(1 for s in seen if math.isfinite(s) and better(s, score))
        return ahead < math.ceil(len(seen) / FACTOR)


class Climbed(NamedTuple):
    """A trial's fits on the rungs: the best outcome, its rows, every fit's (rows, seconds),
    and why it stopped climbing (a note; empty when it reached all rows)."""

    outcome: Any
    rows: np.ndarray | None
    fits: list[tuple[int, float]]
    note: str


def climb(
    rungs: RowRungs,
    train: Callable[[np.ndarray | None, bool], Any],
    better: Callable[[float, float], bool],
    deadline: float | None,
) -> Climbed:
    """Train (``train(rows, first)``: only the first fit reports to the pruner) on the first
    rung's rows, then on each next rung's while the score is promoted and the next fit, at
    this one's pace, ends before ``deadline``. A fit the deadline stopped moves no further
    (its pace says nothing of a whole fit)."""
    kept = kept_rows = None
    fits: list[tuple[int, float]] = []
    note = ""
    for rung, size in enumerate(rungs.sizes):
        rows = rungs.rows(rung)
        outcome = train(rows, rung == 0)
        fits.append((size, outcome.seconds))
        if kept is None or not better(kept.score, outcome.score):  # a tie: the more rows
            kept, kept_rows = outcome, rows
        if rung + 1 == len(rungs.sizes):
            break
        total = rungs.sizes[-1]
        if not rungs.promotes(rung, outcome.score, better):
            note = f"trained on {size} of {total} rows: not among the best third at {size} rows"
            break
        if outcome.stopped_by == "time_budget":
            note = f"trained on {size} of {total} rows: the deadline stopped its fit there"
            break
        nxt = rungs.sizes[rung + 1]
        scoring = min(outcome.seconds, getattr(outcome, "scoring_seconds", 0.0))  # as many rows
        expected = MARGIN * ((outcome.seconds - scoring) * nxt / size + scoring)
        left = math.inf if deadline is None else deadline - time.monotonic()
        if expected > left:
            note = (
                f"trained on {size} of {total} rows: a fit on {nxt} rows was expected to take "
                f"{expected:.0f} s, {max(0.0, left):.0f} s were left"
            )
            break
    if kept is not outcome and kept_rows is not None:
        kept_note = f"the fit on {len(kept_rows)} rows scored best and is kept"
        note = "; ".join(filter(None, [note, kept_note]))
    return Climbed(kept, kept_rows, fits, note)


def refit_size(rows_trained: int, n_train: int, n_valid: int) -> int:
    """Rows of a refit of a trial trained on ``rows_trained`` of the ``n_train`` training rows:
    the same share of train+valid."""
    n = n_train + n_valid
    return n if rows_trained >= n_train else min(n, round(rows_trained * n / n_train))


def refit_rows(rows_trained: int, n_train: int, n_valid: int, seed: int) -> np.ndarray | None:
    """The rows of train+valid (positions: train rows, then valid rows) that the refit of a
    trial trained on ``rows_trained`` of the ``n_train`` training rows takes (``refit_size``),
    seeded; None: all rows, for a trial that trained on all."""
    if rows_trained >= n_train:
        return None
    n = n_train + n_valid
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: refit_size(rows_trained, n_train, n_valid)])


def last_rung_note(of: int, rows: int) -> str:
    """What the leaderboard says of the last rung's trial (``automl.last_rung``)."""
    return (
        f"the last rung: trial {of}'s configuration on {rows} training rows, in the time kept "
        "for it at the search's end"
    )


def last_rung_skipped(of: int) -> str:
    """Why a queued trial popped before the last rung's own was not started."""
    return (
        "not started: the search's time ran out; the time kept at its end went to the last "
        f"rung (trial {of}'s configuration on more rows)"
    )
