"""A pretrained backbone as an image model: ``ImageModel`` extended with the input a torchvision
backbone expects (grayscale to three channels, resized to the searched resolution, normalised
with its weights' mean and standard deviation) and a new classifier head, so predict, serve,
export and monitor take the same raw uint8 images as every other image family.

A frozen backbone's features depend on its input and its weights only: the kind keeps them
per split (``backbone_features.FeatureCache``), so a frozen trial costs one pass per split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from automl_vision.augment import ImageModel

EMBED_CHUNK = 256  # images per forward pass when computing features


class BackboneModel(ImageModel):
    """uint8 (N,C,H,W) -> [0,1] -> augmentation (training, not frozen) -> 3 channels at
    ``resolution`` -> the weights' normalisation -> backbone -> head (dropout, linear)."""

    def __init__(
        self,
        backbone: nn.Module,
        spec: Any,
        params: dict[str, Any],
        *,
        arch: str,
        strategy: str,
        resolution: int,
        trainable: tuple[str, ...],
        dropout: float,
    ) -> None:
        super().__init__(backbone, spec, params)
        info = spec.extra["backbones"][arch]
        self.register_buffer("mean", torch.tensor(info["mean"]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(info["std"]).view(1, -1, 1, 1))
        self.arch, self.strategy, self.resolution = arch, strategy, int(resolution)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(backbone.feature_width, spec.n_outputs)
        )
        for name, p in backbone.named_parameters():
            p.requires_grad_(
                strategy == "all" or (strategy == "last" and name.startswith(trainable))
            )

    def train(self, mode: bool = True) -> BackboneModel:
        """Frozen parts stay in evaluation mode (their batch-norm statistics are the weights')."""
        super().train(mode)
        if mode:
            for m in self.body.modules():
                own = list(m.parameters(recurse=False))
                if self.strategy == "frozen" or (own and not any(p.requires_grad for p in own)):
                    m.eval()
        return self

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        if self.training and self.strategy != "frozen":
            x = self.augment(x)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[2:]) != (self.resolution, self.resolution):
            size = (self.resolution, self.resolution)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and x.device.type == "cpu" and len(x) > EMBED_CHUNK:
            return torch.cat([self(part) for part in x.split(EMBED_CHUNK)])
        return self.head(self.body(self.prepare(x)))

    def embed(self, x: Any, device: Any) -> np.ndarray:
        """The backbone's features of images ``x`` (uint8 or [0,1] floats), float32 on the
        host, in evaluation mode, ``EMBED_CHUNK`` images at a time."""
        was = self.training
        self.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(x), EMBED_CHUNK):
                part = torch.as_tensor(np.asarray(x[start : start + EMBED_CHUNK])).to(device)
                outs.append(self.body(self.prepare(part)).float().cpu())
        self.train(was)
        width = self.body.feature_width
        return torch.cat(outs).numpy() if outs else np.zeros((0, width), np.float32)

    def inference(self) -> nn.Module:
        """The model as exported: no augmentation, no batch-size branch."""
        return _Inference(self).cpu().eval()


class _Inference(nn.Module):
    def __init__(self, model: BackboneModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.head(self.model.body(self.model.prepare(x)))
