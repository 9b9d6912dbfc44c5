"""Whether a trial starts, and on how many rows: its deadline (a share of the search time
left), a fit that cannot be stopped is not started when its family's pace says it would not
end in time, or runs on a subsample first; a family that could not reach its first report in
the time a trial had gets no trial with as little."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from automl import kinds
from automl.task import TaskData
from automl.trial_attrs import REASON

if TYPE_CHECKING:
    from automl.objective import SearchRecords, TrialRun
    from automl.row_rungs import RowRungs
    from automl.training import TrainOutcome

# an uninterruptible fit (a linear model, say) on at least this many rows, with no pace of its
# family measured yet, first runs on SUBSAMPLE of them to measure it, then on all of them when
# that pace says the whole fit ends in time (the trial's model is then the whole fit's)
LARGE_ROWS = 20_000
SUBSAMPLE = 0.1


# no trial may take more than this share of the search time left when it starts: a short
# budget still compares several configurations (a costly trial stops early instead); until a
# trial has finished, FIRST_SHARE (the search must return a model, and its first trials are
# the families' defaults)
TRIAL_SHARE = 0.4
FIRST_SHARE = 0.7


def trial_deadline(search_deadline: float | None, first: bool) -> float | None:
    if search_deadline is None:
        return None
    now = time.monotonic()
    share = FIRST_SHARE if first else TRIAL_SHARE
    return min(search_deadline, now + share * max(0.0, search_deadline - now))


def rows_that_fit(
    run: TrialRun,
    data: TaskData,
    records: SearchRecords,
    n_folds: int,
    rungs: RowRungs | None = None,
) -> tuple[Any, str]:
    """The training rows of an uninterruptible scikit-learn fit that fit in the time left:
    all (None), or a stratified subsample with a note saying why; a fit that cannot be cut
    and would not end in time even on the subsample is not started (pruned, with the reason).
    Stoppable fits (torch, forests, boosting) always get all rows, and so do trials that climb
    row rungs (``automl.row_rungs``: they start on a subsample anyway)."""
    if run.deadline is None or n_folds or (rungs is not None and rungs.active):
        return None, ""
    # a torch family is stoppable without being built (a text network's spec needs the
    # vocabulary its featurizer learns in training)
    if kinds.of(run.family).stoppable(run.family, lambda: run.family.build(run.params, data.spec)):
        return None, ""
    left = run.deadline - time.monotonic()
    expected = records.expected_seconds(run.family.name, data.n_train)
    if expected is None and data.n_train < LARGE_ROWS:
        return None, ""
    if expected is not None and expected <= left:
        return None, ""
    n_sub = max(1000, int(SUBSAMPLE * data.n_train))
    sub_expected = None if expected is None else expected * n_sub / data.n_train
    if sub_expected is not None and sub_expected > left:
        why = f"not started: a fit is expected to take {expected:.0f} s, {max(0, left):.0f} s left"
        run.trial.set_user_attr(REASON, why)
        raise optuna.TrialPruned(why)
    from automl.targets import split_indices

    keep, _ = split_indices(
        data.y_train, data.problem_type, 1 - n_sub / data.n_train, seed=run.seed
    )
    why = (
        f"trained on {len(keep)} of {data.n_train} rows (a subsample: this fit cannot be "
        "stopped and "
        + ("its cost was not known yet" if expected is None else f"would take ~{expected:.0f} s")
        + ")"
    )
    return keep, why


def start_if_it_fits(run: TrialRun, data: TaskData, records: SearchRecords, rows: int) -> None:
    """A fit that cannot be stopped, whose family's pace says it would not end on ``rows``
    rows before the trial's deadline, is not started (pruned, with the reason)."""
    if run.deadline is None:
        return
    expected = records.expected_seconds(run.family.name, rows)
    left = run.deadline - time.monotonic()
    if expected is None or expected <= left:
        return
    if kinds.of(run.family).stoppable(run.family, lambda: run.family.build(run.params, data.spec)):
        return
    why = f"not started: a fit on {rows} rows is expected to take {expected:.0f} s, "
    why += f"{max(0.0, left):.0f} s left"
    run.trial.set_user_attr(REASON, why)
    raise optuna.TrialPruned(why)


# a trial given less than SHORT_SHARE of the search's time starts only when its family's pace
# says its first fit ends in it: on a 1,000,000-row table at 120 s (a search of 90 s), an MLP
# given 3 s and boosting given 2 s near the search's end ran past their time, learnt nothing
# (2 batches; 10 boosting iterations, 0.79 against the best 0.93) and took the fit's peak
# memory from 908 MiB to 1,541 MiB (the network's library; a wider table of pair columns).
# Under UNTIMED_SHARE, a family with no fit timed yet is not started with less time than the
# median family's fit took (or was given) on the same rows: at 200,000 rows and 60 s, an MLP
# given 3 s (the other families' first fits: 2.5 s to 13.3 s) ended no epoch and took the peak
# from 481 MiB to 1,071 MiB.
SHORT_SHARE = 0.05
UNTIMED_SHARE = 0.10


def start_in_time(  # noqa: PLR0913
    run: TrialRun,
    records: SearchRecords,
    families: dict[str, Any],
    rows: int,
    allotted: float | None,
    span: float,
) -> None:
    """Not started (pruned, with the reason): a trial ``allotted`` less than ``SHORT_SHARE``
    of ``span`` (the search's seconds) whose family has no pace yet, or whose first fit on
    ``rows`` rows is expected to take longer (when no family's fit is expected to end in that
    time, the search stops here); and a trial allotted less than ``UNTIMED_SHARE`` of it,
    of a family with no pace yet, and less than the median of the other families' expected
    fits on ``rows`` rows."""
    if allotted is None:
        return
    expected = {n: records.expected_seconds(n, rows) for n in families}
    timed = [e for e in expected.values() if e is not None]
    own = expected.get(run.family.name)
    if allotted >= SHORT_SHARE * span:
        if own is not None or not timed or allotted >= UNTIMED_SHARE * span:
            return
        if allotted >= float(np.median(timed)):
            return
        why = (
            f"not started: {max(0.0, allotted):.1f} s for this trial, {run.family.name} had no "
            f"fit timed yet, and the median family's fit on {rows} rows took "
            f"{float(np.median(timed)):.1f} s"
        )
        run.trial.set_user_attr(REASON, why)
        raise optuna.TrialPruned(why)
    if own is not None and own <= allotted:
        return
    if not any(e is not None and e <= allotted for e in timed):
        records.stopped = (
            f"time budget: {max(0.0, allotted):.1f} s a trial, too little for any model "
            "family's first fit"
        )
        run.trial.study.stop()
    why = f"not started: {max(0.0, allotted):.1f} s for this trial, " + (
        f"a {run.family.name} fit on {rows} rows is expected to take {own:.1f} s"
        if own is not None
        else f"and {run.family.name} had no fit timed yet"
    )
    run.trial.set_user_attr(REASON, why)
    raise optuna.TrialPruned(why)


def start_or_skip(
    run: TrialRun, records: SearchRecords, allotted: float | None, families: dict[str, Any]
) -> None:
    """A family whose trial could not reach its first report in ``too_slow[name]`` seconds
    gets no trial with as little time (pruned, not started); when no family has a chance in the
    time left, the search stops here (the cheaper families may still have)."""
    if allotted is None:
        return
    hopeless = {n for n, had in records.too_slow.items() if allotted <= had}
    if hopeless >= set(families):
        records.stopped = "time budget: no model family can train in the time left"
        run.trial.study.stop()
    name = run.family.name
    if name in hopeless:
        why = (
            f"not started: a {name} trial given {records.too_slow[name]:.0f} s ended no part "
            f"of an epoch, {allotted:.0f} s are left for this one"
        )
        run.trial.set_user_attr(REASON, why)
        raise optuna.TrialPruned(why)


def whole_fits(run: TrialRun, data: TaskData, probe: TrainOutcome, rows: int) -> bool:
    """Whether the fit on all training rows, at the pace a subsample fit measured (scaled by
    rows, with ``PROBE_MARGIN`` for fits that grow faster than the rows), ends in time."""
    if run.deadline is None:
        return False
    expected = PROBE_MARGIN * probe.seconds * data.n_train / max(1, rows)
    return expected <= run.deadline - time.monotonic()


PROBE_MARGIN = 1.5
