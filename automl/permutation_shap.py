"""Permutation SHAP over features a row can switch on and off, with the model's evaluations of
many rows batched into few calls.

Model-agnostic and cheap to size: a row with F features costs ``2 * permutations * (F + 1)``
evaluations, known before it runs. Each permutation walks from every feature off to every
feature on in a random order (and back, antithetically); a feature's value is the mean change
of the output when it is switched on. The values of a row add up exactly to its output with
every feature on minus the output with none on (the base value). Plugins say what a feature is
and what switching it off means: a token deleted from a text, a table column set to background
rows' values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from automl.errors import ParameterError
from automl.work_units import record

# evaluate(requests): for each (row, masks) request, the explained output of row ``row`` with
# the features where ``masks[k]`` is True kept (the others switched off), one value a mask
Evaluate = Callable[[list[tuple[int, np.ndarray]]], list[np.ndarray]]


def evaluations(size: int, permutations: int) -> int:
    """Model evaluations one row of ``size`` features costs."""
    return 1 if size == 0 else 2 * permutations * (size + 1)


def orders(size: int, permutations: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``permutations`` random orders of ``size`` features, each followed by its reverse."""
    out = []
    for _ in range(permutations):
        order = rng.permutation(size)
        out += [order, order[::-1]]
    return out


def masks_of(order: np.ndarray) -> np.ndarray:
    """The masks of a walk through ``order``: none on, then one more on at each step."""
    size = len(order)
    masks = np.zeros((size + 1, size), dtype=bool)
    for k, feature in enumerate(order):
        masks[k + 1 :, feature] = True
    return masks


def permutation_shap(
    sizes: Sequence[int], evaluate: Evaluate, permutations: int, seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray]:
    """SHAP values of rows with ``sizes[i]`` features each, in one call of ``evaluate`` for
    all of them; returns the values per row and each row's base value (no feature on)."""
    if permutations < 1:
        raise ParameterError(f"permutations must be >= 1; got {permutations}")
    rng = np.random.default_rng(seed)
    walks = [orders(size, permutations, rng) if size else [] for size in sizes]
    requests = [
        (i, np.concatenate([masks_of(o) for o in walk]) if walk else np.zeros((1, 0), bool))
        for i, walk in enumerate(walks)
    ]
    outputs = evaluate(requests)
    values, base = [], np.zeros(len(sizes))
    for i, (walk, out) in enumerate(zip(walks, outputs, strict=True)):
        out = np.asarray(out, dtype=np.float64)
        base[i] = out[0]
        row = np.zeros(sizes[i])
        for w, order in enumerate(walk):
            steps = np.diff(out[w * (sizes[i] + 1) : (w + 1) * (sizes[i] + 1)])
            row[order] += steps
        values.append(row / max(1, len(walk)))
    return values, base


FILL = 0.8  # a chunk may fill this share of the time left, at the pace measured so far
CHUNK = 50  # rows per chunk at most (one model call a chunk)


class _Pace:
    """Seconds a call of ``evaluate`` takes: a fixed cost a call (a model's predict has one)
    plus a cost an evaluation, learnt from the calls timed so far."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []  # (evaluations, seconds)

    def timed(self, evals: int, seconds: float) -> None:
        self.calls.append((evals, seconds))

    def fixed_and_each(self) -> tuple[float, float]:
        (e1, t1), (e2, t2) = min(self.calls), max(self.calls)
        if e2 > e1 and t2 > t1:
            each = (t2 - t1) / (e2 - e1)
            return max(t1 - each * e1, 0.0), max(each, 1e-9)
        # one size seen, or the larger call was the quicker (the first one waited on the load
        # or warmed up: at load 5 a forest's sizing then read 0 s an evaluation, kept 10
        # permutations a row and ran 7.3 s past a 0.6 s deadline): all of it per evaluation
        return 0.0, max(t2 / e2, 1e-9)

    def seconds(self, calls: int, evals: int) -> float:
        fixed, each = self.fixed_and_each()
        return calls * fixed + evals * each


def sized_permutation_shap(  # noqa: PLR0913
    sizes: Sequence[int],
    evaluate: Evaluate,
    *,
    most: int,
    minimum: int,
    deadline: float,
    notes: list[str],
    seed: int = 0,
) -> tuple[list[np.ndarray], np.ndarray, int]:
    """``permutation_shap`` for the rows in order until ``deadline``, sized from timed batches:
    one permutation of row 0 is timed (the one unit that runs whatever the clock), then one
    permutation of the first ``minimum`` rows in a batch (as many as that pace says fit); from
    the two the cost of a model call and of an evaluation; the permutations a row (1 to
    ``most``) are then the most that let the first ``minimum`` rows fit the time left, and no
    chunk starts that the pace says would end past the deadline. Returns the values and base
    values of the rows done and the permutations used."""
    n = len(sizes)
    if n == 0:
        return [], np.zeros(0), most
    pace = _Pace()
    started = time.monotonic()
    probe = permutation_shap(sizes[:1], evaluate, 1, seed)
    pace.timed(evaluations(sizes[0], 1), time.monotonic() - started)
    record(pace.calls[0][1])
    wanted = max(1, min(minimum, n, CHUNK))
    rows = _fitting(sizes, 0, wanted, 1, pace, FILL * (deadline - time.monotonic()), calls=1)
    if rows > 1:
        started = time.monotonic()
        probe = permutation_shap(sizes[:rows], evaluate, 1, seed)
        pace.timed(sum(evaluations(s, 1) for s in sizes[:rows]), time.monotonic() - started)
    permutations = most
    while permutations > 1:
        calls = -(-min(minimum, n) // CHUNK)
        evals = sum(evaluations(s, permutations) for s in sizes[: min(minimum, n)])
        if pace.seconds(calls, evals) <= FILL * (deadline - time.monotonic()):
            break
        permutations = max(1, permutations // 2)
    if permutations < most:
        notes.append(
            f"permutation SHAP: {permutations} (not {most}) permutation pairs a row, so that "
            f"{min(minimum, n)} rows fit the time budget"
        )
    values, base, done = [], [], 0
    if permutations == 1:  # the probe's rows are already explained
        values, base, done = list(probe[0]), [probe[1]], len(probe[0])
    while done < n:
        left = deadline - time.monotonic()
        stop = done + _fitting(sizes, done, CHUNK, permutations, pace, FILL * left, calls=1)
        if stop == done:
            notes.append(f"SHAP: time budget spent after {done} of {n} rows; the rest left out")
            break
        begun = time.monotonic()
        found, found_base = permutation_shap(
            sizes[done:stop], _shifted(evaluate, done), permutations, seed + done
        )
        evals = sum(evaluations(s, permutations) for s in sizes[done:stop])
        pace.timed(evals, time.monotonic() - begun)
        values += found
        base.append(found_base)
        done = stop
    return values, np.concatenate(base) if base else np.zeros(0), permutations


def _fitting(sizes, start, most, permutations, pace, seconds, *, calls) -> int:  # noqa: PLR0913
    """How many rows from ``start`` (at most ``most``) one call explains within ``seconds``."""
    evals, rows = 0, 0
    for size in sizes[start : start + most]:
        evals += evaluations(size, permutations)
        if pace.seconds(calls, evals) > seconds:
            break
        rows += 1
    return rows


def _shifted(evaluate: Evaluate, offset: int) -> Evaluate:
    """``evaluate`` for a chunk whose row 0 is row ``offset`` of the whole."""

    def shifted(requests: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        return evaluate([(i + offset, masks) for i, masks in requests])

    return shifted
