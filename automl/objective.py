"""One candidate: build a family's model for a set of params, train it, report and prune.

Faults stay inside their trial: NaN loss prunes it, an error its model kind can recover from
(``ModelKind.retry``: CUDA out-of-memory, at half the batch size) retries it once, any other
error fails it with the reason in its user attributes. The kind seeds each build, and gives
back what it cached on the device after each trial (``ModelKind.seed``, ``release``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from automl import imbalance, kinds, orphans
from automl.crossval import Folds
from automl.kinds import FitOptions, Split, object_nbytes
from automl.metrics import METRICS, Metric
from automl.predictors import FeaturizedPredictor
from automl.row_rungs import RowRungs, climb, last_rung_note, last_rung_skipped
from automl.task import ModelFamily, TaskData
from automl.training import NonFiniteLoss, StoppedUnscored, TrainOutcome, reports_per_epoch
from automl.trial_attrs import LAST_RUNG_OF, LAST_RUNG_ROWS, NOTE, REASON, TIEBREAK
from automl.trial_starts import (
    rows_that_fit,
    start_if_it_fits,
    start_in_time,
    start_or_skip,
    trial_deadline,
    whole_fits,
)


def train_candidate(  # noqa: PLR0913
    family: ModelFamily,
    params: dict[str, Any],
    data: TaskData,
    metric: Metric,
    *,
    device: Any,
    seed: int,
    on_epoch: Callable[[int, float], None] | None = None,
    deadline: float | None = None,
    refit_epochs: int | None = None,
    reports: int = 1,
    rows: np.ndarray | None = None,
    score_partial: bool = True,
    schedule_epochs: float | None = None,
) -> TrainOutcome:
    """Train one configuration on the training split (or on its ``rows`` only: a subsample
    rung), or (``refit_epochs`` given) on train+valid (or its ``rows`` only: positions in the
    training rows, then the validation rows) for exactly that many epochs, without a
    validation split. ``reports``: pruner reports per epoch; ``score_partial``: see
    ``train_torch`` (torch); ``schedule_epochs``: the LR schedule's length (a refit replays the
    one its trial's deadline shortened; default the task's ``max_epochs``). The outcome's
    ``seconds`` include the featurizer's fit and transforms (a TF-IDF vocabulary of 54,000
    texts costs more than the linear model after it): refits and uninterruptible fits are
    planned from them."""
    started = time.perf_counter()
    w_train, w_valid = data.w_train, data.w_valid
    if refit_epochs is None:
        x_train, y_train, x_valid, y_valid = data.x_train, data.y_train, data.x_valid, data.y_valid
        if rows is not None:
            x_train, y_train = x_train[rows], y_train[rows]
            w_train = None if w_train is None else w_train[rows]
    else:
        x_train, y_train, w_train = _train_and_valid(data, rows)
        x_valid = y_valid = w_valid = None
    if data.class_weight is not None:  # fit(class_weight=...), or the trial's searched one
        w_train = imbalance.weigh(w_train, y_train, data.class_weight.choice(params))
    featurizer = family.featurizer(params, data)
    spec = data.spec
    if featurizer is not None:  # family-specific input (a tokenizer, say), fitted on x_train
        featurizer.fit(x_train, y_train)
        x_train = featurizer.transform(x_train)
        x_valid = None if x_valid is None else featurizer.transform(x_valid)
        spec = featurizer.spec(spec)
    kind = kinds.of(family)
    kind.seed(seed)  # the initial weights too depend on the seed alone
    model = family.build(params, spec)
    options = FitOptions(
        device=device,
        seed=seed,
        on_epoch=on_epoch,
        deadline=deadline,
        refit_epochs=refit_epochs,
        reports=reports,
        score_partial=score_partial,
        schedule_epochs=schedule_epochs,
    )
    split = Split(x_train, y_train, x_valid, y_valid, w_train)
    outcome = kind.train(family, model, params, data, metric.weighted(w_valid), split, options)
    if featurizer is not None:
        outcome.predictor = FeaturizedPredictor(featurizer, outcome.predictor, spec)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _train_and_valid(data: TaskData, rows: np.ndarray | None) -> tuple[Any, Any, Any]:
    """Inputs, targets and weights of train+valid (of its ``rows`` only), taken from each
    split without a copy of the whole table first."""
    if rows is None:
        train, valid = slice(None), slice(None)
    else:
        train, valid = rows[rows < data.n_train], rows[rows >= data.n_train] - data.n_train
    weights = data.w_train is not None
    return (
        np.concatenate([data.x_train[train], data.x_valid[valid]]),
        np.concatenate([data.y_train[train], data.y_valid[valid]]),
        np.concatenate([data.w_train[train], data.w_valid[valid]]) if weights else None,
    )


@dataclass
class SearchRecords:
    """What this process keeps of its trials: each completed trial's validation output (for the
    ensemble; out-of-fold outputs on every row under cross-validation, whose targets are ``y``
    and weights ``w``), the trained model of the best one (for ``refit=False``), and the
    trained models of the best trials within ``KEEP_MODELS`` and ``keep_bytes`` (for
    ``result.predict(X, model=n)`` and ``result.leaderboard(X, y)``; trained on the training
    split, as the trial scored them)."""

    metric: Metric
    outputs: dict[int, np.ndarray] = field(default_factory=dict)
    y: np.ndarray | None = None
    w: np.ndarray | None = None
    number: int | None = None
    score: float = float("nan")
    outcome: TrainOutcome | None = None
    models: dict[int, Any] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)
    # seconds per training row of each family's fits so far (uninterruptible fits are not
    # started when their expected cost is more than the time left)
    pace: dict[str, list[float]] = field(default_factory=dict)
    # seconds a trial of the family had when it ended no part of an epoch (StoppedUnscored)
    too_slow: dict[str, float] = field(default_factory=dict)
    # the trial the last rung repeats, while the trials queued before its own are not started
    last_rung_of: int | None = None
    stopped: str | None = None  # why a trial stopped the search (``summary["stopped"]``)
    keep_bytes: int = 0  # the kept models' bytes at most (``keep_bytes(data)``; 0: KEEP_BYTES)

    def __post_init__(self) -> None:
        self.keep_bytes = self.keep_bytes or KEEP_BYTES

    def expected_seconds(self, family: str, rows: int) -> float | None:
        """The family's next fit on ``rows`` rows at its recent pace: the median of its last
        ``PACE_WINDOW`` fits, so that a machine that got busy during the search (or idle) is
        seen within a few trials, not outvoted by the pace of its start."""
        seen = self.pace.get(family)
        return None if not seen else float(np.median(seen[-PACE_WINDOW:])) * rows

    def add(self, number: int, outcome: TrainOutcome, valid_output: np.ndarray | None) -> None:
        """Keep a finished trial (``valid_output`` None: its outputs do not cover every row,
        so it joins no ensemble)."""
        if valid_output is not None:
            self.outputs[number] = valid_output
        _to_host(outcome.predictor)  # device memory goes back to baseline between trials
        if self.outcome is None or self.metric.better(outcome.score, self.score):
            self.number, self.score, self.outcome = number, outcome.score, outcome
        self._keep(number, outcome)

    def _keep(self, number: int, outcome: TrainOutcome) -> None:
        self.models[number] = outcome.predictor
        self.scores[number] = outcome.score
        self.sizes[number] = model_bytes(outcome.predictor)
        sign = -1 if self.metric.direction == "maximize" else 1
        while len(self.models) > KEEP_MODELS or sum(self.sizes.values()) > self.keep_bytes:
            worst = max(self.models, key=lambda n: (sign * self.scores[n], n))
            for table in (self.models, self.scores, self.sizes):
                del table[worst]


PACE_WINDOW = 3  # the fits a family's expected pace is taken from (its latest)
KEEP_MODELS = 20  # trial models a result keeps for predict(model=n) and leaderboard(X, y)
KEEP_BYTES = 512 * 2**20  # the kept models' bytes at most: on a large table, less (keep_bytes)
KEEP_FLOOR = 128 * 2**20


def keep_bytes(data: TaskData) -> int:
    """The bytes the kept trial models may take: twice the training and validation inputs',
    within ``KEEP_FLOOR``..``KEEP_BYTES``. On a 1,000,000-row table (52 MB of inputs) two
    forests cut short at 50 and 60 trees, neither among the best third, were kept: 190 MB of
    the fit's peak memory for models no ensemble used."""
    inputs = sum(int(getattr(x, "nbytes", 0) or 0) for x in (data.x_train, data.x_valid))
    return min(KEEP_BYTES, max(KEEP_FLOOR, 2 * inputs))


def model_bytes(predictor: Any) -> int:
    """About how much memory a trained model holds: torch parameters and buffers, or the
    arrays and strings a scikit-learn estimator (and a featurizer) holds."""
    size = object_nbytes(getattr(predictor, "featurizer", None))
    kind, inner = kinds.of_predictor(predictor)
    return size + kind.nbytes(inner)


def _to_host(predictor: Any) -> None:
    kind, inner = kinds.of_predictor(predictor)
    kind.to_host(inner)


@dataclass
class TrialRun:
    """What every fit of one trial shares: the trial, its family and params, and how it may
    run (device, seed, the pruner's callback, the deadline, reports per epoch)."""

    trial: optuna.Trial
    family: ModelFamily
    params: dict[str, Any]
    metric: Metric
    device: Any
    seed: int
    on_report: Callable[[int, float], None] | None
    deadline: float | None
    reports: int = 1
    score_partial: bool = True  # a trial stopped in its first epoch is scored (else pruned)

    def train(self, data: TaskData, *, first: bool = True, rows: Any = None) -> TrainOutcome:
        """Train on ``data`` (its ``rows`` only, when given); only the ``first`` fit of a
        trial reports to the pruner. An error the family's kind can recover from (CUDA
        out-of-memory) retries once, with the params the kind says (half the batch size); the
        trial records why and each param it changed (``<name>_used``)."""
        kwargs = {
            "device": self.device,
            "seed": self.seed,
            "on_epoch": self.on_report if first else None,
            "deadline": self.deadline,
            "reports": self.reports,
            "rows": rows,
            "score_partial": self.score_partial,
        }
        try:
            return train_candidate(self.family, self.params, data, self.metric, **kwargs)
        except Exception as exc:
            retry = kinds.of(self.family).retry(exc, self.params)
            if retry is None:
                raise
        for name, value in retry.params.items():
            if self.params.get(name) != value:
                self.trial.set_user_attr(f"{name}{USED}", value)
        self.trial.set_user_attr("oom_retry", retry.why)
        self.params = retry.params
        return train_candidate(self.family, self.params, data, self.metric, **kwargs)

    def train_rows(self, data: TaskData) -> Callable[[Any, bool], TrainOutcome]:
        """``train`` as ``automl.row_rungs.climb`` calls it: (rows, first)."""
        return lambda rows, first: self.train(data, first=first, rows=rows)


USED = "_used"  # the trial attribute of a param a retry changed: batch_size_used


def make_objective(  # noqa: C901, PLR0913, PLR0915
    data: TaskData,
    families: list[ModelFamily],
    metric: Metric,
    *,
    device: Any,
    seed: int,
    deadline: float | Callable[[], float | None] | None,
    records: SearchRecords,
    folds: dict[str, int] | None = None,
    on_step: Callable[[], None] | None = None,
) -> Callable[[optuna.Trial], float]:
    """The study's objective; a family with ``folds[name]`` >= 2 has its trials scored by
    k-fold cross-validation over train+valid (see ``automl.crossval``) instead of on the
    validation split. When only some families are, the ensemble is chosen on the validation
    rows, with the cross-validated trials' out-of-fold outputs there. ``deadline``: when a
    trial must stop (a callable is asked at each trial's start: the search plans it).
    ``on_step()`` runs at every report to the pruner (the progress bar moves)."""
    by_name = {f.name: f for f in families}
    folds = {name: (folds or {}).get(name, 0) for name in by_name}
    k = max(folds.values(), default=0)
    cv = Folds.make(data, k, seed) if k else None
    every = cv is not None and all(folds.values())
    records.y = cv.y if every else data.y_valid
    records.w = cv.w if every else data.w_valid
    worker = orphans.this_worker()
    reports = reports_per_epoch(data.n_train)
    rungs = RowRungs.make(data.n_train, data.row_rungs_from, seed)
    opened = time.monotonic()

    def objective(trial: optuna.Trial) -> float:  # noqa: C901, PLR0915
        trial.set_user_attr(orphans.WORKER, worker)  # a resume can tell if this process died
        family = by_name[trial.suggest_categorical("model", list(by_name))]
        family.suggest(trial, data)
        kinds.of(family).suggest_training(trial)
        if data.class_weight is not None and data.class_weight.searched:
            trial.suggest_categorical(imbalance.PARAM, imbalance.CHOICES)
        params = dict(trial.params)
        trial.set_user_attr("summary", _summary(family, params, data))
        repeats = trial.user_attrs.get(LAST_RUNG_OF)  # the last rung: more rows, its time kept
        if repeats is None and records.last_rung_of is not None:
            trial.set_user_attr(REASON, last_rung_skipped(records.last_rung_of))
            raise optuna.TrialPruned("the last rung runs")

        def on_report(step: int, score: float) -> None:
            trial.report(score, step)
            if on_step is not None:
                on_step()
            if trial.should_prune():
                epochs = step / reports
                trial.set_user_attr("epochs_run", int(np.ceil(epochs)))
                shown = f"{epochs:g}" if reports == 1 else f"{epochs:.2g}"
                trial.set_user_attr(REASON, f"pruned by Hyperband after {shown} epoch(s)")
                raise optuna.TrialPruned(f"step {step}")

        search_until = deadline() if callable(deadline) else deadline
        run = TrialRun(
            trial,
            family,
            params,
            metric,
            device,
            seed + trial.number,
            on_report,
            search_until
            if repeats is not None
            else trial_deadline(search_until, records.number is None),
            reports,
            score_partial=records.number is None,  # the first trial to finish is always scored
        )
        n_folds = folds[family.name]
        allotted = None if run.deadline is None else run.deadline - time.monotonic()
        if repeats is None:  # the last rung starts: the time was kept for it
            start_or_skip(run, records, allotted, by_name)
        if search_until is not None and records.number is not None and repeats is None:
            first_rows = rungs.sizes[0] if rungs.active and not n_folds else data.n_train
            span = search_until - opened
            start_in_time(run, records, by_name, first_rows * max(1, n_folds), allotted, span)
        fits: list[tuple[int, float]] = []
        try:
            rows, rung_note = rows_that_fit(run, data, records, n_folds, rungs)
            if repeats is not None:  # on a rung's rows: all, or as many as its time allows
                rows = rungs.rows_of(int(trial.user_attrs.get(LAST_RUNG_ROWS, data.n_train)))
                outcome = run.train(data, first=False, rows=rows)
                rung_note = last_rung_note(repeats, data.n_train if rows is None else len(rows))
            elif not n_folds and rungs.active:
                start_if_it_fits(run, data, records, rungs.sizes[0])
                climbed = climb(rungs, run.train_rows(data), metric.better, run.deadline)
                outcome, rows, fits, rung_note = climbed
            elif not n_folds:
                outcome = run.train(data, rows=rows)
                if rows is not None and whole_fits(run, data, outcome, len(rows)):
                    # the subsample measured the pace, and the whole fit fits: train on all
                    rows, rung_note, probe = None, "", outcome.seconds
                    outcome = run.train(data, first=False)
                    outcome.seconds += probe
            if not n_folds:  # the validation output: kept by training, or scored now
                valid_output = outcome.valid_output
                if valid_output is None:
                    valid_output = outcome.predictor.output(data.x_valid)
            else:
                outcome, valid_output = _cross_validate(cv, run, data)
                if valid_output is not None and not every:  # valid rows: last of train+valid
                    valid_output = valid_output[data.n_train :]
        except (NonFiniteLoss, StoppedUnscored) as exc:
            if isinstance(exc, StoppedUnscored) and allotted is not None:
                records.too_slow[family.name] = allotted  # no trial of it with less time
            trial.set_user_attr(REASON, str(exc))
            raise optuna.TrialPruned(str(exc)) from None
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(REASON, "interrupted (Ctrl-C): the search stopped during it")
            raise
        except Exception as exc:
            trial.set_user_attr(REASON, f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:
            gc.collect()
            kinds.of(family).release()
        trained = (len(rows) if rows is not None else data.n_train) * max(1, n_folds)
        for size, seconds in fits or [(trained, outcome.seconds)]:
            records.pace.setdefault(family.name, []).append(seconds / max(1, size))
        if rung_note:
            outcome.note = "; ".join(filter(None, [rung_note, outcome.note]))
        # what the refit's cost is planned from (automl.budget): rows of one fit, and the fits
        per_fit = data.n_train if not n_folds else len(cv.splits[0][0])
        per_fit = per_fit if rows is None else len(rows)
        trial.set_user_attr("rows_trained", int(per_fit))
        trial.set_user_attr("best_epoch", outcome.best_epoch)
        trial.set_user_attr("epochs_run", outcome.epochs_run)
        trial.set_user_attr("stopped_by", outcome.stopped_by)
        if outcome.schedule_epochs is not None:
            trial.set_user_attr("schedule_epochs", outcome.schedule_epochs)
        trial.set_user_attr("train_seconds", round(outcome.seconds, 3))
        if outcome.scoring_seconds > 0:  # the validation predictions: no part of a refit
            trial.set_user_attr("scoring_seconds", round(outcome.scoring_seconds, 3))
        if outcome.grown_share < 1.0:  # a forest cut short: its refit grows all its trees
            trial.set_user_attr("grown_share", round(outcome.grown_share, 4))
        if outcome.batches:  # a refit's time is planned per batch (a trial may end mid-epoch)
            trial.set_user_attr("train_batches", outcome.batches)
            trial.set_user_attr("batches_per_epoch", outcome.batches_per_epoch)
        if outcome.note:
            trial.set_user_attr(NOTE, outcome.note)
        if valid_output is not None:  # None: cross-validation cut (scored on its folds done)
            trial.set_user_attr(TIEBREAK, _valid_loss(records.y, valid_output, data, records.w))
        records.add(trial.number, outcome, valid_output)
        return outcome.score

    return objective


def _summary(family: ModelFamily, params: dict[str, Any], data: TaskData) -> str:
    """The leaderboard's words for a configuration: the family's, and its class weights."""
    said = family.describe(params)
    weights = None if data.class_weight is None else data.class_weight.shown(params)
    return ", ".join(filter(None, [said, weights]))


def _cross_validate(
    cv: Folds, run: TrialRun, data: TaskData
) -> tuple[TrainOutcome, np.ndarray | None]:
    """One model per fold; only the first fold reports to the pruner, and torch models stop
    early on a share of the fold's fit rows, not on its holdout. Returns the first fold's
    outcome, scored on all out-of-fold outputs (``best_epoch``: the folds' mean; ``seconds``: their
    sum), and those outputs.

    Under a deadline, the folds are cut when those done say the rest would end more than
    CV_SLACK of the trial's time past it (a fold's featurizer or solver that cannot stop, on a
    busy machine): the first trial to finish is then scored on the folds done, with no outputs
    returned (None: they do not cover every row, so it joins no ensemble), and a later trial
    is not scored (``StoppedUnscored``)."""
    outcomes, oof = [], None
    inner = kinds.of(run.family).early_stopping_share
    whole, k = run.deadline, len(cv.splits)
    began = time.monotonic()
    covered: list[np.ndarray] = []
    for i in range(k):
        if whole is not None:  # each fold to come gets an equal share of the time left
            now = time.monotonic()
            run.deadline = now + max(0.0, whole - now) / (k - i)
        outcome = run.train(cv.fold(data, i, inner=inner), first=i == 0)
        rows, x_hold = cv.holdout(i)
        output = outcome.valid_output  # the fold's valid rows are its holdout: predicted once
        output = outcome.predictor.output(x_hold) if inner or output is None else output
        if oof is None:
            oof = np.zeros((len(cv.y), *output.shape[1:]), dtype=np.float64)
        oof[rows] = output
        covered.append(rows)
        outcomes.append(outcome)
        if i:
            _to_host(outcome.predictor)
        if whole is not None and i + 1 < k and _folds_overrun(began, whole, i + 1, k):
            break
    run.deadline = whole
    run.trial.set_user_attr("fold_scores", [round(float(o.score), 6) for o in outcomes])
    first = outcomes[0]
    first.note = "; ".join(f"fold {i}: {o.note}" for i, o in enumerate(outcomes) if o.note)
    first.best_epoch = max(1, round(float(np.mean([o.best_epoch for o in outcomes]))))
    first.seconds = sum(o.seconds for o in outcomes)
    assert oof is not None
    if len(outcomes) < k:
        done, spent = len(outcomes), time.monotonic() - began
        why = (
            f"cross-validation cut after {done} of {k} folds: they took {spent:.1f} s, and the "
            f"other {k - done} would have ended past the trial's deadline"
        )
        if not run.score_partial:
            raise StoppedUnscored(why)
        rows = np.concatenate(covered)
        w = None if cv.w is None else cv.w[rows]
        first.score = float(run.metric(cv.y[rows], oof[rows], w))
        scored = f"{why}; scored on their {len(rows)} rows"
        first.note = "; ".join(filter(None, [scored, first.note]))
        return first, None
    first.score = float(run.metric(cv.y, oof, cv.w))
    return first, oof


# folds are cut when the rest, at the pace of those done, would end more than this share of the
# trial's time after its deadline
CV_SLACK = 0.25


def _folds_overrun(began: float, deadline: float, done: int, k: int) -> bool:
    now = time.monotonic()
    pace = (now - began) / done
    return now + pace * (k - done) > deadline + CV_SLACK * max(0.0, deadline - began)


def _valid_loss(y: np.ndarray, output: np.ndarray, data: TaskData, w: Any = None) -> float:
    loss = METRICS["rmse" if data.problem_type == "regression" else "log_loss"]
    return round(loss(y, output, w), 6)


def effective_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The params a trial trained with: its own, but those its retry changed (an out-of-memory
    retry halves the batch size: ``batch_size_used``)."""
    params = dict(trial.params)
    for name in trial.params:
        if f"{name}{USED}" in trial.user_attrs:
            params[name] = trial.user_attrs[f"{name}{USED}"]
    return params
