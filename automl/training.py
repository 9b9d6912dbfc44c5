"""The training loops. The torch loop knows nothing of tables or images: it gets arrays, a module
and the trial's parameters; data sits on the device once and batches are slices by index."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl import space
from automl.metrics import Metric
from automl.predictors import Predictor, SklearnPredictor, TorchPredictor, _autocast

DEFAULT_PATIENCE = 8
# multi-fidelity: a large training set reports to the pruner several times per epoch, so a
# trial's first rung costs part of an epoch; a part is scored on at most REPORT_ROWS
# validation rows (the epoch's end on all of them)
ROWS_PER_REPORT = 5000
MAX_REPORTS_PER_EPOCH = 8
REPORT_ROWS = 2000
# a forward pass costs about this share of a training step (forward and backward), per row:
# before its first validation pass a trial stops in time to score the model it has
EVAL_SHARE = 0.4
# a forest or a gradient boosting model searched under a time budget grows this many trees
# (boosting iterations) at a time
TREE_CHUNK = 50


class StoppedUnscored(RuntimeError):
    """The deadline came before the first epoch ended, and scoring the model as it was then
    was not wanted (``score_partial=False``: the search has a finished trial already)."""


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the trial is pruned with this reason."""


@dataclass
class TrainOutcome:
    predictor: Predictor
    score: float  # best validation score (nan when trained without validation)
    best_epoch: int  # epochs that gave the best score (the model holds those weights)
    epochs_run: int
    stopped_by: str  # "max_epochs", "early_stopping", "time_budget" or "fit"
    seconds: float
    note: str = ""  # what a reader of the leaderboard should know (a forest cut short, say)
    batches: int = 0  # optimizer steps taken (torch)
    batches_per_epoch: int = 0  # (torch) what one whole epoch takes
    valid_output: np.ndarray | None = None  # the kept model's output on the validation rows
    # (torch) the epochs the LR schedule ran over, when a deadline shortened it (a refit
    # replays that schedule); None: the schedule's own length
    schedule_epochs: float | None = None
    # (scikit-learn, grown in chunks) the share of its trees the deadline let the model grow:
    # a refit grows all of them, so it is planned at seconds / grown_share
    grown_share: float = 1.0


def reports_per_epoch(n_train: int) -> int:
    """How many times an epoch reports to the pruner: once per ``ROWS_PER_REPORT`` training
    rows, 1 to ``MAX_REPORTS_PER_EPOCH`` (the pruner's resource unit is one such part)."""
    return int(min(MAX_REPORTS_PER_EPOCH, max(1, n_train // ROWS_PER_REPORT)))


def resolve_device(device: str | Any = "auto") -> Any:
    """ "auto" is CUDA when present, else CPU; anything else is handed to torch.device."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA device is available; use device='auto'")
    return dev


def _data_device(dev: Any, x: np.ndarray) -> Any:
    """Where the training set lives: on the device when it fits in half its free memory."""
    import torch

    if dev.type != "cuda":
        return dev
    free, _ = torch.cuda.mem_get_info(dev)
    return dev if np.asarray(x).nbytes < 0.5 * free else torch.device("cpu")


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc)


def train_torch(  # noqa: C901, PLR0913, PLR0915
    module: Any,
    params: dict[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    *,
    problem_type: str,
    n_outputs: int,
    metric: Metric | None,
    max_epochs: int,
    device: Any = "auto",
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    deadline: float | None = None,
    patience: int = DEFAULT_PATIENCE,
    schedule_epochs: float | None = None,
    sample_weight: np.ndarray | None = None,
    reports: int = 1,
    score_partial: bool = True,
) -> TrainOutcome:
    """Train with the trial's optimizer; keep the weights of the best validation epoch.

    ``on_epoch`` reports to the pruner (it may raise TrialPruned; see below); without a
    validation split the model trains exactly ``max_epochs`` epochs (the refit on train+valid).
    Params read here: optimizer, lr, weight_decay, batch_size, and optionally ``lr_schedule``
    (constant, cosine or onecycle over ``schedule_epochs``, default ``max_epochs``) and
    ``label_smoothing``. The training set sits on the device once when it fits in half the free
    device memory; otherwise batches stream from (pinned) host memory. ``sample_weight`` weighs
    each row's loss (normalised to mean 1 over the training rows).

    ``on_epoch(step, score)`` runs ``reports`` times per epoch (multi-fidelity: the step counts
    parts of epochs; the parts before an epoch's end are scored on at most ``REPORT_ROWS``
    validation rows). The ``deadline`` is checked after every batch: a trial stops within one
    batch of it (and, before its first validation pass, in time for that pass), keeping its
    best epoch, or, when no epoch had ended, the model as it is then; with ``score_partial``
    False that case raises ``StoppedUnscored`` instead of paying for a validation pass.
    """
    import torch

    started = time.perf_counter()
    dev = resolve_device(device)
    torch.manual_seed(seed)
    regression = problem_type == "regression"
    y_mean, y_std = (float(y_train.mean()), float(y_train.std()) or 1.0) if regression else (0, 1)

    holder = _data_device(dev, x_train)
    x = torch.as_tensor(x_train).to(holder)
    y = torch.as_tensor(y_train).to(holder)
    if holder.type == "cpu" and dev.type == "cuda":
        x, y = x.pin_memory(), y.pin_memory()
    if regression:
        y = ((y.float() - y_mean) / y_std).reshape(-1, 1)
    weights = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float32)
        weights = torch.as_tensor(w / max(float(w.mean()), 1e-12)).to(holder)
    module = module.to(dev)
    on_device = getattr(module, "on_device", None)  # a model's own layout for the device
    if callable(on_device):
        on_device(dev)
    optimizer = space.make_optimizer(params, module.parameters())
    smoothing = float(params.get("label_smoothing", 0.0))
    reduction = "mean" if weights is None else "none"
    loss_fn = (
        torch.nn.MSELoss(reduction=reduction)
        if regression
        else torch.nn.CrossEntropyLoss(label_smoothing=smoothing, reduction=reduction)
    )
    predictor = TorchPredictor(module, problem_type, n_outputs, y_mean, y_std, dev)
    generator = torch.Generator(device=holder).manual_seed(seed)
    batch = int(params.get("batch_size", 128))
    steps_per_epoch = max(1, math.ceil(len(x) / batch))
    total_steps = max(1, round((schedule_epochs or max_epochs) * steps_per_epoch))
    scheduler = space.make_scheduler(params, optimizer, total_steps=total_steps)
    paced = None  # (steps, epochs) the schedule was shortened to, to end before the deadline
    full_steps = total_steps

    reports = max(1, int(reports))
    n_batches = max(1, math.ceil(len(x) / batch))
    parts = {max(1, round(n_batches * (i + 1) / reports)): i + 1 for i in range(reports - 1)}
    sample = None
    if len(parts) and x_valid is not None:
        k = min(len(y_valid), REPORT_ROWS)
        sample = np.sort(np.random.default_rng(seed).choice(len(y_valid), k, replace=False))
    valid_weights = getattr(metric, "weights", None)

    best_score, best_epoch, best_state, stale = math.nan, 0, None, 0
    stopped_by, epoch, batches, out_of_time = "max_epochs", 0, 0, False
    schedule_ended = False
    # closing: what the validation pass that scores a model stopped in its first epoch costs,
    # from the pace of the batches after the first (which pays for warming up)
    best_output, rows_seen, closing, warm = None, 0, 0.0, None
    n_valid = 0 if x_valid is None else len(x_valid)
    for epoch in range(1, max_epochs + 1):
        module.train()
        order = torch.randperm(len(x), device=holder, generator=generator)
        for b, start in enumerate(range(0, len(x), batch), start=1):
            idx = order[start : start + batch]
            if len(idx) < 2 and len(x) >= 2:
                continue  # a batch of one breaks batch-norm and adds nothing
            xb, yb = x[idx].to(dev, non_blocking=True), y[idx].to(dev, non_blocking=True)
            with _autocast(dev):
                loss = loss_fn(module(xb).float(), yb)
            if weights is not None:  # per-row losses, weighted
                wb = weights[idx].to(dev, non_blocking=True)
                per_row = loss.reshape(len(wb), -1).mean(dim=1)
                loss = (per_row * wb).sum() / wb.sum().clamp_min(1e-12)
            if not torch.isfinite(loss):
                raise NonFiniteLoss(f"non-finite training loss ({loss.item()}) at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler.last_epoch < total_steps - 1:
                scheduler.step()
            batches += 1
            rows_seen += len(idx)
            closing = 0.0
            if warm is None:
                warm = (time.perf_counter(), rows_seen)
            elif best_state is None and n_valid:  # the pass that will score this model
                per_row = (time.perf_counter() - warm[0]) / (rows_seen - warm[1])
                closing = EVAL_SHARE * per_row * n_valid
            if deadline is not None and time.monotonic() + closing >= deadline:
                out_of_time = True
                break
            if paced is not None and paced[1] < 1 and batches >= paced[0]:
                out_of_time = schedule_ended = True  # a schedule shorter than an epoch ended
                break
            if x_valid is None and scheduler is not None and batches >= total_steps:
                out_of_time = schedule_ended = True  # a refit replaying such a schedule
                break
            if b in parts and scheduler is not None and deadline is not None:
                horizon = _paced_horizon(
                    deadline, warm, rows_seen, len(x), n_valid, batches, steps_per_epoch
                )
                # inside an epoch only when under two epochs fit (else an epoch's end, with the
                # pace of a whole epoch, decides)
                if horizon is not None and horizon[1] < 2 and horizon[0] < total_steps:
                    paced, total_steps = horizon, horizon[0]
                    scheduler = space.make_scheduler(params, optimizer, total_steps, batches)
            if b in parts and sample is not None and on_epoch is not None:  # a part's rung
                w = None if valid_weights is None else valid_weights[sample]
                part = metric(y_valid[sample], predictor.output(x_valid[sample]), w)
                module.train()
                on_epoch((epoch - 1) * reports + parts[b], part)
        if out_of_time:
            stopped_by = "time_budget" if x_valid is not None or not schedule_ended else "fit"
            # a schedule shortened to the deadline that ended is the trial's whole run: scored
            partial_ok = score_partial or schedule_ended
            if x_valid is not None and best_state is None and not partial_ok:
                raise StoppedUnscored(
                    f"the time budget stopped it after {batches} batch(es), before its first "
                    "epoch ended (not scored: another trial has finished)"
                )
            if x_valid is None or best_state is None:  # no epoch ended: keep the model as is
                best_epoch = epoch
                if x_valid is not None:
                    best_output = predictor.output(x_valid)
                    best_score = metric(y_valid, best_output)
            break
        if x_valid is None:
            best_epoch = epoch
        else:
            output = predictor.output(x_valid)
            score = metric(y_valid, output)
            if not math.isfinite(score):
                raise NonFiniteLoss(f"non-finite validation {metric.name} at epoch {epoch}")
            if best_state is None or metric.better(score, best_score):
                best_score, best_epoch, stale, best_output = score, epoch, 0, output
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            else:
                stale += 1
            if on_epoch is not None:
                on_epoch(epoch * reports, score)
            if stale >= patience:
                stopped_by = "early_stopping"
                break
        if deadline is not None and time.monotonic() >= deadline:
            stopped_by = "time_budget"
            break
        if scheduler is not None and deadline is not None and epoch < max_epochs:
            horizon = _paced_horizon(
                deadline, warm, rows_seen, len(x), n_valid, batches, steps_per_epoch
            )
            # shorter when the pace says so; longer again (up to the schedule's own length)
            # while the schedule is in its first half, when the pace has improved since
            longer = paced is not None and batches < total_steps / 2
            if horizon is not None and (
                horizon[0] < total_steps or (longer and horizon[0] > total_steps)
            ):
                horizon = (
                    min(horizon[0], full_steps),
                    min(horizon[1], full_steps / steps_per_epoch),
                )
                paced = None if horizon[0] >= full_steps else horizon
                total_steps = horizon[0]
                scheduler = space.make_scheduler(params, optimizer, total_steps, batches)
        if paced is not None and epoch >= paced[1]:
            stopped_by = "time_budget"  # the schedule, shortened to the deadline, has ended
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    return TrainOutcome(
        predictor,
        best_score,
        best_epoch,
        epoch,
        stopped_by,
        time.perf_counter() - started,
        batches=batches,
        batches_per_epoch=n_batches,
        valid_output=best_output,
        schedule_epochs=None if paced is None else paced[1],
    )


# a schedule shortened to a deadline plans for this share of the time left (paces vary)
PACE_MARGIN = 0.9


def _paced_horizon(
    deadline: float,
    warm: tuple[float, int] | None,
    rows_seen: int,
    n_rows: int,
    n_valid: int,
    done: int,
    steps_per_epoch: int,
) -> tuple[int, float] | None:
    """The LR schedule's length (steps, epochs) that ends before the ``deadline`` at the pace
    measured since the first batch (``warm``: its time and rows), each epoch paying for its
    validation pass: whole epochs when at least one fits (the model kept is an epoch's end),
    else the steps that fit. None before the pace is known."""
    if warm is None or rows_seen <= warm[1]:
        return None
    per_row = (time.perf_counter() - warm[0]) / (rows_seen - warm[1])
    scoring = EVAL_SHARE * per_row * n_valid  # the validation pass that scores the model
    left = PACE_MARGIN * max(0.0, deadline - time.monotonic())
    fit = done / steps_per_epoch + left / max(per_row * n_rows + scoring, 1e-9)
    if fit >= 1:
        epochs = float(max(1, int(fit)))
        return max(done + 1, int(epochs * steps_per_epoch)), epochs
    per_step = per_row * n_rows / steps_per_epoch
    steps = max(done + 1, done + int(max(0.0, left - scoring) / max(per_step, 1e-12)))
    return steps, steps / steps_per_epoch


def train_sklearn(  # noqa: PLR0913
    estimator: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    *,
    problem_type: str,
    n_outputs: int,
    metric: Metric | None,
    deadline: float | None = None,
    sample_weight: np.ndarray | None = None,
    growth: tuple[str, str] | None = None,
) -> TrainOutcome:
    """Fit a scikit-learn estimator once and score it on the validation split; with
    ``sample_weight`` when the estimator's ``fit`` takes one (else the note says it trained
    unweighted).

    With a ``deadline`` (a ``time.monotonic()`` value), a model that can be grown stops near the
    deadline instead of overrunning the search's budget by minutes when its trial starts late,
    keeps what it grew (the same trees a single fit grows first) and says so in ``note``. How it
    grows is its family's ``ModelFamily.growth`` (``growth``; None: ``sklearn_growth``'s guess):

    - ``(parameter, "chunks")``, a forest's ``("n_estimators", "chunks")``: TREE_CHUNK trees
      at a time while the next chunk, at the last one's pace, ends before the deadline (a
      chunk of 50 trees on 30,000 rows can take 6 s);
    - ``(parameter, "paced")``, boosting's ``("max_iter", "paced")``: TREE_CHUNK iterations,
      timed, then one continuation (a warm start: same early-stopping split and history) to as
      many iterations as that pace allows before the deadline, or to its own limit and early
      stopping when time allows. One continuation, not many chunks: every warm start of
      histogram gradient boosting recomputes the predictions of all the trees so far, which in
      chunks of 50 doubled the time of an 800-iteration fit.
    """
    started = time.perf_counter()
    growth = growth or sklearn_growth(estimator)
    size, how = growth if growth is not None else (None, None)
    note, stopped_by, grown_share = "", "fit", 1.0
    fit_kwargs: dict[str, Any] = {}
    if sample_weight is not None:
        from sklearn.utils.validation import has_fit_parameter

        if has_fit_parameter(estimator, "sample_weight"):
            fit_kwargs["sample_weight"] = sample_weight
        else:
            note = f"{type(estimator).__name__} takes no sample_weight: trained unweighted"
    if deadline is not None and size is not None:
        wanted = int(estimator.get_params(deep=False)[size])
        grown = min(TREE_CHUNK, wanted)
        estimator.set_params(warm_start=True, **{size: grown})
        estimator.fit(x_train, y_train, **fit_kwargs)
        if how == "paced":
            pace = max(time.perf_counter() - started, 1e-6) / grown  # seconds per iteration
            target = min(wanted, grown + int(max(0.0, deadline - time.monotonic()) / pace))
            if grown < target and not _stopped_early(estimator, grown):
                grown = target
                estimator.set_params(**{size: grown})
                estimator.fit(x_train, y_train, **fit_kwargs)
        else:  # another chunk only when it ends before the deadline at the last one's pace
            chunk = time.perf_counter() - started
            while grown < wanted and time.monotonic() + chunk < deadline:
                began = time.perf_counter()
                grown = min(grown + TREE_CHUNK, wanted)
                estimator.set_params(**{size: grown})
                estimator.fit(x_train, y_train, **fit_kwargs)
                chunk = time.perf_counter() - began
        estimator.set_params(warm_start=False)
        if grown < wanted and not _stopped_early(estimator, grown):
            stopped_by = "time_budget"
            note = "; ".join(filter(None, [note, _budget_note(how, grown, wanted)]))
            grown_share = grown / wanted if how == "chunks" else 1.0
    else:
        estimator.fit(x_train, y_train, **fit_kwargs)
    return fitted_outcome(
        estimator,
        (problem_type, n_outputs),
        x_valid,
        y_valid,
        metric,
        started=started,
        stopped_by=stopped_by,
        note=note,
        grown_share=grown_share,
    )


def fitted_outcome(  # noqa: PLR0913
    estimator: Any,
    problem: tuple[str, int],
    x_valid: Any,
    y_valid: np.ndarray | None,
    metric: Metric | None,
    *,
    started: float,
    stopped_by: str,
    note: str,
    grown_share: float,
) -> TrainOutcome:
    """A fitted estimator with a scikit-learn interface (``problem``: its problem type and
    outputs) scored on the validation rows: what a trial of one fit reports (a plugin's
    kind of such models too)."""
    predictor = SklearnPredictor(estimator, *problem)
    output = None if x_valid is None else predictor.output(x_valid)
    score = math.nan if output is None else metric(y_valid, output)
    return TrainOutcome(
        predictor,
        score,
        1,
        1,
        stopped_by,
        time.perf_counter() - started,
        note,
        valid_output=output,
        grown_share=grown_share,
    )


def sklearn_growth(estimator: Any) -> tuple[str, str] | None:
    """How a scikit-learn estimator whose family declares no ``growth`` can be continued
    (``warm_start``) into the very model one fit would give: an estimator with
    ``n_estimators`` (a forest, any bagging-style ensemble) in chunks of trees; None for
    others."""
    params = estimator.get_params(deep=False)
    if "warm_start" in params and "n_estimators" in params:
        return ("n_estimators", "chunks")
    return None


def _stopped_early(estimator: Any, grown: int) -> bool:
    """Whether boosting's own early stopping ended the last chunk (it ran fewer iterations)."""
    return getattr(estimator, "n_iter_", grown) < grown


def _budget_note(how: str | None, grown: int, wanted: int) -> str:
    if how == "paced":
        return (
            f"time budget reached: stopped after {grown} boosting iterations, before early "
            "stopping (a refit runs to early stopping)"
        )
    return f"time budget reached: {grown} of {wanted} trees grown (a refit grows all)"
