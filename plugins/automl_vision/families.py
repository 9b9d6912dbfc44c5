"""Model families for images: a plain ConvNet, a ResNet-style net and a pixel MLP (the floor).

Every family wraps its network in ``ImageModel`` (scaling, augmentation, normalisation inside
the model) and searches the shared augmentation space (``aug.*``), a learning-rate schedule and
label smoothing on top of the core's shared training space.
"""

from __future__ import annotations

import math
from typing import Any

from automl.plugin import DataSpec, ModelFamily, TaskData, space
from automl_vision.augment_space import default_augmentation, suggest_augmentation

PROBLEM_TYPES = ("binary", "multiclass")


def _side(spec: DataSpec) -> int:
    return int(min(spec.input_shape[1:]))


def _max_downsamples(side: int, limit: int) -> int:
    """How many times an image can be halved and keep at least 2 pixels a side."""
    return max(1, min(limit, int(math.log2(max(side, 2) / 2))))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _shared_defaults(data: TaskData) -> dict[str, Any]:
    channels = data.spec.input_shape[0]
    return {
        **space.default_training(
            optimizer="adamw",
            lr=3e-3,
            weight_decay=5e-4,
            batch_size=space.batch_size_for(data.n_train, {0: 32, 2000: 128}),
            lr_schedule="onecycle",
            label_smoothing=0.05,
        ),
        **default_augmentation(channels, _side(data.spec)),
    }


class _VisionFamily(ModelFamily):
    task = "vision"
    kind = "torch"
    problem_types = PROBLEM_TYPES
    shared_prefixes = ("aug.",)  # the augmentation space, searched by every image family

    def suggest(self, trial, data: TaskData) -> None:
        self.suggest_own(trial, data)
        space.suggest_activation(trial)
        space.suggest_init(trial)
        space.suggest_schedule(trial)
        space.suggest_label_smoothing(trial)
        suggest_augmentation(trial, _side(data.spec))

    def suggest_own(self, trial, data: TaskData) -> None:
        raise NotImplementedError

    def build(self, params: dict[str, Any], spec: DataSpec):
        from automl_vision.augment import ImageModel

        return ImageModel(self.network(params, spec), spec, params)

    def network(self, params: dict[str, Any], spec: DataSpec):
        raise NotImplementedError


class ConvNetFamily(_VisionFamily):
    """Conv blocks (convs per block, channels doubling per block, kernel, batch-norm, max or
    average pooling), then dropout and a hidden dense layer."""

    name = "convnet"
    fast = True  # searched by preset="fast"

    def suggest_own(self, trial, data: TaskData) -> None:
        trial.suggest_int("convnet.blocks", 1, _max_downsamples(_side(data.spec), 4))
        trial.suggest_categorical("convnet.channels", (16, 32, 64, 96))
        trial.suggest_int("convnet.convs", 1, 2)
        trial.suggest_categorical("convnet.kernel", (3, 5))
        trial.suggest_categorical("convnet.batch_norm", (True, False))
        trial.suggest_categorical("convnet.pool", ("max", "avg"))
        trial.suggest_float("convnet.dropout", 0.0, 0.5)
        trial.suggest_categorical("convnet.hidden", (64, 128, 256))

    def network(self, params: dict[str, Any], spec: DataSpec):
        from torch import nn

        act = params.get("activation", "relu")
        c_in, h, w = spec.input_shape
        kernel, bn = int(params["convnet.kernel"]), bool(params["convnet.batch_norm"])
        pool = nn.MaxPool2d if params["convnet.pool"] == "max" else nn.AvgPool2d
        layers: list[nn.Module] = []
        width = c_in
        for block in range(int(params["convnet.blocks"])):
            out = min(256, int(params["convnet.channels"]) * 2**block)
            for _ in range(int(params["convnet.convs"])):
                layers.append(nn.Conv2d(width, out, kernel, padding=kernel // 2, bias=not bn))
                if bn:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(space.make_activation(act))
                width = out
            layers.append(pool(2))
            h, w = h // 2, w // 2
        if h * w * width > 4096:  # large feature maps: average down to at most 4 x 4
            h, w = min(h, 4), min(w, 4)
            layers.append(nn.AdaptiveAvgPool2d((h, w)))
        hidden = int(params["convnet.hidden"])
        layers += [
            nn.Flatten(),
            nn.Dropout(float(params["convnet.dropout"])),
            nn.Linear(h * w * width, hidden),
            space.make_activation(act),
            nn.Dropout(float(params["convnet.dropout"]) / 2),
            nn.Linear(hidden, spec.n_outputs),
        ]
        return nn.Sequential(*layers)

    def default_params(self, data: TaskData) -> dict[str, Any]:
        side, channels = _side(data.spec), data.spec.input_shape[0]
        colour = channels == 3
        return {
            "convnet.blocks": min(3 if colour else 2, _max_downsamples(side, 4)),
            "convnet.channels": 32,
            "convnet.convs": 2 if colour else 1,
            "convnet.kernel": 3,
            "convnet.batch_norm": True,
            "convnet.pool": "max",
            "convnet.dropout": 0.25,
            "convnet.hidden": 128,
            **_shared_defaults(data),
        }


class ResNetFamily(_VisionFamily):
    """A ResNet-style net: a 3x3 stem, residual stages (basic blocks, stride 2 from the second
    stage on, width doubling per stage), global average pooling."""

    name = "resnet"

    def suggest_own(self, trial, data: TaskData) -> None:
        trial.suggest_int("resnet.stages", 2, max(2, _max_downsamples(_side(data.spec), 3) + 1))
        trial.suggest_int("resnet.blocks", 1, 3)
        trial.suggest_categorical("resnet.width", (16, 32, 64))

    def network(self, params: dict[str, Any], spec: DataSpec):
        from torch import nn

        from automl_vision.augment import BasicBlock

        act = params.get("activation", "relu")
        c_in, h, w = spec.input_shape
        width = int(params["resnet.width"])
        stem: list[nn.Module] = []
        if min(h, w) > 64:  # big images: downsample 4x in the stem
            stem += [
                nn.Conv2d(c_in, width, 5, stride=2, padding=2, bias=False),
                nn.BatchNorm2d(width),
                space.make_activation(act),
                nn.MaxPool2d(2),
            ]
        else:
            stem += [
                nn.Conv2d(c_in, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                space.make_activation(act),
            ]
        layers = stem
        c = width
        for stage in range(int(params["resnet.stages"])):
            out = width * 2**stage
            for block in range(int(params["resnet.blocks"])):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(c, out, stride, act))
                c = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, spec.n_outputs)]
        return nn.Sequential(*layers)

    def default_params(self, data: TaskData) -> dict[str, Any]:
        side = _side(data.spec)
        return {
            "resnet.stages": min(3, max(2, _max_downsamples(side, 3) + 1)),
            "resnet.blocks": 1,
            "resnet.width": 32 if _cuda() else 16,
            **_shared_defaults(data),
        }


class PixelMLPFamily(_VisionFamily):
    """A fully connected net over the (normalised, augmented) pixels: the floor to beat."""

    name = "pixel_mlp"
    fast = True  # searched by preset="fast"

    def suggest_own(self, trial, data: TaskData) -> None:
        trial.suggest_int("pixel_mlp.depth", 1, 3)
        trial.suggest_categorical("pixel_mlp.width", (256, 512, 1024))
        trial.suggest_float("pixel_mlp.dropout", 0.0, 0.5)
        trial.suggest_categorical("pixel_mlp.batch_norm", (True, False))

    def network(self, params: dict[str, Any], spec: DataSpec):
        from torch import nn

        width_in = math.prod(spec.input_shape)
        width = int(params["pixel_mlp.width"])
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(int(params["pixel_mlp.depth"])):
            layers.append(nn.Linear(width_in, width))
            if params["pixel_mlp.batch_norm"]:
                layers.append(nn.BatchNorm1d(width))
            layers.append(space.make_activation(params.get("activation", "relu")))
            if params["pixel_mlp.dropout"] > 0:
                layers.append(nn.Dropout(float(params["pixel_mlp.dropout"])))
            width_in = width
        layers.append(nn.Linear(width_in, spec.n_outputs))
        return nn.Sequential(*layers)

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {
            "pixel_mlp.depth": 2,
            "pixel_mlp.width": 512,
            "pixel_mlp.dropout": 0.2,
            "pixel_mlp.batch_norm": True,
            **_shared_defaults(data),
            "aug.crop_pad": 0,
        }


# registration order = the order defaults are tried: the strong, cheap ConvNet first
FAMILIES = (ConvNetFamily, PixelMLPFamily, ResNetFamily)
