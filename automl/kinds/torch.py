"""Torch models: ``build`` returns an ``nn.Module`` that ``automl.training.train_torch`` trains
with the shared training space (optimizer, learning rate, batch size, schedule)."""

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
        from automl.training import train_torch

        space.init_weights(model, params.get("init", "default"), params.get("activation", "relu"))
        return train_torch(
            model,
            params,
            split.x_train,
            split.y_train,
            split.x_valid,
            split.y_valid,
            problem_type=data.problem_type,
            n_outputs=data.spec.n_outputs,
            metric=metric,
            max_epochs=options.refit_epochs or data.max_epochs,
            schedule_epochs=options.schedule_epochs or data.max_epochs,
            device=options.device,
            seed=options.seed,
            on_epoch=options.on_epoch,
            deadline=options.deadline,
            sample_weight=split.w_train,
            reports=options.reports,
            score_partial=options.score_partial,
        )

    def check_build(self, model) -> str | None:
        import torch

        return None if isinstance(model, torch.nn.Module) else "is not a torch Module"

    def out_of_memory(self, exc: BaseException) -> bool:
        from automl.training import is_out_of_memory

        return is_out_of_memory(exc)

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
