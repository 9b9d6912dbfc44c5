"""The torch kind's training loop. It knows nothing of tables or images: it gets arrays, a
module and the trial's parameters; data sits on the device once and batches are slices by
index."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from automl import space
from automl.kinds._base import FitOptions, Split
from automl.predictors import TorchPredictor, _autocast
from automl.training import NonFiniteLoss, StoppedUnscored, TrainOutcome, resolve_device

if TYPE_CHECKING:
    from automl.metrics import Metric

DEFAULT_PATIENCE = 8
# a part of an epoch (``automl.training.reports_per_epoch``) is scored on at most this many
# validation rows (the epoch's end on all of them)
REPORT_ROWS = 2000
# a forward pass costs about this share of a training step (forward and backward), per row:
# before its first validation pass a trial stops in time to score the model it has
EVAL_SHARE = 0.4


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


def train_torch(  # noqa: C901, PLR0915
    module: Any,
    params: dict[str, Any],
    split: Split,
    options: FitOptions,
    problem: tuple[str, int],
    metric: Metric | None,
    *,
    max_epochs: int,
    patience: int = DEFAULT_PATIENCE,
) -> TrainOutcome:
    """Train ``module`` on ``split`` with the trial's optimizer; keep the weights of the best
    validation epoch. ``problem``: the problem type and the number of outputs.

    Without validation rows the model trains exactly ``options.refit_epochs`` epochs (the refit
    on train+valid; else ``max_epochs``, the task's most). Params read here: optimizer, lr,
    weight_decay, batch_size, and optionally ``lr_schedule`` (constant, cosine or onecycle over
    ``options.schedule_epochs``, default ``max_epochs``) and ``label_smoothing``. The training
    set sits on the device once when it fits in half the free device memory; otherwise batches
    stream from (pinned) host memory. ``split.w_train`` weighs each row's loss (normalised to
    mean 1 over the training rows).

    ``options.on_epoch(step, score)`` reports to the pruner (it may raise TrialPruned) and runs
    ``options.reports`` times per epoch (multi-fidelity: the step counts parts of epochs; the
    parts before an epoch's end are scored on at most ``REPORT_ROWS`` validation rows). The
    ``options.deadline`` is checked after every batch: a trial stops within one batch of it
    (and, before its first validation pass, in time for that pass), keeping its best epoch, or,
    when no epoch had ended, the model as it is then; with ``options.score_partial`` False that
    case raises ``StoppedUnscored`` instead of paying for a validation pass.
    """
    import torch

    x_train, y_train, x_valid, y_valid = split.x_train, split.y_train, split.x_valid, split.y_valid
    problem_type, n_outputs = problem
    seed, on_epoch, deadline = options.seed, options.on_epoch, options.deadline
    schedule_epochs = options.schedule_epochs or max_epochs
    max_epochs = options.refit_epochs or max_epochs  # a refit's own count of epochs
    reports, score_partial = options.reports, options.score_partial
    started = time.perf_counter()
    dev = resolve_device(options.device)
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
    if split.w_train is not None:
        w = np.asarray(split.w_train, dtype=np.float32)
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
    total_steps = max(1, round(schedule_epochs * steps_per_epoch))
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
