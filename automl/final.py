"""What a search hands back: the default configurations tried first, the best trial, and the
model(s) returned (the best configuration or a greedy ensemble, refitted or not)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from automl import metrics, search
from automl.budget import Budget, refit_seconds, trial_fit_seconds
from automl.ensemble import choose as choose_ensemble
from automl.errors import SearchError
from automl.imbalance import PARAM
from automl.objective import SearchRecords, effective_params, train_candidate
from automl.plugins import Registry
from automl.result import Member
from automl.row_rungs import refit_rows, refit_size
from automl.task import TaskData
from automl.trial_attrs import REASON, TIEBREAK


def enqueue_defaults(
    study: Any, families: list[Any], data: TaskData, n_trials: int | None
) -> None:
    """Each family's default configuration is tried first, in registration order, each followed
    by the family's further starting configurations; an ``n_trials`` too small for all of them
    keeps the first of each family. Where class_weight is searched (``automl.imbalance``), they
    are unweighted, and the first family's default is tried balanced after them."""
    first = [(f, f.default_params(data)) for f in families]
    first = [(f, p) for f, p in first if p is not None]
    defaults = [(f, q) for f, p in first for q in (p, *f.more_defaults(data))]
    if n_trials is not None and n_trials < len(defaults):
        defaults = first[:n_trials]
    if data.class_weight is not None and data.class_weight.searched and defaults:
        # unweighted first, as without the search; then the first family's default balanced
        defaults = [(f, {**p, PARAM: "none"}) for f, p in defaults]
        if n_trials is None or n_trials > len(defaults):
            defaults.append((defaults[0][0], {**defaults[0][1], PARAM: "balanced"}))
    for family, params in defaults:
        study.enqueue_trial({"model": family.name, **params}, skip_if_exists=True)


def best_trial(study: Any, *, interrupted: bool = False) -> Any:
    """The trial the search found best; a SearchError saying why when no trial completed
    (``interrupted``: Ctrl-C ended the search)."""
    best = search.best_trial(study, TIEBREAK)
    if best is not None:
        return best
    if interrupted:
        raise SearchError(
            "the search was interrupted (Ctrl-C) before any trial completed: there is no model "
            "to refit or save (the study keeps its trials; fit it again to resume)"
        )
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


def interrupted_note(ran: int) -> str:
    """What ``result.summary["interrupted"]`` says when Ctrl-C ended the search."""
    return (
        f"Ctrl-C ended the search after {ran} trial(s) of this run; the model was chosen from "
        "the trials finished before it"
    )


def refit_estimate(trial: Any, data: TaskData) -> float:
    """Seconds the refit of ``trial`` on train+valid is expected to take, from its own training
    time less its validation predictions (``scoring_seconds``; a refit makes none): per fit (a
    cross-validated trial reports the sum of its folds), for the epochs the refit trains (its
    best epoch, of those it ran) or the trees it grows (all, where the deadline let the trial
    grow a share of them), on the refit's rows (``trial_refit_rows``)."""
    attrs = trial.user_attrs
    seconds, _ = trial_fit_seconds(attrs)  # a refit makes no validation predictions
    fits = max(1, len(attrs.get("fold_scores") or ()))
    epochs = max(1, int(attrs.get("best_epoch", 1) or 1))
    run = max(epochs, int(attrs.get("epochs_run", 1) or 1))
    rows = int(attrs.get("rows_trained", data.n_train) or data.n_train)
    batches, per_epoch = attrs.get("train_batches"), attrs.get("batches_per_epoch")
    if batches and per_epoch:  # torch: per batch, for best_epoch whole epochs
        per_fit = seconds / fits / batches * per_epoch * epochs
    else:  # (a forest the deadline cut short grows all its trees: ``trial_fit_seconds``)
        per_fit = seconds / fits * epochs / run
    folds = bool(attrs.get("fold_scores"))
    total = data.n_train + data.n_valid
    refit = total if folds else refit_size(rows, data.n_train, data.n_valid)
    return refit_seconds(per_fit, rows, refit)


def trial_refit_rows(trial: Any, data: TaskData, seed: int) -> Any:
    """The rows of train+valid a trial's refit trains on: all (None), or, for a trial that
    trained on a row rung's subsample (``automl.row_rungs``), the same share of them."""
    if trial.user_attrs.get("fold_scores"):
        return None
    rows = int(trial.user_attrs.get("rows_trained", data.n_train) or data.n_train)
    return refit_rows(rows, data.n_train, data.n_valid, seed)


def _refits_that_fit(
    chosen: list[tuple[Any, float]], kept: dict[int, Any], data: TaskData, budget: Budget
) -> tuple[set[int], str]:
    """The chosen trials to refit on train+valid, and what was done, in words: all of them when
    their expected refits fit in the time left (or when a member's trial model is not in this
    process); else the members of most weight whose refits fit, the others keeping their trial
    models; else none."""
    costs = {t.number: refit_estimate(t, data) for t, _ in chosen}
    if budget.refit_fits(sum(costs.values())) or any(n not in kept for n in costs):
        return set(costs), "refitted on train + validation"
    room = max(0.0, budget.refit_room())
    why = f"the whole refit was expected to take {sum(costs.values()):.0f} s and {room:.0f} s "
    why += "of the time budget were left before the report and saving"
    chosen_refits: set[int] = set()
    spent = 0.0
    for trial, _ in sorted(chosen, key=lambda c: -c[1]):
        if budget.refit_fits(spent + costs[trial.number]):
            chosen_refits.add(trial.number)
            spent += costs[trial.number]
    if chosen_refits:
        shown = ", ".join(str(n) for n in sorted(chosen_refits))
        return chosen_refits, (
            f"partial: {len(chosen_refits)} of {len(chosen)} ensemble members refitted on train + "
            f"validation (trials {shown}); the others keep their trial models (trained on the "
            f"training split): {why}"
        )
    return set(), (
        f"skipped: {why}; the trial model(s), trained on the training split as the search "
        "scored them, are returned"
    )


def chosen_members(
    study: Any,
    best: Any,
    records: SearchRecords,
    metric: metrics.Metric,
    *,
    refit: bool,
    ensemble: bool,
    ensemble_size: tuple[int, int] = (12, 25),
) -> tuple[list[tuple[Any, int]], float]:
    """The trials the search would return now, with their weights (in trial order), and their
    validation score: a greedy ensemble when it beats the best trial (``ensemble.choose``),
    else the best trial."""
    weights: dict[int, int] = {}
    kept = records.models
    if ensemble and len(records.outputs) > 1 and (refit or len(kept) > 1):
        top_k, rounds = ensemble_size
        outputs = records.outputs
        if not refit:  # an ensemble of trial models: of those kept in memory
            outputs = {n: o for n, o in outputs.items() if n in kept}
        weights, score = choose_ensemble(
            outputs,
            records.y,
            metric.weighted(records.w),
            (best.value, records.outputs.get(best.number)),
            top_k=top_k,
            rounds=rounds,
        )
    if len(weights) > 1:
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        return [(by_number[n], w) for n, w in sorted(weights.items())], score
    return [(best, 1)], best.value


def final_members(  # noqa: PLR0913
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
    ensemble_size: tuple[int, int] = (12, 25),
    budget: Budget | None = None,
) -> tuple[list[Member], float, Any, str]:
    """The model(s) to return, their validation score, validation output (before refit; None
    when a member ran in an earlier process) and what was done about the refit, in words: the
    best trial's configuration, or a greedy ensemble of this search's trials when it beats the
    best trial on validation.

    Under a ``budget``, a refit is run only when its expected time (``refit_estimate``) fits
    in what is left before the report and saving; otherwise the trial models (trained on the
    training split, as the search scored them) are returned, and the words say so. A torch
    refit that the deadline stops anyway is dropped for its trial model the same way."""
    budget = budget or Budget(None)
    kept = records.models
    chosen, score = chosen_members(
        study, best, records, metric, refit=refit, ensemble=ensemble, ensemble_size=ensemble_size
    )
    refit_note = "not asked (refit=False): the trial model(s) trained on the training split"
    to_refit: set[int] = set()
    if refit:
        to_refit, refit_note = _refits_that_fit(chosen, kept, data, budget)
    members = []
    for trial, weight in chosen:
        family = registry.models[trial.params["model"]]
        params = effective_params(trial)
        epochs = trial.user_attrs.get("best_epoch", 1)
        predictor = None
        if trial.number in to_refit:
            outcome = train_candidate(
                family,
                params,
                data,
                metric,
                device=device,
                seed=seed + trial.number,
                refit_epochs=epochs,
                rows=trial_refit_rows(trial, data, seed + trial.number),
                deadline=budget.refit_deadline(),
                schedule_epochs=trial.user_attrs.get("schedule_epochs"),
            )
            predictor = outcome.predictor
            if outcome.stopped_by == "time_budget" and trial.number in kept:
                predictor = kept[trial.number]
                refit_note = (
                    f"stopped: the time budget ran out during the refit of trial {trial.number}"
                    "; its trial model (trained on the training split) is returned"
                )
        elif trial.number in kept:
            predictor = kept[trial.number]
        elif records.number == trial.number:
            predictor = records.outcome.predictor
        else:  # the best trial ran in an earlier process: train it again, the same way
            outcome = train_candidate(
                family, params, data, metric, device=device, seed=seed + trial.number
            )
            predictor = outcome.predictor
        members.append(Member(trial.number, family, params, predictor, weight, epochs))
    outputs = [records.outputs.get(t.number) for t, _ in chosen]
    holdout_output = None
    if all(o is not None for o in outputs):
        total = sum(w for _, w in chosen)
        holdout_output = sum(w * o for (_, w), o in zip(chosen, outputs)) / total
        holdout_output = holdout_output[-data.n_valid :]  # out-of-fold outputs: train, then valid
    return members, score, holdout_output, refit_note
