"""Pretrained torchvision backbones (``fit(..., pretrained=...)``): which architectures, where
their weights come from, and how they are checked before any training.

A name (``"resnet18"``) means torchvision's default weights for it: found in torch's cache
(``$TORCH_HOME/hub/checkpoints/<file>``), else downloaded there by torchvision when the network
allows; offline and not cached, a ``DataError`` names the file and where to put it. A pair
(``{"resnet18": "r18.pth"}``) means a local state dict of that architecture (``torch.save`` of
its ``state_dict()``, read with ``weights_only=True``, or a ``.safetensors`` file). Its
classifier head may have any number of classes: the head is replaced anyway. Anything else in
the file (missing tensors, other shapes, unreadable) is a ``DataError`` naming the file, raised
by ``adapt`` before training.
"""

from __future__ import annotations

import difflib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from automl.plugin import DataError, ParameterError

# architecture -> the parameter prefixes of its last stage(s): what the "last" fine-tuning
# strategy trains besides the new head
ARCHS: dict[str, tuple[str, ...]] = {
    "resnet18": ("layer4.",),
    "resnet34": ("layer4.",),
    "resnet50": ("layer4.",),
    "mobilenet_v3_small": ("features.11.", "features.12.", "classifier."),
    "mobilenet_v3_large": ("features.15.", "features.16.", "classifier."),
    "efficientnet_b0": ("features.7.", "features.8.", "classifier."),
    "convnext_tiny": ("features.7.", "classifier."),
    "regnet_y_400mf": ("trunk_output.block4.",),
    "vit_b_16": ("encoder.layers.encoder_layer_11.", "encoder.ln."),
}
# architectures that take one input size only (a ViT's position embeddings)
FIXED_SIZE = {"vit_b_16": 224}
CONNECT_TIMEOUT = 3.0  # seconds to reach the weights' host before calling it offline
_STATES: OrderedDict[tuple[str, str, float, int], dict[str, Any]] = OrderedDict()
KEEP_STATES = 4  # pretrained state dicts kept in memory (one per named backbone, usually)


def check_arch(name: str) -> str:
    if name in ARCHS:
        return name
    close = difflib.get_close_matches(name, list(ARCHS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParameterError(
        f"pretrained names {name!r}, which is not an image backbone the vision task knows"
        f"{hint}; it knows {', '.join(ARCHS)}"
    )


def default_weights(arch: str) -> Any:
    """torchvision's default weights enum of ``arch`` (metadata only: nothing is read)."""
    from torchvision.models import get_model_weights

    return get_model_weights(arch).DEFAULT


def cache_file(arch: str) -> Path:
    """Where torchvision keeps (and looks for) ``arch``'s default weights."""
    import torch

    name = default_weights(arch).url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def resolve(pairs: Any) -> dict[str, dict[str, Any]]:
    """``pretrained``'s (name, file or None) pairs -> per architecture, in the caller's order,
    what the model spec keeps: where the weights came from and the input they expect (the
    normalisation of torchvision's weights for it, their own size). Every file is read and
    checked here (kept in memory for the search)."""
    out: dict[str, dict[str, Any]] = {}
    for name, file in pairs:
        arch = check_arch(str(name))
        weights = default_weights(arch)
        preset = weights.transforms()
        if file is None:
            path = cache_file(arch)
            if not path.is_file():
                _download(arch, weights, path)
            source = f"torchvision {weights}"
        else:
            path = Path(os.fspath(file)).expanduser().resolve()
            source = "local file"
        state_of(arch, path)  # read and checked now: errors before any training
        out[arch] = {
            "source": source,
            "file": str(path),
            "mean": [float(m) for m in preset.mean],
            "std": [float(s) for s in preset.std],
            "size": int(preset.crop_size[0]),
        }
    return out


def _download(arch: str, weights: Any, path: Path) -> None:
    """torchvision's default weights into its cache; a DataError at once when the host cannot
    be reached (no waiting on a network that is not there)."""
    import socket
    from urllib.parse import urlparse

    url = weights.url
    host = urlparse(url).hostname or ""
    fix = (
        f"put {path.name} (from {url}) at {path} (the folder is $TORCH_HOME/hub/checkpoints), "
        f"or pass the weights as a local file: pretrained={{{arch!r}: 'path/to/{arch}.pth'}}"
    )
    try:
        socket.create_connection((host, 443), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise DataError(
            f"the default weights of {arch} ({weights}) are not in torch's cache and cannot be "
            f"downloaded (offline: {exc}); {fix}"
        ) from None
    try:
        weights.get_state_dict(progress=False, check_hash=True)  # saved to path by torchvision
    except Exception as exc:
        raise DataError(
            f"downloading the default weights of {arch} failed ({type(exc).__name__}: {exc}); "
            f"{fix}"
        ) from None


def identity(file: str) -> str:
    """A weights file as features computed with it are cached: its path, mtime and size."""
    stat = Path(file).stat()
    return f"{file}:{stat.st_mtime_ns}:{stat.st_size}"


def state_of(arch: str, path: Path) -> dict[str, Any]:
    """The checked state dict of ``arch`` in ``path`` (kept in memory, by file and mtime)."""
    try:
        stat = path.stat()
    except OSError:
        raise DataError(
            f"the {arch} weights file {path} does not exist; pass the path of a state dict "
            f"saved from torchvision.models.{arch} (torch.save(model.state_dict(), path))"
        ) from None
    key = (arch, str(path), stat.st_mtime, stat.st_size)
    if key in _STATES:
        _STATES.move_to_end(key)
        return _STATES[key]
    state = check_state(arch, read_state(arch, path), path)
    _STATES[key] = state
    while len(_STATES) > KEEP_STATES:
        _STATES.popitem(last=False)
    return state


def read_state(arch: str, path: Path) -> dict[str, Any]:
    """A state dict from a ``.safetensors`` file or a ``torch.save`` file (tensors and plain
    data only); unwraps ``{"state_dict": ...}`` / ``{"model": ...}`` and DataParallel's
    ``module.`` prefix."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot read the {arch} weights file {path} as a state dict ({why[:300]}); pass a "
            "file written by torch.save(model.state_dict(), path) or safetensors"
        ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise DataError(
            f"the {arch} weights file {path} holds {type(state).__name__}, not a state dict of "
            "tensors; pass a file written by torch.save(model.state_dict(), path)"
        )
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def check_state(arch: str, state: dict[str, Any], path: Path) -> dict[str, Any]:
    """``state`` without its classifier head, once it fits ``arch`` (every other tensor there,
    of its shape); a DataError naming the file and what does not fit otherwise."""
    net, head = network(arch)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    body = {k: v for k, v in state.items() if not k.startswith(head + ".")}
    missing = sorted(set(expected) - set(body))
    extra = sorted(set(body) - set(expected))
    shapes = [
        f"{k} {tuple(v.shape)} (expected {expected[k]})"
        for k, v in body.items()
        if k in expected and tuple(v.shape) != expected[k]
    ]
    if missing or extra or shapes:
        problems = []
        if missing:
            problems.append(f"{len(missing)} tensor(s) missing ({', '.join(missing[:3])} ...)")
        if extra:
            problems.append(f"{len(extra)} unknown tensor(s) ({', '.join(extra[:3])} ...)")
        if shapes:
            problems.append(f"{len(shapes)} of another shape ({'; '.join(shapes[:3])})")
        raise DataError(
            f"the weights file {path} does not fit torchvision's {arch}: "
            f"{', '.join(problems)}; pass a state dict saved from torchvision.models.{arch} "
            "(its classifier head may have any number of classes)"
        )
    return body


def network(arch: str) -> tuple[Any, str]:
    """torchvision's ``arch`` with random weights and its final classifier layer replaced by
    an identity (the network gives features), and that layer's name."""
    from torch import nn
    from torchvision.models import get_model

    net = get_model(arch, weights=None)
    head = [name for name, m in net.named_modules() if isinstance(m, nn.Linear)][-1]
    parent_name, _, leaf = head.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    width = getattr(parent, leaf).in_features
    setattr(parent, leaf, nn.Identity())
    net.feature_width = width
    return net, head
