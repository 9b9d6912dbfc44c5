"""The search space every torch family shares: activation, initialisation, optimizer, learning
rate, weight decay and batch size. Families call ``suggest_activation``/``suggest_init`` for the
parts of the architecture they own; the core adds ``suggest_training`` to every torch trial.
A family's starting configuration takes its shared part from ``default_training``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl.errors import ParameterError

if TYPE_CHECKING:
    import optuna
    import torch
    from torch import nn

ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
INITS = ("default", "xavier", "kaiming", "normal")
BATCH_SIZES = (32, 64, 128, 256, 512)
LR_SCHEDULES = ("constant", "cosine", "onecycle")
LR_RANGE = (1e-4, 3e-2)
# the shared space's parameter names: the only ones a family may suggest without its prefix
SHARED_PARAMS = (
    "activation",
    "init",
    "optimizer",
    "lr",
    "weight_decay",
    "batch_size",
    "lr_schedule",
    "label_smoothing",
)
WEIGHT_DECAY_RANGE = (1e-7, 1e-2)


def suggest_activation(trial: optuna.Trial) -> str:
    return trial.suggest_categorical("activation", ACTIVATIONS)


def suggest_init(trial: optuna.Trial) -> str:
    return trial.suggest_categorical("init", INITS)


def suggest_training(trial: optuna.Trial) -> None:
    """Optimizer, learning rate (log scale), weight decay (log scale) and batch size, into
    ``trial.params`` (where the trainer reads them)."""
    trial.suggest_categorical("optimizer", OPTIMIZERS)
    trial.suggest_float("lr", *LR_RANGE, log=True)
    trial.suggest_float("weight_decay", *WEIGHT_DECAY_RANGE, log=True)
    trial.suggest_categorical("batch_size", BATCH_SIZES)


def default_training(
    *,
    optimizer: str,
    lr: float,
    weight_decay: float,
    batch_size: int,
    activation: str = "relu",
    init: str = "default",
    lr_schedule: str | None = None,
    label_smoothing: float | None = None,
) -> dict[str, Any]:
    """The shared parameters of a torch family's starting configuration (its
    ``default_params``), named as the shared space names them; ``lr_schedule`` and
    ``label_smoothing`` only where the family searches them (None: left out)."""
    for name, value, choices in (
        ("optimizer", optimizer, OPTIMIZERS),
        ("activation", activation, ACTIVATIONS),
        ("init", init, INITS),
        ("lr_schedule", lr_schedule or "constant", LR_SCHEDULES),
    ):
        if value not in choices:
            raise ParameterError(f"unknown {name} {value!r}; choose one of {choices}")
    params: dict[str, Any] = {
        "activation": activation,
        "init": init,
        "optimizer": optimizer,
        "lr": lr,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
    }
    if lr_schedule is not None:
        params["lr_schedule"] = lr_schedule
    if label_smoothing is not None:
        params["label_smoothing"] = label_smoothing
    return params


def batch_size_for(n_train: int, sizes: dict[int, int]) -> int:
    """A default batch size by the number of training rows: ``sizes`` maps "at least this
    many rows" to a batch size, e.g. ``{0: 64, 2001: 256}`` (below every key: the smallest's)."""
    reached = [rows for rows in sizes if rows <= n_train]
    return sizes[max(reached) if reached else min(sizes)]


def suggest_schedule(trial: optuna.Trial) -> str:
    """A learning-rate schedule for families that search it (the trainer reads lr_schedule)."""
    return trial.suggest_categorical("lr_schedule", LR_SCHEDULES)


def suggest_label_smoothing(trial: optuna.Trial, high: float = 0.2) -> float:
    return trial.suggest_float("label_smoothing", 0.0, high)


def make_scheduler(params: dict[str, Any], optimizer: Any, total_steps: int, done: int = 0) -> Any:
    """A per-step scheduler for ``params["lr_schedule"]`` over ``total_steps``, positioned
    after ``done`` steps (a schedule shortened mid-run to end at a deadline is rebuilt so);
    None for a constant rate. Cosine decays to zero (closed form: rebuilt, it continues from
    the same rate's curve); onecycle is torch's, warm-up and momentum cycle included."""
    import math

    import torch

    name = params.get("lr_schedule", "constant")
    total_steps = max(1, int(total_steps))
    last = int(done) - 1 if done else -1
    if name == "constant":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, total_steps) / total_steps)),
            last_epoch=last,
        )
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=params.get("lr", 1e-3),
            total_steps=max(total_steps, int(done) + 1),
            last_epoch=last,
        )
    raise ParameterError(f"unknown lr_schedule {name!r}; choose one of {LR_SCHEDULES}")


def make_activation(name: str) -> nn.Module:
    from torch import nn

    layers = {
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
    }
    if name not in layers:
        raise ParameterError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")
    return layers[name]()


def make_optimizer(
    params: dict[str, Any], weights: Any, lr: float | None = None
) -> torch.optim.Optimizer:
    """The optimizer the trial chose; SGD always carries Nesterov momentum 0.9."""
    import torch

    name, lr = params.get("optimizer", "adam"), lr or params.get("lr", 1e-3)
    wd = params.get("weight_decay", 0.0)
    if name == "sgd":
        return torch.optim.SGD(weights, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(weights, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(weights, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(weights, lr=lr, momentum=0.9, weight_decay=wd)
    raise ParameterError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def init_weights(module: nn.Module, scheme: str, activation: str = "relu") -> None:
    """Re-initialise linear and convolution weights; "default" keeps PyTorch's own."""
    from torch import nn

    if scheme == "default":
        return
    if scheme not in INITS:
        raise ParameterError(f"unknown init {scheme!r}; choose one of {INITS}")
    nonlinearity = "leaky_relu" if activation == "leaky_relu" else "relu"
    for layer in module.modules():
        if not isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            continue
        if scheme == "xavier":
            nn.init.xavier_uniform_(layer.weight)
        elif scheme == "kaiming":
            nn.init.kaiming_normal_(layer.weight, nonlinearity=nonlinearity)
        else:
            nn.init.normal_(layer.weight, std=0.02)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def linear_model(problem_type: str, C: float, *, class_weight: Any = None, max_iter: int = 2000):
    """The linear model a family's ``C`` (inverse regularisation) names: ridge regression
    (``alpha = 1/C``) for regression, else logistic regression; shared by the families of
    several plugins (tables' ``linear``, text's ``tfidf_linear``)."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if problem_type == "regression":
        return Ridge(alpha=1.0 / C)
    return LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter)
