"""Pretrained backbones as model families: one per torchvision architecture the vision task knows
(``backbones.ARCHS``), searched only when ``fit(pretrained=...)`` named it, beside convnet,
resnet and pixel_mlp (``models=["resnet18"]`` restricts the search to it).

Each searches a fine-tuning strategy: ``frozen`` (the pretrained backbone as it is, a new head
trained with AdamW on its cached features), ``last`` (the last stage(s) and the head) or
``all`` (every layer); the two fine-tuning strategies train with SGD (Nesterov momentum), the
backbone's gradients scaled by ``backbone_lr_factor`` (with SGD exactly a lower learning rate
for the backbone). Further: the head's learning rate, weight decay, head dropout, the input
resolution, epochs, and (fine-tuning only) the shared augmentation space ``aug.*``.

Models are trained, saved (safetensors, no pickle) and loaded by ``BackboneKind``, the
plugin's own model kind ``"vision-backbone"``: a ``TorchKind`` whose ``train`` computes a frozen
backbone's features once per split and trains the head on them through the torch kind's own
``train``; a trial that cannot finish one epoch in the time left is not started.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, ClassVar

import numpy as np

from automl.plugin import (
    DataError,
    DataSpec,
    ModelFamily,
    Split,
    TaskData,
    TorchKind,
    TorchPredictor,
    space,
)
from automl_vision import backbones
from automl_vision.augment_space import default_augmentation, suggest_augmentation
from automl_vision.backbone_features import FeatureCache, repeated

STRATEGIES = ("frozen", "last", "all")
RESOLUTIONS = (32, 64, 96, 128, 224)  # the categorical choices of studies made before the steps
RESOLUTION_STEP = 32  # the searched input side: an int from 32 to 224 in these steps
MIN_EPOCH_STEPS = 24  # a fine-tuning epoch has at least these steps (a small set repeats)
MIN_HEAD_STEPS = 150  # a frozen backbone's head trains at least these steps in all
HEAD_BATCH = 256
CPU_MAX_SIDE = 64  # the first trial's input side on a CPU is at most this
WEIGHTS = "weights.safetensors"
CACHE_BYTES = 1 << 30  # features of frozen backbones kept in memory
PROBE_ROWS = 8  # images a pace measurement runs (twice: the first warms up)
EVAL_SHARE = 0.4  # a forward pass's share of a training step's cost


class BackbonePredictor(TorchPredictor):
    """A trained backbone model: outputs are its head's on the backbone's features (the very
    computation its frozen training scored)."""

    kind = "vision-backbone"

    def output(self, x: Any) -> np.ndarray:
        features = self.module.embed(x, self.device)
        head = TorchPredictor(
            self.module.head,
            self.problem_type,
            self.n_outputs,
            self.y_mean,
            self.y_std,
            self.device,
        )
        return head.output(features)


class BackboneKind(TorchKind):
    name = "vision-backbone"

    def __init__(self) -> None:
        self.cache = FeatureCache(CACHE_BYTES)

    def suggest_training(self, trial) -> None:
        """Nothing shared: each backbone family suggests its own training parameters."""

    def check_build(self, model) -> str | None:
        from automl_vision.backbone_model import BackboneModel

        return None if isinstance(model, BackboneModel) else "is not a BackboneModel"

    def train(self, family, model, params, data, metric, split, options):
        device = _device(options.device)
        model.to(device)
        short = dataclasses.replace(data, max_epochs=family.epochs(params, data))
        torch_params = family.train_params(params, data.n_train)
        if model.strategy == "frozen":
            return self._train_head(family, model, torch_params, short, metric, split, options)
        split = repeated(split, MIN_EPOCH_STEPS * torch_params["batch_size"])
        rows = len(split.x_train) + EVAL_SHARE * (
            0 if split.x_valid is None else len(split.x_valid)
        )
        self._check_pace(model, split.x_train, rows, options, device, train=True)
        factor = float(params[family.name + ".backbone_lr_factor"])
        hooks = [
            p.register_hook(lambda g, f=factor: g * f)
            for p in model.body.parameters()
            if p.requires_grad
        ]
        try:
            outcome = super().train(family, model, torch_params, short, metric, split, options)
        finally:
            for hook in hooks:
                hook.remove()
        outcome.predictor = _predictor(model, outcome.predictor)
        outcome.valid_output = None  # scored again through the predictor's own path
        return outcome

    def _train_head(self, family, model, torch_params, data, metric, split, options):
        device = _device(options.device)
        source = backbones.identity(data.spec.extra["backbones"][model.arch]["file"])
        todo = [x for x in (split.x_train, split.x_valid) if x is not None]
        keys = [self.cache.key(model, source, x) for x in todo]
        missing = [x for x, k in zip(todo, keys, strict=True) if self.cache.get(k) is None]
        if missing:
            self._check_pace(model, missing[0], sum(map(len, missing)), options, device)
        features = []
        for x, key in zip(todo, keys, strict=True):
            found = self.cache.get(key)
            if found is None:
                found = model.embed(x, device)
                self.cache.put(key, found)
            features.append(found)
        f_valid = features[1] if split.x_valid is not None else None
        heads = Split(features[0], split.y_train, f_valid, split.y_valid, split.w_train)
        per_epoch = math.ceil(MIN_HEAD_STEPS / data.max_epochs)  # data: the trial's own epochs
        heads = repeated(heads, per_epoch * torch_params["batch_size"])
        outcome = super().train(family, model.head, torch_params, data, metric, heads, options)
        model.to(device)
        outcome.predictor = _predictor(model, outcome.predictor)
        return outcome

    @staticmethod
    def _check_pace(model, x, rows, options, device, *, train: bool = False) -> None:
        """Not started (``StoppedUnscored``) when ``rows`` images (one epoch's training rows,
        its validation rows at a forward pass's share; a frozen trial: the images whose
        features are not cached) would not be through before the deadline, at the pace of
        ``PROBE_ROWS`` images of ``x``; the first trial of a search (``score_partial``) is
        always started."""
        import torch

        from automl.plugin import StoppedUnscored

        if options.deadline is None or options.score_partial or len(x) == 0:
            return
        probe = torch.as_tensor(np.asarray(x[:PROBE_ROWS])).to(device)
        seconds = 0.0
        for _ in range(2):  # the first pass warms up
            started = time.perf_counter()
            if train:  # in evaluation mode: the probe leaves batch-norm statistics as they are
                model.eval()
                model(probe).float().sum().backward()
                model.zero_grad(set_to_none=True)
            else:
                model.embed(probe, device)
            seconds = time.perf_counter() - started
        expected, left = seconds / len(probe) * rows, options.deadline - time.monotonic()
        if expected > left:
            what = "an epoch" if train else "the features of the frozen backbone"
            raise StoppedUnscored(
                f"not started: {model.arch} at {model.resolution} px needs about "
                f"{expected:.0f} s for {what} (measured on {len(probe)} images), "
                f"{max(0.0, left):.0f} s are left"
            )

    def save(self, predictor, folder):
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().clone() for k, v in predictor.module.state_dict().items()}
        save_file(state, str(folder / WEIGHTS))
        return {"y_scale": [predictor.y_mean, predictor.y_std], "format": "safetensors"}, [WEIGHTS]

    def load(self, family, params, spec, entry, path, device, trusted):
        from safetensors.torch import load_file

        module = family.bare(params, spec)
        weights = path(WEIGHTS)
        try:
            state = load_file(str(weights))
        except Exception as exc:
            raise DataError(f"cannot read {weights} as safetensors ({exc})") from None
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            why = str(exc).splitlines()[0]
            raise DataError(
                f"{weights} does not fit the network its member's params build ({why})"
            ) from None
        mean, std = entry["y_scale"]
        return BackbonePredictor(
            module.to(device), spec.problem_type, spec.n_outputs, mean, std, device
        )

    def describe(self, family, predictor) -> tuple[str, int | None, str]:
        module = predictor.module
        text = (
            f"{module.arch} ({module.strategy}, {module.resolution} px) + a linear head of "
            f"{module.body.feature_width} features"
        )
        return text, sum(int(p.numel()) for p in module.parameters()), "parameters"


def _device(device: Any) -> Any:
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _predictor(model: Any, trained: Any) -> BackbonePredictor:
    return BackbonePredictor(
        model,
        trained.problem_type,
        trained.n_outputs,
        trained.y_mean,
        trained.y_std,
        trained.device,
    )


KIND = BackboneKind()


class BackboneFamily(ModelFamily):
    """A pretrained torchvision backbone, fine-tuned (see the module docstring)."""

    task = "vision"
    kind = KIND
    problem_types = ("binary", "multiclass")
    shared_prefixes = ("aug.",)
    arch: ClassVar[str]

    def supports(self, data: TaskData) -> bool:
        named = data.spec.extra.get("backbones") or {}
        return super().supports(data) and self.arch in named

    def why_unsupported(self, data: TaskData) -> str:
        if data.problem_type in self.problem_types:
            return f"{self.name} is a pretrained backbone: name it with pretrained= too"
        return super().why_unsupported(data)

    def resolutions(self) -> tuple[int, ...]:
        """The input sides this backbone may take: 32 to 224 in 32-px steps (a ViT: 224)."""
        fixed = backbones.FIXED_SIZE.get(self.arch)
        return (fixed,) if fixed else tuple(range(RESOLUTION_STEP, 225, RESOLUTION_STEP))

    def suggest_resolution(self, trial) -> int:
        """An int in 32-px steps; a study that searched it as a categorical (made before the
        steps) keeps that, since one study cannot hold both distributions of a parameter."""
        import optuna

        name, sides = self.name + ".resolution", self.resolutions()
        for past in trial.study.get_trials(deepcopy=False):
            known = past.distributions.get(name)
            if isinstance(known, optuna.distributions.CategoricalDistribution):
                return trial.suggest_categorical(name, known.choices)
        if len(sides) == 1:
            return trial.suggest_int(name, sides[0], sides[0])
        return trial.suggest_int(name, sides[0], sides[-1], step=RESOLUTION_STEP)

    def suggest(self, trial, data: TaskData) -> None:
        p = self.name + "."
        strategy = trial.suggest_categorical(p + "strategy", STRATEGIES)
        trial.suggest_float(p + "lr", 1e-4, 1e-1, log=True)
        if strategy != "frozen":
            trial.suggest_float(p + "backbone_lr_factor", 0.01, 0.5, log=True)
            suggest_augmentation(trial, int(min(data.spec.input_shape[1:])))
        trial.suggest_float(p + "weight_decay", 1e-6, 1e-2, log=True)
        trial.suggest_float(p + "head_dropout", 0.0, 0.5)
        self.suggest_resolution(trial)
        trial.suggest_int(p + "epochs", 1, max(1, data.max_epochs))

    def default_params(self, data: TaskData) -> dict[str, Any]:
        """The first trial fine-tunes every layer. On a CPU: at the smallest 32-px step that
        holds the images (at most 64 px), the head at 0.03 and the backbone at 0.3 of it
        (measured: well above the from-scratch families with 20 labelled digits a class,
        docs/pretrained.md); on CUDA at the weights' own size, the
        backbone at a tenth of the head's rate."""
        import torch

        p, side = self.name + ".", max(data.spec.input_shape[1:])
        augmentation = default_augmentation(
            data.spec.input_shape[0], int(min(data.spec.input_shape[1:]))
        )
        if torch.cuda.is_available():
            own = backbones.FIXED_SIZE.get(self.arch, 224)
            return {
                p + "strategy": "all",
                p + "lr": 0.01,
                p + "backbone_lr_factor": 0.1,
                **augmentation,
                p + "weight_decay": 1e-4,
                p + "head_dropout": 0.1,
                p + "resolution": own if own in self.resolutions() else self.resolutions()[-1],
                p + "epochs": min(data.max_epochs, 5),
            }
        fits = [r for r in self.resolutions() if r >= min(side, CPU_MAX_SIDE)]
        return {
            p + "strategy": "all",
            p + "lr": 0.03,
            p + "backbone_lr_factor": 0.3,
            **augmentation,
            p + "weight_decay": 1e-4,
            p + "head_dropout": 0.1,
            p + "resolution": fits[0] if fits else self.resolutions()[-1],
            p + "epochs": min(data.max_epochs, 5),
        }

    def epochs(self, params: dict[str, Any], data: TaskData) -> int:
        return max(1, min(int(params[self.name + ".epochs"]), data.max_epochs))

    def train_params(self, params: dict[str, Any], n_train: int) -> dict[str, Any]:
        """What the torch kind's training loop reads: AdamW for a frozen backbone's head, SGD
        when fine-tuning; a cosine schedule."""
        p = self.name + "."
        frozen = params[p + "strategy"] == "frozen"
        tuning_batch = space.batch_size_for(n_train, {0: 32, 2000: 64})
        return {
            "optimizer": "adamw" if frozen else "sgd",
            "lr": float(params[p + "lr"]),
            "weight_decay": float(params[p + "weight_decay"]),
            "batch_size": HEAD_BATCH if frozen else tuning_batch,
            "lr_schedule": "cosine",
            "label_smoothing": 0.0 if frozen else 0.1,
        }

    def bare(self, params: dict[str, Any], spec: DataSpec) -> Any:
        """The model with random backbone weights (what a saved model's tensors load into)."""
        from automl_vision.backbone_model import BackboneModel

        p = self.name + "."
        net, _ = backbones.network(self.arch)
        aug = {k: v for k, v in params.items() if k.startswith("aug.")}
        return BackboneModel(
            net,
            spec,
            aug,
            arch=self.arch,
            strategy=params[p + "strategy"],
            resolution=int(params[p + "resolution"]),
            trainable=backbones.ARCHS[self.arch],
            dropout=float(params[p + "head_dropout"]),
        )

    def build(self, params: dict[str, Any], spec: DataSpec) -> Any:
        from pathlib import Path

        model = self.bare(params, spec)
        info = spec.extra["backbones"][self.arch]
        model.body.load_state_dict(backbones.state_of(self.arch, Path(info["file"])))
        return model

    def describe(self, params: dict[str, Any]) -> str:
        p = self.name + "."
        return (
            f"{params.get(p + 'strategy')}, {params.get(p + 'resolution')} px, "
            f"lr={params.get(p + 'lr', 0):.2g}"
        )


def _family(arch: str) -> type[BackboneFamily]:
    title = "".join(part.title() for part in arch.split("_"))
    return type(f"{title}Family", (BackboneFamily,), {"name": arch, "arch": arch})


FAMILIES = tuple(_family(arch) for arch in backbones.ARCHS)
