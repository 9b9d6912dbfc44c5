"""Torch models: ``build`` returns an ``nn.Module`` that ``train_torch``
(``automl.kinds.torch_training``) trains with the shared training space (optimizer, learning
rate, batch size, schedule). The kind seeds torch before a build, empties CUDA's cache between
trials and retries a fit that ran out of device memory at half its batch size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl import space
from automl.errors import DataError
from automl.kinds._base import ModelKind

WEIGHTS = "weights.pt"


class TorchKind(ModelKind):
    name = "torch"

    @property
    def early_stopping_share(self) -> float:  # type: ignore[override]
        from automl.crossval import EARLY_STOPPING_SHARE

        return EARLY_STOPPING_SHARE

    def suggest_training(self, trial) -> None:
        space.suggest_training(trial)

    def train(self, family, model, params, data, metric, split, options):
        from automl.kinds.torch_training import train_torch

        space.init_weights(model, params.get("init", "default"), params.get("activation", "relu"))
        problem = (data.problem_type, data.spec.n_outputs)
        return train_torch(
            model, params, split, options, problem, metric, max_epochs=data.max_epochs
        )

    def check_build(self, model) -> str | None:
        import torch

        return None if isinstance(model, torch.nn.Module) else "is not a torch Module"

    def seed(self, seed: int) -> None:
        import torch

        torch.manual_seed(seed)

    def release(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def out_of_memory(self, exc: BaseException) -> bool:
        from automl.kinds.torch_training import is_out_of_memory

        return is_out_of_memory(exc)

    def torch_module(self, predictor) -> Any:
        return predictor.module

    def to_host(self, predictor) -> None:
        import torch

        predictor.module.to("cpu")
        predictor.device = torch.device("cpu")

    def nbytes(self, predictor) -> int:
        tensors = [*predictor.module.parameters(), *predictor.module.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def save(self, predictor, folder: Path) -> tuple[dict[str, Any], list[str]]:
        import torch

        state = {k: v.detach().cpu() for k, v in predictor.module.state_dict().items()}
        torch.save(state, folder / WEIGHTS)
        return {"y_scale": [predictor.y_mean, predictor.y_std]}, [WEIGHTS]

    def load(self, family, params, spec, entry, path, device, trusted):
        import torch

        from automl.predictors import TorchPredictor

        module = family.build(params, spec)
        weights = path(WEIGHTS)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle.UnpicklingError for anything but tensors and plain data
            why = str(exc).splitlines()[0]
            raise DataError(
                f"refusing to load {weights}: it is not a plain state dict ({why})"
            ) from None
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:  # the params build another network than the weights hold
            why = str(exc).splitlines()[0]
            raise DataError(
                f"{weights} does not fit the network its member's params build ({why})"
            ) from None
        mean, std = entry["y_scale"]
        return TorchPredictor(
            module.to(device), spec.problem_type, spec.n_outputs, mean, std, device
        )

    def describe(self, family, predictor) -> tuple[str, int | None, str]:
        module = predictor.module
        return str(module), sum(int(p.numel()) for p in module.parameters()), "parameters"
