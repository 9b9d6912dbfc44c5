"""``automl.fit``: load plugins, adapt the data, search, refit, return."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl import metrics, options, search
from automl.crossval import describe_validation, family_folds
from automl.ensemble import select as select_ensemble
from automl.errors import DataError, PluginError, SearchError
from automl.objective import (
    REASON,
    TIEBREAK,
    SearchRecords,
    effective_params,
    make_objective,
    train_candidate,
)
from automl.plugins import Registry, load_registry
from automl.result import FittedResult, Member
from automl.task import Task, TaskData

DEFAULT_TIME_BUDGET = 120.0


def fit(
    dataset: Any,
    target: Any = None,
    *,
    task: str | None = None,
    problem_type: str | None = None,
    metric: str | None = None,
    time_budget: float | None = None,
    n_trials: int | None = None,
    study_name: str | None = None,
    storage: Any = None,
    seed: int = 0,
    device: str = "auto",
    verbose: bool = True,
    models: Iterable[str] | None = None,
    plugins: Iterable[Any] | None = None,
    valid_fraction: float = 0.2,
    cv_folds: int | str = "auto",
    max_epochs: int | None = None,
    refit: bool = True,
    ensemble: bool = True,
    report: bool | None = None,
    callbacks: list[Any] | None = None,
    study_attrs: dict[str, Any] | None = None,
    **task_options: Any,
) -> FittedResult:
    """Search for the best model for ``dataset`` and return it fitted.

    The search stops after ``time_budget`` seconds or when the study holds ``n_trials`` finished
    trials, whichever comes first (120 s when neither is given). ``study_name`` names the study in
    ``storage`` (SQLite at ``studies/studies.db`` by default); fitting again with the
    same name resumes it. ``cv_folds`` scores trials by k-fold cross-validation over
    train+valid instead of on the validation split ("auto": 5 folds for data sets no larger
    than the task's ``cv_max_rows``, or than a family's own, for that family's trials; 0:
    never). ``models`` restricts the search to the named
    model families, ``plugins`` to the named plugins. ``report`` writes
    ``studies/<study_name>/report.html`` (default: whenever the study is kept, i.e. not
    ``storage=":memory:"``); ``callbacks`` are Optuna study callbacks called after each trial.
    See README.md.
    """
    started = time.monotonic()
    options.check_budget(time_budget, n_trials)
    options.check_flags(verbose=verbose, refit=refit, ensemble=ensemble)
    seed = options.check_seed(seed)
    max_epochs = options.check_max_epochs(max_epochs)
    valid_fraction = options.check_valid_fraction(valid_fraction)
    study_name = options.check_study_name(study_name)
    models, plugins = options.names("models", models), options.names("plugins", plugins)
    options.check_device(device)
    check_iterable_input(dataset)
    dataset, target = as_pair(dataset, target)
    if time_budget is None and n_trials is None:
        time_budget = DEFAULT_TIME_BUDGET
    with search.quiet_optuna():
        session = _open(
            dataset,
            target,
            task=task,
            problem_type=problem_type,
            metric=metric,
            study_name=study_name,
            storage=storage,
            seed=seed,
            models=models,
            plugins=plugins,
            valid_fraction=valid_fraction,
            cv_folds=cv_folds,
            max_epochs=max_epochs,
            study_attrs=study_attrs,
            task_options=task_options,
        )
    with session.lock, search.quiet_optuna():
        if not session.resumed:
            _enqueue_defaults(session.study, session.families, session.data, n_trials)
        records = SearchRecords(session.metric)
        search_seconds, _ = _search(
            session,
            records,
            started,
            time_budget,
            n_trials,
            device,
            verbose=verbose,
            count_existing=True,
            callbacks=callbacks,
        )
        refit_started = time.monotonic()
        best = _best_trial(session.study)
        members, valid_score, holdout_output = _final_members(
            session.registry,
            session.study,
            best,
            records,
            session.data,
            session.metric,
            device=device,
            seed=seed,
            refit=refit,
            ensemble=ensemble,
        )
    timings = {
        "search": round(search_seconds, 3),
        "refit": round(time.monotonic() - refit_started, 3),
        "total": round(time.monotonic() - started, 3),
    }
    data = session.data
    result = FittedResult(
        task=session.task.name,
        members=members,
        spec=data.spec,
        features=data.features,
        target=data.target,
        metric=session.metric,
        problem_type_reason=data.problem_type_reason,
        study=session.study,
        best_trial=best.number,
        valid_score=valid_score,
        refit=refit,
        timings=timings,
        summary={**data.summary, "resumed": session.resumed},
        study_name=session.study_name,
        storage=session.url,
        holdout=(data.x_valid, data.y_valid),
    )
    result.holdout_output = holdout_output
    result.holdout_raw = data.raw_valid if data.raw_valid is not None else data.x_valid
    if data.profile is not None and data.profile_rows is not None:
        from automl.drift import reference_for

        result.profile = data.profile
        result.drift = reference_for(result, data.profile_rows, data.x_valid, data.y_train)
    result.budget = {
        "time_budget": time_budget,
        "n_trials": n_trials,
        "max_epochs": data.max_epochs,
    }
    if report or (report is None and storage != search.MEMORY):
        _write_report(result, verbose)
    if verbose:
        _print_summary(result)
    return result


def _write_report(result: FittedResult, verbose: bool) -> None:
    """The report is a by-product: a failure to write it warns, it never loses the result."""
    import warnings
    from pathlib import Path

    path = Path(search.DEFAULT_STUDIES_DIR) / result.study_name / "report.html"
    started = time.monotonic()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        result.report_path = result.report(str(path))
    except OSError as exc:
        warnings.warn(f"could not write the report {path}: {exc}", stacklevel=3)
        return
    result.timings["report"] = round(time.monotonic() - started, 3)
    if verbose:
        print(f"report: {result.report_path}")


def run_trials(
    dataset: Any,
    target: Any = None,
    *,
    study_name: str,
    storage: Any,
    n_trials: int | None = None,
    time_budget: float | None = None,
    device: str = "auto",
    verbose: bool = False,
    **settings: Any,
) -> int:
    """Run trials into an existing study (a worker): ``n_trials`` more (not a total) or until
    ``time_budget``; no refit. The same data and options as the study's ``fit`` must be given;
    the study's stored fingerprint refuses anything else. Returns the trials this call ran."""
    started = time.monotonic()
    options.check_budget(time_budget, n_trials)
    options.check_study_name(study_name)
    with search.quiet_optuna():
        session = _open(dataset, target, study_name=study_name, storage=storage, **settings)
    with session.lock, search.quiet_optuna():
        if not session.resumed:
            raise DataError(
                f"study {study_name!r} does not exist in {search.redact(storage)!r}; start it "
                "with `automl fit` / `automl run` (or automl.fit) first"
            )
        _, ran = _search(
            session,
            SearchRecords(session.metric),
            started,
            time_budget,
            n_trials,
            device,
            verbose=verbose,
            count_existing=False,
        )
    return ran


@dataclass
class _Session:
    registry: Registry
    task: Task
    data: TaskData
    metric: metrics.Metric
    families: list[Any]
    study: Any
    study_name: str
    url: str | None
    resumed: bool
    seed: int
    folds: dict[str, int] = field(default_factory=dict)
    lock: Any = field(default_factory=contextlib.nullcontext)  # held while the fit runs


def _open(
    dataset: Any,
    target: Any,
    *,
    task: str | None = None,
    problem_type: str | None = None,
    metric: str | None = None,
    study_name: str | None = None,
    storage: Any = None,
    seed: int = 0,
    models: Iterable[str] | None = None,
    plugins: Iterable[Any] | None = None,
    valid_fraction: float = 0.2,
    cv_folds: int | str = "auto",
    max_epochs: int | None = None,
    study_attrs: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
) -> _Session:
    """Plugins, task, validated data, metric, families and the (new or resumed) study."""
    registry = load_registry(plugins)
    chosen = choose_task(registry, dataset, target, task)
    data = chosen.adapt(
        dataset,
        target,
        problem_type=problem_type,
        valid_fraction=valid_fraction,
        seed=seed,
        **(task_options or {}),
    )
    metric_obj = metrics.resolve(metric, data.problem_type)
    data.metric = metric_obj.name
    if max_epochs is not None:
        data.max_epochs = int(max_epochs)
    families = [f for f in registry.families(chosen.name, models) if f.supports(data)]
    if not families:
        raise PluginError(
            f"no model family of task {chosen.name!r} supports {data.problem_type} here"
        )
    folds = family_folds(cv_folds, data, chosen.cv_max_rows, families)
    data.summary["validation"] = describe_validation(folds, data)
    study_name = study_name or search.default_study_name(chosen.name)
    store, url = search.resolve_storage(study_name, storage)
    lock = search.lock_study(url, study_name)
    settings = {
        "models": [f.name for f in families],
        "seed": seed,
        "valid_fraction": valid_fraction,
        "cv_folds": cv_folds,
        "max_epochs": data.max_epochs,
        "task_options": task_options or {},
    }
    try:
        study, resumed = search.open_study(
            study_name,
            store,
            direction=metric_obj.direction,
            seed=seed,
            max_epochs=data.max_epochs,
            meta={**_study_meta(chosen, data), "cv_folds": max(folds.values())},
            settings=settings,
            extra={**(study_attrs or {}), "max_epochs": data.max_epochs},
            metric_name=metric_obj.name,
        )
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    return _Session(
        registry,
        chosen,
        data,
        metric_obj,
        families,
        study,
        study_name,
        url,
        resumed,
        seed,
        folds,
        lock,
    )


def _search(
    session: _Session,
    records: SearchRecords,
    started: float,
    time_budget: float | None,
    n_trials: int | None,
    device: str,
    *,
    verbose: bool,
    count_existing: bool,
    callbacks: list[Any] | None = None,
) -> tuple[float, int]:
    """Seconds spent and trials this process finished."""
    deadline = None if time_budget is None else started + time_budget
    objective = make_objective(
        session.data,
        session.families,
        session.metric,
        device=device,
        seed=session.seed,
        deadline=deadline,
        records=records,
        folds=session.folds,
    )
    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    return search.run(
        session.study,
        objective,
        time_budget=remaining,
        n_trials=n_trials,
        verbose=verbose,
        metric_name=session.metric.name,
        count_existing=count_existing,
        callbacks=callbacks,
    )


def _study_meta(task: Task, data: TaskData) -> dict[str, Any]:
    """What a resumed study must agree on: task, problem type, metric and the data itself."""
    return {
        "task": task.name,
        "problem_type": data.problem_type,
        "metric": data.metric,
        "data_fingerprint": search.fingerprint(data.x_train, data.y_train, data.x_valid),
    }


def _final_members(
    registry: Registry,
    study: Any,
    best: Any,
    records: SearchRecords,
    data: TaskData,
    metric: metrics.Metric,
    *,
    device: str,
    seed: int,
    refit: bool,
    ensemble: bool,
) -> tuple[list[Member], float, Any]:
    """The model(s) to return, their validation score and validation output (before refit;
    None when a member ran in an earlier process): the best trial's configuration, or a greedy
    ensemble of this search's trials when it beats the best trial on validation."""
    weights, ensemble_score = ({}, metric.worst)
    if ensemble and refit and len(records.outputs) > 1:
        weights, ensemble_score = select_ensemble(records.outputs, records.y, metric)
    if len(weights) > 1 and metric.better(ensemble_score, best.value):
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        chosen = [(by_number[n], w) for n, w in sorted(weights.items())]
        score = ensemble_score
    else:
        chosen, score = [(best, 1)], best.value
    members = []
    for trial, weight in chosen:
        family = registry.models[trial.params["model"]]
        params = effective_params(trial)
        epochs = trial.user_attrs.get("best_epoch", 1)
        if refit:
            outcome = train_candidate(
                family,
                params,
                data,
                metric,
                device=device,
                seed=seed + trial.number,
                refit_epochs=epochs,
            )
        elif records.number == trial.number:
            outcome = records.outcome
        else:  # the best trial ran in an earlier process: train it again, the same way
            outcome = train_candidate(
                family, params, data, metric, device=device, seed=seed + trial.number
            )
        members.append(Member(trial.number, family, params, outcome.predictor, weight, epochs))
    outputs = [records.outputs.get(t.number) for t, _ in chosen]
    holdout_output = None
    if all(o is not None for o in outputs):
        total = sum(w for _, w in chosen)
        holdout_output = sum(w * o for (_, w), o in zip(chosen, outputs)) / total
        holdout_output = holdout_output[-data.n_valid :]  # out-of-fold outputs: train, then valid
    return members, score, holdout_output


def as_pair(dataset: Any, target: Any) -> tuple[Any, Any]:
    """``fit(X, y)`` as scikit-learn and FLAML users call it: a ``target`` that holds one label
    per row (not a column name) is the y of an ``(X, y)`` pair, for every task."""
    if target is None or isinstance(target, (str, bytes, tuple)) or isinstance(dataset, tuple):
        return dataset, target
    if isinstance(dataset, str) or not hasattr(dataset, "__len__"):
        return dataset, target
    try:
        labels = np.ndim(target) >= 1 and len(target) == len(dataset)
    except TypeError:
        return dataset, target
    return ((dataset, target), None) if labels else (dataset, target)


def describe_value(value: Any) -> str:
    """A short description for messages: never a whole array."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    shape = getattr(value, "shape", None)
    size = f" of shape {tuple(shape)}" if shape is not None else ""
    if not size and hasattr(value, "__len__"):
        size = f" of {len(value)} items"
    return f"a {type(value).__name__}{size}"


def check_iterable_input(dataset: Any) -> None:
    """A generator (or any one-pass iterator) of rows, texts or images cannot be split, sniffed
    and read again at predict time: ask for a list."""
    parts = dataset if isinstance(dataset, tuple) else (dataset,)
    for part in parts:
        if isinstance(part, Iterator):
            raise DataError(
                f"the data is a one-pass {type(part).__name__}: pass a list (list(...)), an "
                "array or a DataFrame, so it can be split and read more than once"
            )


def choose_task(registry: Registry, dataset: Any, target: Any, task: str | None) -> Task:
    """The named task, or the loaded task that accepts this input best."""
    if task is not None:
        return registry.task(task)
    scores = {name: t.accepts(dataset, target) for name, t in registry.tasks.items()}
    name, best = max(scores.items(), key=lambda kv: kv[1], default=(None, 0.0))
    if not best:
        accepted = "; ".join(t.describe_input() for t in registry.tasks.values()) or "none"
        raise DataError(
            f"no loaded plugin accepts input of type {type(dataset).__name__}"
            f"{'' if target is None else f' with target={describe_value(target)}'}. "
            f"Accepted: {accepted}"
        )
    return registry.tasks[name]


def _enqueue_defaults(
    study: Any, families: list[Any], data: TaskData, n_trials: int | None
) -> None:
    """Each family's default configuration is tried first, in registration order, each followed
    by the family's further starting configurations; an ``n_trials`` too small for all of them
    keeps the first of each family."""
    first = [(f, f.default_params(data)) for f in families]
    first = [(f, p) for f, p in first if p is not None]
    defaults = [(f, q) for f, p in first for q in (p, *f.more_defaults(data))]
    if n_trials is not None and n_trials < len(defaults):
        defaults = first[:n_trials]
    for family, params in defaults:
        study.enqueue_trial({"model": family.name, **params}, skip_if_exists=True)


def _best_trial(study: Any) -> Any:
    best = search.best_trial(study, TIEBREAK)
    if best is not None:
        return best
    trials = search.finished_trials(study)
    if not trials:
        raise SearchError(
            "the search finished no trial within its budget: give a larger time_budget"
        )
    reasons = Counter(
        (t.state.name.lower(), t.user_attrs.get(REASON, "no reason recorded").split(":")[0])
        for t in trials
    )
    summary = "; ".join(f"{n} {state} ({why})" for (state, why), n in reasons.most_common())
    examples = "; ".join(f"trial {t.number}: {t.user_attrs.get(REASON, '?')}" for t in trials[:3])
    raise SearchError(f"no trial completed: {summary}. First reasons: {examples}")


def _print_summary(result: FittedResult) -> None:
    print(
        f"chosen: {result.describe()} {result.metric}={result.valid_score:.4f} on validation "
        f"(best trial {result.best_trial}); "
        f"problem type {result.problem_type} ({result.problem_type_reason}); "
        f"search {result.timings['search']:.1f}s, refit {result.timings['refit']:.1f}s"
    )
