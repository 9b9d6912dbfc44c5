"""The ``text-backbone`` family: the Hugging Face backbones named by ``fit(pretrained=...)``,
fine-tuned inside the search beside the from-scratch text families (``models=`` restricts it as
any family). It supports the data only when backbones were named; several named backbones are
one searched categorical (``text-backbone.backbone``), each one's known-good configuration
tried first, in the order named (``TaskData.first_families`` puts this family first).

The space: the strategy (``frozen``: the encoder's pooled features computed once per row, a
head trained on them; ``last``: the last 1-3 layers fine-tuned with the head; ``all``: every
layer), the head's learning rate (AdamW) and the backbone's factor of it, weight decay, the
max length in tokens (cut to what the backbone reads), pooling ([CLS] or mean), the head (a
hidden layer or none, dropout), batch size and epochs (at most the task's ``max_epochs``);
pruned per epoch like the other networks.
"""

from __future__ import annotations

from typing import Any

from automl.plugin import DataSpec, ModelFamily, PluginError, TaskData
from automl_text.backbone_kind import KIND

NAME = "text-backbone"
STRATEGIES = ("frozen", "last", "all")
LENGTHS = (32, 64, 128, 256, 512)
EPOCHS = (2, 3, 5, 10, 20, 40)
BATCH_SIZES = (8, 16, 32, 64)
# tokens per word of an English text under a subword tokenizer (and [CLS]/[SEP]), to turn the
# task's 95th percentile of words into a default max length
SUBWORDS_PER_WORD = 1.4


def _backbones(extra: dict[str, Any]) -> list[dict[str, Any]]:
    return list(extra.get("backbones") or [])


def _backbone(spec: DataSpec, name: str) -> dict[str, Any]:
    for info in _backbones(spec.extra):
        if info["name"] == name:
            return info
    raise PluginError(
        f"backbone {name!r} of this trial is not among the data's pretrained backbones "
        f"{[b['name'] for b in _backbones(spec.extra)]}: resume the study with the same "
        "pretrained="
    )


_LOADED: dict[str, Any] = {}  # tokenizers by folder (read once per process)


def _tokenizer(info: dict[str, Any]) -> Any:
    from pathlib import Path

    from automl_text.backbones import load_tokenizer

    path = info["path"]
    if path not in _LOADED:
        _LOADED[path] = load_tokenizer(Path(path), info["name"])
    return _LOADED[path]


class TextBackboneFamily(ModelFamily):
    name = NAME
    task = "text"
    kind = KIND

    def supports(self, data: TaskData) -> bool:
        return bool(_backbones(data.spec.extra)) and super().supports(data)

    def why_unsupported(self, data: TaskData) -> str:
        if data.problem_type in self.problem_types:
            return (
                f"{self.name} fine-tunes pretrained backbones: name them with pretrained= "
                "(a Hugging Face model id or a local folder)"
            )
        return super().why_unsupported(data)

    def _p(self, key: str) -> str:
        return f"{self.name}.{key}"

    def suggest(self, trial, data: TaskData) -> None:
        p = self._p
        trial.suggest_categorical(p("backbone"), [b["name"] for b in _backbones(data.spec.extra)])
        strategy = trial.suggest_categorical(p("strategy"), STRATEGIES)
        if strategy == "last":
            trial.suggest_int(p("last_layers"), 1, 3)
        if strategy != "frozen":
            trial.suggest_float(p("backbone_lr_factor"), 0.01, 0.5, log=True)
        trial.suggest_float(p("lr"), 1e-4, 1e-2, log=True)
        trial.suggest_float(p("weight_decay"), 1e-6, 1e-1, log=True)
        trial.suggest_categorical(p("max_len"), self._lengths(data))
        trial.suggest_categorical(p("pooling"), ("mean", "cls"))
        trial.suggest_categorical(p("head_hidden"), (0, 256))
        trial.suggest_float(p("dropout"), 0.0, 0.3)
        trial.suggest_categorical(p("batch_size"), BATCH_SIZES)
        trial.suggest_categorical(p("epochs"), EPOCHS)

    def _lengths(self, data: TaskData) -> tuple[int, ...]:
        longest = max(b["max_positions"] for b in _backbones(data.spec.extra))
        return tuple(n for n in LENGTHS if n <= longest) or (longest,)

    def build(self, params: dict[str, Any], spec: DataSpec):
        from pathlib import Path

        from automl_text.backbone_model import BackboneClassifier
        from automl_text.backbones import load_encoder

        p = self._p
        info = _backbone(spec, params[p("backbone")])
        tokenizer = _tokenizer(info)
        module = BackboneClassifier(
            load_encoder(Path(info["path"]), info["name"]),
            spec.n_outputs,
            params[p("pooling")],
            int(params[p("head_hidden")]),
            float(params[p("dropout")]),
            tokenizer.pad_token_id,
        )
        module.tokenizer = tokenizer
        module.max_len = min(int(params[p("max_len")]), int(info["max_positions"]))
        module.backbone = {"name": info["name"], "path": info["path"]}
        return module

    def default_params(self, data: TaskData) -> dict[str, Any]:
        """Frozen encoder, mean pooling, a linear head (AdamW at 2e-3), 20 epochs."""
        return self._frozen(data, _backbones(data.spec.extra)[0]["name"])

    def _frozen(self, data: TaskData, backbone: str) -> dict[str, Any]:
        p = self._p
        words = float(data.spec.extra.get("p95_tokens", 64))
        wanted = int(words * SUBWORDS_PER_WORD) + 2
        lengths = self._lengths(data)
        return {
            p("backbone"): backbone,
            p("strategy"): "frozen",
            p("lr"): 2e-3,
            p("weight_decay"): 1e-4,
            p("max_len"): next((n for n in lengths if n >= wanted), lengths[-1]),
            p("pooling"): "mean",
            p("head_hidden"): 0,
            p("dropout"): 0.1,
            p("batch_size"): 32,
            p("epochs"): 20,
        }

    def more_defaults(self, data: TaskData) -> list[dict[str, Any]]:
        """The other named backbones frozen (in the order named), then the first one fine-tuned
        whole: head at 1e-3, the backbone at 3% of it (3e-5), 3 epochs, batches of 16."""
        names = [b["name"] for b in _backbones(data.spec.extra)]
        p = self._p
        first = self._frozen(data, names[0])
        tuned = {
            **first,
            p("strategy"): "all",
            p("backbone_lr_factor"): 0.03,
            p("lr"): 1e-3,
            p("weight_decay"): 0.01,
            p("batch_size"): 16,
            p("epochs"): 3,
        }
        return [*(self._frozen(data, name) for name in names[1:]), tuned]
