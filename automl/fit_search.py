"""The search as fit runs it: the session fit opens (its data, families and study) and the
search planned around what follows it: the refit of what it would return now
(``automl.budget``) and, on a large table, the last rung (``automl.last_rung``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import TrialState

from automl import last_rung, metrics, orphans, search
from automl.budget import Budget
from automl.final import chosen_members, refit_estimate
from automl.objective import SearchRecords, make_objective
from automl.plugins import Registry
from automl.progress import Progress
from automl.settings import FitSettings
from automl.task import Task, TaskData
from automl.trial_attrs import LAST_RUNG_OF, LAST_RUNG_ROWS, TIEBREAK
from automl.trial_outputs import TrialOutputs


@dataclass
class Session:
    """One fit's plugins, task, data, metric, families and study, with its settings."""

    settings: FitSettings
    registry: Registry
    task: Task
    data: TaskData
    metric: metrics.Metric
    families: list[Any]
    study: Any
    study_name: str
    url: str | None
    resumed: bool
    store: Any = None  # the storage object the study lives in
    folds: dict[str, int] = field(default_factory=dict)
    lock: Any = field(default_factory=contextlib.nullcontext)  # held while the fit runs
    outputs: TrialOutputs | None = None  # where the trials' validation outputs are kept


def run_search(
    session: Session,
    records: SearchRecords,
    budget: Budget,
    progress: Progress | None,
    *,
    count_existing: bool,
) -> search.Searched:
    """Seconds spent, trials this process finished and whether Ctrl-C ended it. The search
    ends in time for what comes after it: after every trial the refit of what the search would
    return now (the best trial, or the greedy ensemble of the trials so far, members of most
    weight first) is planned from their measured training times (``automl.budget``), which
    moves the search's deadline; on a large table, so is the last rung, which ends the search
    when its time runs out (``automl.last_rung``)."""
    settings = session.settings
    objective = make_objective(
        session.data,
        session.families,
        session.metric,
        device=settings.device,
        seed=settings.seed,
        deadline=budget.search_deadline,
        records=records,
        folds=session.folds,
        on_step=None if progress is None else progress.tick,
    )
    callbacks = list(settings.callbacks)
    if session.outputs is not None:  # kept for a resumed fit; those of earlier runs read back
        callbacks.append(session.outputs.recorder(records))
        if count_existing:
            session.outputs.read_back(session.study, records)
    rung = last_rung.applies(session.data, budget)
    callbacks[:0] = _plans(session, records, budget, rung)
    # on a shared storage, the trials of workers killed meanwhile are failed and retried
    interval = search.HEARTBEAT_INTERVAL if search.shared(session.url) else None
    with orphans.Watch(session.study_name, session.store, interval):
        searched = search.run(
            session.study,
            objective,
            n_trials=settings.n_trials,
            progress=progress,
            stop_at=budget.search_deadline,
            count_existing=count_existing,
            callbacks=callbacks,
        )
        # the search ran out of time (or of time for any family's next fit)
        timed_out = (records.stopped or "").startswith(search.STOPPED_TIME)
        if rung and (searched.stopped == search.STOPPED_TIME or timed_out):
            searched = _last_rung(
                session, objective, records, budget, progress, callbacks, searched
            )
        return searched


def _plans(
    session: Session, records: SearchRecords, budget: Budget, rung: bool
) -> list[Callable[[Any, Any], None]]:
    """The callbacks that plan, after every trial, what the search keeps time for: the refit
    of what it would return now (``automl.budget``) and the last rung (``automl.last_rung``)."""
    settings = session.settings
    plans: list[Callable[[Any, Any], None]] = []
    families = {f.name: f for f in session.families}
    if rung:

        def plan_last_rung(study: Any, _trial: Any) -> None:
            if not budget.last_rung_started:
                chosen = last_rung.choose(study, session.data, families, budget)
                budget.last_rung_planned = 0.0 if chosen is None else chosen.seconds

        plans.append(plan_last_rung)
    if settings.refit and budget.seconds is not None:

        def plan(study: Any, _trial: Any) -> None:
            best = search.best_trial(study, TIEBREAK)
            if best is None:
                return
            if not records.outputs:  # no trial's outputs known (none kept of earlier runs)
                budget.plan_refit([refit_estimate(best, session.data)])
                return
            chosen, _ = chosen_members(
                study,
                best,
                records,
                session.metric,
                refit=True,
                ensemble=settings.ensemble,
                ensemble_size=settings.ensemble_size,
            )
            by_weight = sorted(chosen, key=lambda c: -c[1])  # the order partial refits take
            budget.plan_refit([refit_estimate(t, session.data) for t, _ in by_weight])

        plans.append(plan)  # after the last rung's plan: the refit gets what it leaves
    return plans


def _last_rung(  # noqa: PLR0913
    session: Session,
    objective: Any,
    records: SearchRecords,
    budget: Budget,
    progress: Progress | None,
    callbacks: list[Any],
    searched: search.Searched,
) -> search.Searched:
    """The search's last trial (``automl.last_rung``): the configuration chosen of its best
    trials on more rows (all, or as many as its time allows), in the time kept for it."""
    families = {f.name: f for f in session.families}
    chosen = last_rung.choose(session.study, session.data, families, budget)
    budget.last_rung_started = True  # the search's deadline now includes the time kept
    if chosen is None or budget.last_rung_planned <= 0:
        return searched
    session.study.enqueue_trial(
        dict(chosen.trial.params),
        user_attrs={LAST_RUNG_OF: chosen.trial.number, LAST_RUNG_ROWS: chosen.rows},
    )
    # the trials queued before it (the families' defaults not yet run) are popped first
    queued = session.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    records.last_rung_of = chosen.trial.number
    try:
        more = search.run(
            session.study,
            objective,
            n_trials=len(queued),
            progress=progress,
            stop_at=budget.search_deadline,
            count_existing=False,
            callbacks=callbacks,
        )
    finally:
        records.last_rung_of = None
    return search.Searched(
        searched.seconds + more.seconds,
        searched.ran + more.ran,
        more.interrupted,
        more.stopped if more.interrupted else searched.stopped,
    )
