"""``automl.fit``: load plugins, adapt the data, search, refit, return."""

from __future__ import annotations

import inspect
import logging
import secrets
import time
from typing import Any

from automl import (
    console,
    imbalance,
    metrics,
    sample_weights,
    search,
    study_folder,
    threads,
    urls,
)
from automl.budget import Budget
from automl.crossval import describe_validation, family_folds
from automl.dispatch import as_pair, check_iterable_input, choose_task, target_name
from automl.ensemble import choice_note as ensemble_note
from automl.errors import ParameterError, PluginError, StorageError
from automl.final import (
    best_trial,
    enqueue_defaults,
    final_members,
    interrupted_note,
)
from automl.fit_search import Session, run_search
from automl.logs import shown_when_verbose
from automl.objective import SearchRecords, keep_bytes
from automl.plugins import load_registry
from automl.progress import Progress, ticking
from automl.result import FittedResult, Found, Run, Seen, combined
from automl.settings import SETTINGS, FitSettings, docstring, signature
from automl.task import Task, TaskData

log = logging.getLogger(__name__)


@shown_when_verbose  # verbose: automl's INFO lines too, unless the application set up logging
def fit(dataset: Any, target: Any = None, **given: Any) -> FittedResult:
    """Search for the best model for ``dataset`` and return it fitted.

    ``fit(df, target="col")``, ``fit((X, y))`` or ``fit(X, y)``. The search stops after
    ``time_budget`` seconds or when the study holds ``n_trials`` finished trials, whichever
    comes first. ``preset`` ("fast", "medium" = default, "best"; ``automl.settings``) fills
    the time budget, families, validation, ensembling and refit that are not given.
    ``study_name`` names the study in ``storage`` (SQLite at ``studies/studies.db`` by
    default); fitting again with the same name resumes it, and a kept study's model is saved
    to ``studies/<study_name>/model`` (``save``) beside its report (``report``). ``valid``:
    the caller's own validation data (as ``dataset``; no split is made). ``sample_weight``: an
    array or a column name, used in training where a family supports it and in the metric.
    ``metric``: a name, a scikit-learn scorer name or a callable (``automl.make_metric``);
    ``positive_class``: the class binary metrics score (default: the minority class);
    ``class_weight``: "balanced", "none" or {class: weight} (default: searched, none or
    balanced, where the classes are imbalanced; ``automl.imbalance``). Ctrl-C during the
    search ends it, and fit goes on with what was found (``result.summary["interrupted"]``
    says so); Ctrl-C after that aborts. Any other keyword is an option of the task
    (``image_size=32``, say). Its settings (``automl.settings``):
    """
    started = time.monotonic()
    settings = FitSettings.from_call(given)  # every setting checked before the data is read
    check_iterable_input(dataset)
    dataset, target = as_pair(dataset, target)
    reports = bool(settings.report or (settings.report is None and settings.kept))
    saves = bool(settings.save or (settings.save is None and settings.kept))
    # no report or saving to come: the search gets their time
    budget = Budget(settings.time_budget, started=started, reports=reports, saves=saves)
    with search.quiet_optuna():
        session = _open(dataset, target, settings)
    earlier = len(search.finished_trials(session.study)) if session.resumed else 0
    if session.resumed:  # its model is chosen over all of them (automl.trial_outputs)
        log.info(
            "resuming study %r: %d finished trials (the model is chosen over all of the study's "
            "trials; `automl fit --new` starts a new study)",
            session.study_name,
            earlier,
        )
    timings = {"prepare": time.monotonic() - started}
    rows = session.data.n_train
    progress = _progress(settings, started, session.metric.name) if settings.verbose else None
    with (
        session.lock,
        search.quiet_optuna(),
        threads.limit(settings.n_jobs, rows),
        ticking(progress),
    ):
        if not session.resumed:
            enqueue_defaults(session.study, session.families, session.data, settings.n_trials)
        records = SearchRecords(session.metric, keep_bytes=keep_bytes(session.data))
        searched = run_search(session, records, budget, progress, count_existing=True)
        if session.outputs is not None:  # those of trials run meanwhile by workers too
            session.outputs.read_back(session.study, records)
        timings["search"] = searched.seconds
        refit_started = time.monotonic()
        if progress is not None:
            progress.stage("refit" if settings.refit else "final choice")
        best = best_trial(session.study, interrupted=searched.interrupted)
        members, valid_score, holdout_output, refit_note = final_members(
            session.registry,
            session.study,
            best,
            records,
            session.data,
            session.metric,
            device=settings.device,
            seed=settings.seed,
            refit=settings.refit,
            ensemble=settings.ensemble,
            ensemble_size=settings.ensemble_size,
            budget=budget,
        )
        timings["refit"] = time.monotonic() - refit_started
    data = session.data
    refitted = refit_note.startswith(("refitted", "partial"))  # models that saw valid rows
    profile = drift = None
    if data.profile is not None and data.profile_rows is not None:
        from automl.drift import reference_for

        profile = data.profile
        drift = reference_for(
            combined(members), data.target, data.profile_rows, data.x_valid, data.y_train
        )
    found = Found(
        members=members,
        best_trial=best.number,
        valid_score=valid_score,
        refit=refitted,
        metric=session.metric,
        trial_models=records.models,
        holdout_output=holdout_output,
    )
    seen = Seen(
        spec=data.spec,
        features=data.features,
        target=data.target,
        target_name=target_name(dataset, target),
        problem_type_reason=data.problem_type_reason,
        holdout=(data.x_valid, data.y_valid),
        holdout_raw=data.raw_valid if data.raw_valid is not None else data.x_valid,
        profile=profile,
        drift=drift,
    )
    run = Run(
        study=session.study,
        timings={k: round(v, 3) for k, v in timings.items()},
        summary={
            **data.summary,
            "resumed": session.resumed,
            **({"resumed_from": earlier} if session.resumed else {}),
            "preset": settings.preset,
            "refit": refit_note,
            "stopped": searched.stopped
            if searched.interrupted
            else records.stopped or searched.stopped,
            **({"interrupted": interrupted_note(searched.ran)} if searched.interrupted else {}),
            **(
                {"ensemble": ensemble_note(session.metric, valid_score, best.value)}
                if len(members) > 1
                else {}
            ),
        },
        study_name=session.study_name,
        storage=session.url,
        budget={
            "time_budget": settings.time_budget,
            "n_trials": settings.n_trials,
            "max_epochs": data.max_epochs,
            **(budget.plan() if settings.time_budget is not None else {}),
        },
    )
    result = FittedResult(session.task.name, found, seen, run, task_plugin=session.task)
    with ticking(progress):  # the bar moves on through the report and saving
        study_folder.finish(
            result, settings, budget, started, on_stage=progress.stage if progress else None
        )
    if progress is not None:
        progress.finish()
    if settings.verbose:
        console.print_result(result)
    return result


fit.__doc__ = f"{fit.__doc__}\n{docstring()}\n"
fit.__signature__ = signature(  # type: ignore[attr-defined]
    inspect.Parameter("dataset", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Any"),
    inspect.Parameter(
        "target", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation="Any"
    ),
    returns="FittedResult",
)


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
    **given: Any,
) -> int:
    """Run trials into an existing study (a worker): ``n_trials`` more (not a total) or until
    ``time_budget``; no refit. The same data and options as the study's ``fit`` must be given;
    the study's stored settings and fingerprint refuse anything else. Returns the trials this
    call ran."""
    started = time.monotonic()
    if n_trials is None and time_budget is None:
        raise ParameterError("a worker needs n_trials or time_budget")
    settings = FitSettings.build(
        study_name=study_name,
        storage=storage,
        n_trials=n_trials,
        time_budget=time_budget,
        device=device,
        verbose=verbose,
        **given,
    )
    with search.quiet_optuna():
        session = _open(dataset, target, settings, worker=True)
    with session.lock, search.quiet_optuna(), threads.limit(settings.n_jobs):
        if not session.resumed:
            raise StorageError(
                f"study {study_name!r} does not exist in {urls.redact(storage)!r}; start it "
                "with `automl fit` / `automl run` (or automl.fit) first"
            )
        budget = Budget(settings.time_budget, started=started, searches_only=True)
        records = SearchRecords(session.metric, keep_bytes=keep_bytes(session.data))
        searched = run_search(session, records, budget, None, count_existing=False)
    return searched.ran


def _open(dataset: Any, target: Any, settings: FitSettings, *, worker: bool = False) -> Session:
    """Plugins, task, validated data, metric, families and the (new or resumed) study. A
    ``worker`` samples with a seed of its own (drawn at random: workers are not reproducible),
    so that workers started together do not repeat each other's configurations."""
    registry = load_registry(settings.plugins)
    chosen = choose_task(registry, dataset, target, settings.task)
    dataset, valid, weights, valid_weights = sample_weights.take(
        dataset, settings.valid, settings.sample_weight
    )
    extra = {} if valid is None else {"valid": valid}
    if settings.pretrained is not None:  # the task says what the names mean, or refuses them
        extra["pretrained"] = settings.pretrained
    data = chosen.adapt(
        dataset,
        target,
        problem_type=settings.problem_type,
        valid_fraction=settings.valid_fraction,
        seed=settings.seed,
        **extra,
        **settings.task_options,
    )
    sample_weights.attach(data, weights, valid_weights, chosen.name)
    data.class_weight = imbalance.resolve(settings.class_weight, data)
    metric = metrics.resolve(
        settings.metric,
        data.problem_type,
        classes=data.target.classes,
        positive=_positive(settings.positive_class, data),
    )
    if settings.max_epochs is not None:
        data.max_epochs = settings.max_epochs
    named = registry.families(chosen.name, settings.models)
    families = [f for f in named if f.supports(data)]
    if settings.models is not None and len(families) < len(named):  # named: never dropped
        why = [f.why_unsupported(data) for f in named if not f.supports(data)]
        raise PluginError(f"models= names families this data cannot use: {'; '.join(why)}")
    if settings.fast_only:
        families = [f for f in families if f.fast or f.name in data.first_families]
    first = {name: i for i, name in enumerate(data.first_families)}
    families.sort(key=lambda f: first.get(f.name, len(first)))  # stable: the rest keep their order
    if not families:
        raise PluginError(
            f"no model family of task {chosen.name!r} supports {data.problem_type} here"
            f"{' among the fast ones (preset=fast)' if settings.fast_only else ''}"
        )
    folds = family_folds(settings.cv_folds, data, chosen.cv_max_rows, families)
    data.summary["validation"] = describe_validation(folds, data)
    study_name = settings.study_name or search.default_study_name(chosen.name)
    store, url = search.resolve_storage(study_name, settings.storage)
    lock = search.lock_study(url, study_name)
    stored = {
        **{s.name: getattr(settings, s.name) for s in SETTINGS if s.kept},
        "models": [f.name for f in families],
        "max_epochs": data.max_epochs,
        "task_options": settings.task_options,
        "weighted": settings.sample_weight is not None,
    }
    try:
        study, resumed = search.open_study(
            study_name,
            store,
            direction=metric.direction,
            seed=settings.seed,
            max_epochs=data.max_epochs,
            meta={**_study_meta(chosen, data, metric.name), "cv_folds": max(folds.values())},
            settings=stored,
            extra={**settings.study_attrs, "max_epochs": data.max_epochs},
            metric_name=metric.name,
            sampler_seed=secrets.randbits(31) if worker else None,
        )
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    return Session(
        settings=settings,
        registry=registry,
        task=chosen,
        data=data,
        metric=metric,
        families=families,
        study=study,
        study_name=study_name,
        url=url,
        resumed=resumed,
        store=store,
        folds=folds,
        lock=lock,
        outputs=study_folder.trial_outputs(settings, study_name),
    )


def _positive(positive_class: Any, data: TaskData) -> int:
    """The column binary metrics score: ``positive_class``'s, or the minority class (the
    second on a tie; ``automl.imbalance``). The problem type's reason says which, and why."""
    if positive_class is None:
        if data.problem_type != "binary":
            return 1
        index, why = imbalance.default_positive(data)
        data.problem_type_reason = f"{data.problem_type_reason}; {why}"
        return index
    classes = data.target.classes or []
    if data.problem_type != "binary":
        raise ParameterError(
            f"positive_class applies to binary problems; this one is {data.problem_type}"
        )
    matches = [i for i, c in enumerate(classes) if c == positive_class]
    if not matches:
        raise ParameterError(
            f"positive_class={positive_class!r} is not one of the classes {classes}"
        )
    data.problem_type_reason = (
        f"{data.problem_type_reason}; positive class {positive_class!r} (given by positive_class=)"
    )
    return matches[0]


def _progress(settings: FitSettings, started: float, metric_name: str) -> Progress:
    return Progress(
        time_budget=settings.time_budget,
        started=started,
        n_trials=settings.n_trials,
        metric_name=metric_name,
    )


def _study_meta(task: Task, data: TaskData, metric: str) -> dict[str, Any]:
    """What a resumed study must agree on: task, problem type, metric and the data itself."""
    return {
        "task": task.name,
        "problem_type": data.problem_type,
        "metric": metric,
        "data_fingerprint": search.fingerprint(data.x_train, data.y_train, data.x_valid),
    }
