"""Preprocessing and augmentation inside the model: the trainer hands it uint8 (N, C, H, W)
batches already on the device; the model scales, augments (training mode only, batched on the
device) and normalises per channel with the training split's statistics.

Augmentation is part of the search (trial params ``aug.*``): random crop with zero padding
(``aug.crop_pad`` pixels), horizontal flip (``aug.flip``: the search may turn it off, as digits
need), and a small random rotation / scaling (``aug.rotate`` degrees, ``aug.scale``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from automl_vision.augment_space import default_augmentation, suggest_augmentation

__all__ = ["ImageModel", "default_augmentation", "suggest_augmentation"]

EVAL_CHUNK_CPU = 2048  # rows per forward pass in eval mode on CPU (bounds the activation memory)


def random_crop(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Zero-pad by ``pad`` pixels and cut a random (H, W) window per image."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device)
    rows = (torch.arange(h, device=x.device)[None] + dy)[:, None, :, None]
    cols = (torch.arange(w, device=x.device)[None] + dx)[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor) -> torch.Tensor:
    mask = torch.rand(x.shape[0], device=x.device) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def random_affine(x: torch.Tensor, degrees: float, scale: float) -> torch.Tensor:
    """Rotate by up to ``degrees`` and zoom by up to ``scale`` (fraction), one grid_sample."""
    n = x.shape[0]
    angle = (torch.rand(n, device=x.device) * 2 - 1) * (degrees * math.pi / 180.0)
    zoom = 1.0 + (torch.rand(n, device=x.device) * 2 - 1) * scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class ImageModel(nn.Module):
    """uint8 (N,C,H,W) -> [0,1] floats -> augmentation (training only) -> per-channel
    normalisation -> the network (``body``)."""

    def __init__(self, body: nn.Module, spec: Any, params: dict[str, Any]) -> None:
        super().__init__()
        channels = spec.input_shape[0]
        mean = spec.extra.get("mean", [0.5] * channels)
        std = spec.extra.get("std", [0.25] * channels)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.crop_pad = int(params.get("aug.crop_pad", 0))
        self.flip = bool(params.get("aug.flip", False))
        self.rotate = float(params.get("aug.rotate", 0))
        self.scale = float(params.get("aug.scale", 0.0))
        self.body = body

    def on_device(self, device: torch.device) -> None:
        """Called by the core's training loop once the model is on ``device``: on CUDA the
        convolutions run channels-last (tensor cores), as the inputs are made in forward."""
        if device.type == "cuda":
            self.to(memory_format=torch.channels_last)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        if self.crop_pad > 0:
            x = random_crop(x, self.crop_pad)
        if self.flip:
            x = random_flip(x)
        if self.rotate > 0 or self.scale > 0:
            x = random_affine(x, self.rotate, self.scale)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and x.device.type == "cpu" and len(x) > EVAL_CHUNK_CPU:
            return torch.cat([self(part) for part in x.split(EVAL_CHUNK_CPU)])
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        if self.training:
            x = self.augment(x)
        x = (x - self.mean) / self.std
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.body(x)


class BasicBlock(nn.Module):
    """A ResNet basic block: two 3x3 convolutions with batch-norm and a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: str) -> None:
        from automl.plugin import space

        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1 = space.make_activation(act)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act2 = space.make_activation(act)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))
