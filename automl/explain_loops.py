"""The loops every explainer runs to its deadline: rows in chunks (``run_chunks``) and LIME's
rows one at a time, with its samples sized from a timed first row (``lime_rows``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.work_units import record

CHUNK_FILL = 0.8  # a chunk may fill this share of the time left, at the pace measured so far


def run_chunks(  # noqa: PLR0913
    fn: Any,
    n: int,
    deadline: float,
    chunk: int,
    note: list[str],
    what: str,
    first: int = 1,
    pace: float | None = None,
) -> tuple[list[Any], int]:
    """Call ``fn(start, stop)`` over ``range(n)`` in chunks of at most ``chunk`` rows until the
    deadline; returns the pieces and the rows done, adding a note when stopped early. The first
    call explains ``first`` rows (it always runs; default one) and times them; later chunks
    are sized to the time left at that pace, and no chunk starts that one row's time would
    carry past the deadline (a deep forest's TreeExplainer can take seconds a row). ``pace``:
    seconds a row measured before (a probe): the first chunk too is sized to it, and checked."""
    pieces, done, size = [], 0, max(1, min(first, chunk))
    per_row, known = (0.0, False) if pace is None else (pace, True)
    while done < n:
        left = deadline - time.monotonic()
        if (done or known) and left < per_row:
            note.append(f"{what}: time budget spent after {done} of {n} rows; the rest left out")
            break
        if done or known:
            size = int(max(1, min(chunk, CHUNK_FILL * left / max(per_row, 1e-9))))
        stop = min(n, done + size)
        started = time.monotonic()
        pieces.append(fn(done, stop))
        if not done and not known:
            record(time.monotonic() - started)
        per_row = (time.monotonic() - started) / (stop - done)  # the latest pace
        done = stop
    return pieces, done


@dataclass(frozen=True)
class LimeRow:
    """One row's LIME fit: a weight per feature, the local linear model's intercept and score
    (its R^2), and lime's own explanation (None for a row with nothing to perturb)."""

    weights: np.ndarray
    intercept: float
    score: float
    explanation: Any = None


def lime_row(explanation: Any, label: int, width: int) -> LimeRow:
    """lime's sparse weights for ``label`` (``local_exp``) spread over ``width`` features."""
    weights = np.zeros(width)
    for feature, weight in explanation.local_exp[label]:
        weights[feature] = weight
    return LimeRow(
        weights, float(explanation.intercept[label]), float(explanation.score), explanation
    )


MIN_LIME_SAMPLES = 100  # LIME's local model needs some perturbations to mean anything


def _first_lime_size(samples: int, minimum: int) -> int:
    """LIME's timed first row's samples: all of them for a minimum of one row, else a share
    that leaves the minimum's other rows at least as many (half of ``samples`` over the
    minimum: a quarter of 1,000 took 0.6 s of LIME's 1.2 s on an image beside six busy
    processes, and left the third image out), at least ``MIN_LIME_SAMPLES``. The row is
    explained again with more when time is left at the end (``lime_rows``)."""
    if minimum <= 1:
        return samples
    return max(min(samples, MIN_LIME_SAMPLES), samples // (2 * minimum))


def lime_rows(  # noqa: PLR0913
    explain_row: Callable[..., LimeRow],
    n: int,
    deadline: float,
    notes: list[str],
    *,
    samples: int | None = None,
    minimum: int = 0,
) -> list[LimeRow]:
    """The LIME loop every explainer runs: ``explain_row(i)`` for rows 0..n-1, one at a time
    (LIME can take seconds a row) until the deadline; the rows done come back, and a note
    says when the rest were left out.

    Given ``samples`` (``bounds.lime_samples``), ``explain_row(i, samples_i)`` is called: row 0
    with a share of ``samples`` (the timed unit, ``_first_lime_size``; all of them when
    ``minimum`` is 0 or 1), then each row with as many as the time left allows for the rows
    still wanted (at least ``minimum``; then one more at a time) at the last row's pace per
    sample, at most ``samples`` and at least ``MIN_LIME_SAMPLES``; when all ``n`` rows are
    done, row 0 again with as many as the time left allows, when that is more."""
    if samples is None:

        def run(start: int, stop: int) -> list[LimeRow]:
            return [explain_row(i) for i in range(start, stop)]

        pieces, _ = run_chunks(run, n, deadline, 1, notes, "LIME")
        return [row for piece in pieces for row in piece]
    rows: list[LimeRow] = []
    sizes: list[int] = []
    per_sample = 0.0
    while len(rows) < n:
        i = len(rows)
        wanted = max(1, min(n, minimum) - i)
        left = deadline - time.monotonic()
        if i == 0:  # the timed unit: a share of the samples, so that it cannot eat the rest
            size = _first_lime_size(samples, min(n, minimum))
        else:
            size = int(min(samples, CHUNK_FILL * left / wanted / per_sample))
        if size < min(samples, MIN_LIME_SAMPLES):
            notes.append(f"LIME: time budget spent after {i} of {n} rows; the rest left out")
            break
        started = time.monotonic()
        rows.append(explain_row(i, size))
        sizes.append(size)
        if i == 0:
            record(time.monotonic() - started)
        per_sample = max((time.monotonic() - started) / size, 1e-9)
    # the timed unit again, with the samples the time left allows, once the rows are done
    again = int(min(samples, CHUNK_FILL * (deadline - time.monotonic()) / max(per_sample, 1e-9)))
    if len(rows) == n and sizes[0] < samples and again > sizes[0]:
        rows[0], sizes[0] = explain_row(0, again), again
    fewest = min(sizes, default=samples)
    if fewest < samples:
        notes.append(
            f"LIME: some rows with down to {fewest} (not {samples}) samples, so that "
            f"{min(n, minimum)} rows fit the time budget"
        )
    return rows
