"""The ``text-backbone`` model kind: a Hugging Face encoder with a head, trained through the
torch kind's loop (``TorchKind.train``), predicting from raw strings with the backbone's own
tokenizer, saved without pickle.

Training, by the trial's strategy: ``frozen`` encodes each row once (pooled features, cached
within the process: ``backbone_model.CACHE``) and trains the head alone on them (AdamW, cosine
schedule); ``last`` and ``all`` fine-tune the last layers or every layer with the head (AdamW,
one-cycle schedule with warm-up), the backbone's updates scaled by ``backbone_lr_factor``
(exactly a lower learning rate: each optimizer step moves a backbone weight that share of the
step AdamW took). A trial is not started when one epoch (for ``frozen``: encoding its rows not
yet cached, which cannot stop halfway) would not end before its deadline, timed on a few rows
first (a fine-tuning trial is, once the search has a finished trial; the first is scored where
the deadline stops it, as the torch loop scores any network).

The model folder of a member: ``weights.safetensors`` (encoder and head), ``backbone/config.json``
(the encoder's Hugging Face config) and ``tokenizer/`` (the tokenizer's own files), all listed in
the manifest; loading needs neither the network nor the original backbone folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from automl.plugin import DataError, StoppedUnscored, TorchKind, TorchPredictor

NAME = "text-backbone"
WEIGHTS = "weights.safetensors"
CONFIG = "backbone/config.json"
TOKENIZER = "tokenizer"
TIMED_ROWS = 8


def _device(device: Any) -> Any:
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class BackbonePredictor(TorchPredictor):
    """A backbone network that takes raw strings (or its token ids, int64 (n, L))."""

    kind = NAME

    def __init__(self, module: Any, tokenizer: Any, max_len: int, *args: Any) -> None:
        super().__init__(module, *args)
        self.tokenizer, self.max_len = tokenizer, int(max_len)

    @property
    def pad_id(self) -> int:
        return int(self.module.pad_id)

    def token_ids(self, texts: Any) -> np.ndarray:
        """The network's input for ``texts``: its tokenizer's ids, cut at its max length,
        padded with ``pad_id`` at the end of rows."""
        from automl_text.backbone_model import token_ids

        return token_ids(self.tokenizer, texts, self.max_len)

    def output(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        ids = x if x.dtype.kind in "iu" and x.ndim == 2 else self.token_ids(x.reshape(-1))
        order = np.argsort((ids != self.pad_id).sum(1), kind="stable")  # similar lengths
        out = super().output(ids[order])
        result = np.empty_like(out)
        result[order] = out
        return result


@contextlib.contextmanager
def slower(weights: list[Any], factor: float):
    """Every optimizer step moves ``weights`` by ``factor`` of the step it computed (a lower
    learning rate for them, whatever the optimizer and schedule)."""
    import torch
    from torch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    ids = {id(w) for w in weights}
    before: dict[int, tuple[Any, Any]] = {}

    def pre(optimizer, args, kwargs) -> None:
        for group in optimizer.param_groups:
            for w in group["params"]:
                if id(w) in ids and w.grad is not None:
                    before[id(w)] = (w, w.detach().clone())

    def post(optimizer, args, kwargs) -> None:
        with torch.no_grad():
            for w, old in before.values():
                w.mul_(factor).add_(old, alpha=1.0 - factor)
        before.clear()

    handles = [register_optimizer_step_pre_hook(pre), register_optimizer_step_post_hook(post)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class TextBackboneKind(TorchKind):
    name = NAME

    def suggest_training(self, trial) -> None:
        """Nothing: the family suggests its own training parameters (by strategy)."""

    def check_build(self, model) -> str | None:
        from automl_text.backbone_model import BackboneClassifier

        if not isinstance(model, BackboneClassifier):
            return "is not a BackboneClassifier (automl_text.backbone_model)"
        return None

    def train(self, family, model, params, data, metric, split, options):
        p = family.name + "."
        strategy = params[p + "strategy"]
        ids_train = model.token_ids(split.x_train)
        ids_valid = None if split.x_valid is None else model.token_ids(split.x_valid)
        dev = _device(options.device)
        model.to(dev)
        if options.deadline is not None and (strategy == "frozen" or not options.score_partial):
            self._check_time(model, strategy, ids_train, ids_valid, options.deadline, dev)
        frozen = strategy == "frozen"
        loop_params = {
            **params,
            "optimizer": "adamw",
            "lr": params[p + "lr"],
            "weight_decay": params[p + "weight_decay"],
            "batch_size": params[p + "batch_size"],
            "lr_schedule": "cosine" if frozen else "onecycle",
        }
        epochs = min(int(params[p + "epochs"]), int(data.max_epochs))
        data = dataclasses.replace(data, max_epochs=epochs)
        ids_split = dataclasses.replace(split, x_train=ids_train, x_valid=ids_valid)
        if frozen:
            outcome = self._train_head(
                family, model, loop_params, data, metric, ids_split, options
            )
        else:
            weights = model.trainable(strategy, int(params.get(p + "last_layers", 1)))
            with slower(weights, float(params[p + "backbone_lr_factor"])):
                outcome = super().train(
                    family, model, loop_params, data, metric, ids_split, options
                )
        inner = outcome.predictor
        outcome.predictor = BackbonePredictor(
            model,
            model.tokenizer,
            model.max_len,
            inner.problem_type,
            inner.n_outputs,
            inner.y_mean,
            inner.y_std,
            inner.device,
        )
        return outcome

    def _train_head(self, family, model, params, data, metric, split, options):
        from automl_text.backbone_model import CACHE

        dev = _device(options.device)
        key = (model.backbone["path"], model.pooling)
        f_train = CACHE.features(key, split.x_train, model, dev)
        f_valid = None
        if split.x_valid is not None:
            f_valid = CACHE.features(key, split.x_valid, model, dev)
        for weight in model.encoder.parameters():
            weight.requires_grad_(False)
        heads = dataclasses.replace(split, x_train=f_train, x_valid=f_valid)
        return super().train(family, model.head, params, data, metric, heads, options)

    def _check_time(self, model, strategy, ids_train, ids_valid, deadline, dev) -> None:
        """Not started (``StoppedUnscored``) when one epoch would not end by ``deadline``:
        a forward pass is timed on a few rows; training a row costs about three. (Asked of
        frozen trials, whose encoding cannot stop halfway, and of fine-tuning trials once the
        search has a finished trial: the first one is scored where the deadline stops it.)"""
        from automl_text.backbone_model import CACHE, encode_rows

        rows = [ids_train] + ([] if ids_valid is None else [ids_valid])
        if strategy == "frozen":
            key = (model.backbone["path"], model.pooling)
            todo = sum(len(CACHE.missing(key, r, model.pad_id)) for r in rows)
            cost_rows = float(todo)
        else:
            cost_rows = 3.0 * len(ids_train) + (0 if ids_valid is None else len(ids_valid))
        if not cost_rows:
            return
        sample = ids_train[np.linspace(0, len(ids_train) - 1, TIMED_ROWS).astype(int)]
        started = time.perf_counter()
        encode_rows(model, sample, dev)
        per_row = (time.perf_counter() - started) / len(sample)
        expected, left = per_row * cost_rows, deadline - time.monotonic()
        if expected > left:
            raise StoppedUnscored(
                f"not started: one epoch of backbone {model.backbone['name']!r} ({strategy}) "
                f"is expected to take ~{expected:.0f} s, {max(0.0, left):.0f} s left"
            )

    def save(self, predictor, folder: Path) -> tuple[dict[str, Any], list[str]]:
        from safetensors.torch import save_model

        folder.mkdir(parents=True, exist_ok=True)
        module = predictor.module
        (folder / CONFIG).parent.mkdir(exist_ok=True)
        module.encoder.config.to_json_file(str(folder / CONFIG))
        predictor.tokenizer.save_pretrained(str(folder / TOKENIZER))
        save_model(module, str(folder / WEIGHTS), force_contiguous=True)
        tokenizer_files = sorted(
            p.relative_to(folder).as_posix()
            for p in (folder / TOKENIZER).rglob("*")
            if p.is_file()
        )
        kept = {
            "y_scale": [predictor.y_mean, predictor.y_std],
            "max_len": predictor.max_len,
            "pad_id": predictor.pad_id,
            "tokenizer_files": tokenizer_files,
            "backbone": module.backbone["name"],
        }
        return kept, [WEIGHTS, CONFIG, *tokenizer_files]

    def load(self, family, params, spec, entry, path, device, trusted):
        from automl_text.backbone_model import BackboneClassifier
        from automl_text.backbones import quiet_loading, require_transformers

        require_transformers()
        from safetensors.torch import load_model
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        weights, config = path(WEIGHTS), path(CONFIG)
        tokenizer_dir = {path(name).parent for name in entry["tokenizer_files"]}
        p = family.name + "."
        with quiet_loading():
            encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(config.parent)))
            tokenizer = AutoTokenizer.from_pretrained(
                str(min(tokenizer_dir, key=lambda d: len(d.parts))), local_files_only=True
            )
        module = BackboneClassifier(
            encoder,
            spec.n_outputs,
            params[p + "pooling"],
            int(params[p + "head_hidden"]),
            float(params[p + "dropout"]),
            int(entry["pad_id"]),
        )
        module.tokenizer, module.max_len = tokenizer, int(entry["max_len"])
        module.backbone = {"name": entry["backbone"], "path": None}
        try:
            missing, unexpected = load_model(module, str(weights), strict=False)
        except Exception as exc:
            raise DataError(f"{weights} does not load ({str(exc).splitlines()[0]})") from None
        if missing or unexpected:
            raise DataError(
                f"{weights} does not fit the network its member's config builds (missing "
                f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
            )
        mean, std = entry["y_scale"]
        dev = _device(device)
        return BackbonePredictor(
            module.to(dev),
            tokenizer,
            module.max_len,
            spec.problem_type,
            spec.n_outputs,
            mean,
            std,
            dev,
        )

    def describe(self, family, predictor) -> tuple[str, int | None, str]:
        module = predictor.module
        config = module.encoder.config
        text = (
            f"{config.model_type} backbone {module.backbone['name']!r} ({config.num_hidden_layers}"
            f" layers, width {config.hidden_size}), {module.pooling} pooling, max length "
            f"{predictor.max_len}; head: {module.head}"
        )
        return text, sum(int(p.numel()) for p in module.parameters()), "parameters"


KIND = TextBackboneKind()
