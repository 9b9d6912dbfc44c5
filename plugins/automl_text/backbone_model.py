"""The network of a pretrained text backbone: the Hugging Face encoder, its pooled output
([CLS] or the mean over real tokens) and a small head. It takes int64 token ids (n, L) from
the backbone's own tokenizer, padded at the end of rows with the tokenizer's pad id (the
attention mask is ``ids != pad_id``); ``token_ids`` makes them from raw strings.

Frozen-encoder trials train the head alone on pooled features computed once: ``FeatureCache``
keeps them per backbone, pooling and token-id row within the process (so the training, the
validation and the refit's rows are each encoded once, whatever max length a trial chose:
a row cut at another length is another row), up to ``CACHE_ROWS`` rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.plugin import PluginError
from automl_text.modules import head, masked_mean

EVAL_CHUNK = 64  # rows per forward pass at evaluation (activations grow with rows x length)
FEATURE_BATCH = 32
CACHE_ROWS = 200_000


def token_ids(tokenizer: Any, texts: Any, max_len: int) -> np.ndarray:
    """int64 ids (n, L) of ``texts``, cut at ``max_len`` tokens (special ones included),
    padded at the end of rows to the longest row with the tokenizer's pad id."""
    tokenizer.padding_side = "right"
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, 1), dtype=np.int64)
    out = tokenizer(
        texts,
        truncation=True,
        max_length=int(max_len),
        padding="longest",
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    rows = out["input_ids"]
    width = max(1, max(map(len, rows)))
    ids = np.full((len(rows), width), tokenizer.pad_token_id, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def find_layers(encoder: nn.Module) -> nn.ModuleList | None:
    """The encoder's stack of transformer layers: its longest ``ModuleList`` of as many
    layers as the config says (BERT's ``encoder.layer``, DistilBERT's ``transformer.layer``)."""
    n = int(getattr(encoder.config, "num_hidden_layers", 0) or 0)
    stacks = [m for m in encoder.modules() if isinstance(m, nn.ModuleList) and len(m) == n]
    return stacks[0] if stacks and n else None


class BackboneClassifier(nn.Module):
    """Encoder, pooling, head. ``forward`` trims the trailing all-pad columns of its batch and
    runs big inputs in chunks at evaluation; ``encode(ids, mask)`` is the traced graph. The
    family attaches the backbone's tokenizer, the trial's max length and what the backbone is
    (``backbone``: its name and folder)."""

    tokenizer: Any = None
    max_len: int = 512
    backbone: dict[str, Any] = {}  # noqa: RUF012 (replaced per instance)

    def __init__(  # noqa: PLR0913
        self,
        encoder: nn.Module,
        n_outputs: int,
        pooling: str,
        head_hidden: int,
        dropout: float,
        pad_id: int,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        width = int(encoder.config.hidden_size)
        self.head = head(width, head_hidden, n_outputs, "gelu", dropout)
        self.pooling, self.pad_id = pooling, int(pad_id)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not self.training and len(ids) > EVAL_CHUNK:
            return torch.cat(
                [self(ids[i : i + EVAL_CHUNK]) for i in range(0, len(ids), EVAL_CHUNK)]
            )
        mask = ids != self.pad_id
        width = max(1, int(mask.sum(1).max().item())) if len(ids) else 1
        return self.encode(ids[:, :width], mask[:, :width])

    def token_ids(self, texts: Any) -> np.ndarray:
        return token_ids(self.tokenizer, texts, self.max_len)

    def trainable(self, strategy: str, last: int) -> list[nn.Parameter]:
        """Set which encoder weights train (``last``: the top ``last`` layers; ``all``:
        every one) and return them."""
        if strategy == "last":
            layers = find_layers(self.encoder)
            if layers is None:
                raise PluginError(
                    f"backbone {self.backbone.get('name')!r}: no stack of "
                    f"{self.encoder.config.num_hidden_layers} layers found to fine-tune the "
                    "last of; search the strategies 'frozen' or 'all' for it"
                )
            for weight in self.encoder.parameters():
                weight.requires_grad_(False)
            for layer in list(layers)[-max(1, last) :]:
                for weight in layer.parameters():
                    weight.requires_grad_(True)
        else:
            for weight in self.encoder.parameters():
                weight.requires_grad_(True)
        return [w for w in self.encoder.parameters() if w.requires_grad]

    def pooled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        return masked_mean(hidden, mask)

    def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(ids, mask))


def _lengths(ids: np.ndarray, pad_id: int) -> np.ndarray:
    return (ids != pad_id).sum(1)


def encode_rows(model: BackboneClassifier, ids: np.ndarray, device: Any) -> np.ndarray:
    """Pooled features (n, width) of token-id rows, the encoder in evaluation mode, rows of
    similar length batched together (less padding)."""
    model.eval()
    lengths = _lengths(ids, model.pad_id)
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(ids), int(model.encoder.config.hidden_size)), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(ids), FEATURE_BATCH):
            rows = order[start : start + FEATURE_BATCH]
            width = max(1, int(lengths[rows].max()))
            batch = torch.as_tensor(ids[rows, :width]).to(device)
            out[rows] = model.pooled(batch, batch != model.pad_id).float().cpu().numpy()
    return out


class FeatureCache:
    """Pooled features of token-id rows, per (backbone, pooling), oldest tables dropped first
    beyond ``CACHE_ROWS`` rows in all."""

    def __init__(self, max_rows: int = CACHE_ROWS) -> None:
        self.tables: OrderedDict[tuple, dict[bytes, np.ndarray]] = OrderedDict()
        self.max_rows = max_rows
        self.lock = threading.Lock()
        self.encoded = 0  # rows run through an encoder (the tests count them)

    def missing(self, key: tuple, ids: np.ndarray, pad_id: int) -> list[int]:
        """The positions of the rows not yet encoded."""
        table = self.tables.get(key, {})
        keys = self._keys(ids, pad_id)
        return [i for i, k in enumerate(keys) if k not in table]

    def features(
        self, key: tuple, ids: np.ndarray, model: BackboneClassifier, device: Any
    ) -> np.ndarray:
        keys = self._keys(ids, model.pad_id)
        with self.lock:
            table = self.tables.setdefault(key, {})
            self.tables.move_to_end(key)
            todo = sorted({i for i, k in enumerate(keys) if k not in table}, key=keys.__getitem__)
        if todo:
            new = encode_rows(model, ids[todo], device)
            with self.lock:
                for i, row in zip(todo, new):
                    table[keys[i]] = row
                self.encoded += len(todo)
                self._evict(key)
        return np.stack([table[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)

    def _evict(self, keep: tuple) -> None:
        while sum(map(len, self.tables.values())) > self.max_rows and len(self.tables) > 1:
            oldest = next(k for k in self.tables if k != keep)
            del self.tables[oldest]

    @staticmethod
    def _keys(ids: np.ndarray, pad_id: int) -> list[bytes]:
        lengths = _lengths(ids, pad_id)
        return [ids[i, : lengths[i]].tobytes() for i in range(len(ids))]


CACHE = FeatureCache()
