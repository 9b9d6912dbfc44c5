"""Images to ONNX (or TorchScript): the whole model, pixel scaling and per-channel
normalisation included; augmentation is left out (it runs in training only).

Graph input ``image``: uint8 pixels (n, C, H, W) at the training size and channel count. The
resize (bilinear, antialiased) and the channel conversion happen before, as ``predict`` does
them (``result.features.transform(images)`` gives exactly that input).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.plugin import Exporter, GraphInput, torch_to_onnx

IMAGE = "image"


def _normalised(model: Any) -> Any:
    """The trained ``ImageModel`` without augmentation and without the batch-size branch (a
    pretrained backbone's model says how: its input adaptation, backbone and head)."""
    import torch

    if hasattr(model, "inference"):
        return model.inference()

    class Normalised(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.body, self.mean, self.std = inner.body, inner.mean, inner.std

        def forward(self, x):
            x = x.float() / 255.0
            return self.body((x - self.mean) / self.std)

    return Normalised(model).cpu().eval()


class VisionExporter(Exporter):
    def inputs(self, result: Any) -> list[GraphInput]:
        from onnx import TensorProto

        enc = result.features
        h, w = enc.size
        return [
            GraphInput(
                IMAGE,
                TensorProto.UINT8,
                [None, enc.channels, h, w],
                f"uint8 pixels (n, {enc.channels}, {h}, {w}): resized to the training size "
                "first, as predict does (result.features.transform(images))",
            )
        ]

    def feed(self, result: Any, raw: Any) -> dict[str, np.ndarray]:
        return {IMAGE: np.ascontiguousarray(result.features.transform(raw))}

    def member(self, result: Any, index: int, member: Any, source: str | None) -> Any:
        import torch

        enc = result.features
        example = torch.zeros((2, enc.channels, *enc.size), dtype=torch.uint8)
        return torch_to_onnx(
            _normalised(member.predictor.module), example, IMAGE, {0: "n"}, regression=False
        )

    def torch_module(self, result: Any, member: Any) -> Any:
        return _normalised(member.predictor.module)

    def torch_input(self, result: Any, index: int, member: Any, raw: Any) -> Any:
        import torch

        return torch.as_tensor(np.ascontiguousarray(result.features.transform(raw)))

    def torch_contract(self, result: Any) -> str:
        return self.inputs(result)[0].description

    def sample(self, result: Any, n: int, seed: int) -> np.ndarray:
        """Noise images of the training size (every pixel path of the network is exercised)."""
        enc = result.features
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (min(n, 64), enc.channels, *enc.size), dtype=np.uint8)
