"""Torch text models. Each takes int64 ids (n, L) with pad id 0 at the end of each row, trims the
trailing all-pad columns of its batch (so a batch costs its own longest text, not the searched
sequence length) and, at evaluation, runs big inputs in chunks."""

from __future__ import annotations

import math

import torch
from torch import nn

from automl.plugin import space

EVAL_CHUNK = 1024


class TextModule(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and len(x) > EVAL_CHUNK:
            return torch.cat([self(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)])
        mask = x != 0
        width = max(1, int(mask.sum(1).max().item())) if len(x) else 1
        x, mask = x[:, :width], mask[:, :width]
        return self.encode(x, mask)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    filled = h.masked_fill(~mask.unsqueeze(-1), -1e4)
    out = filled.max(1).values
    return torch.where(mask.any(1, keepdim=True), out, torch.zeros_like(out))


def head(width_in: int, hidden: int, n_outputs: int, activation: str, dropout: float):
    layers: list[nn.Module] = [nn.Dropout(dropout)]
    if hidden:
        layers += [nn.Linear(width_in, hidden), space.make_activation(activation)]
        layers += [nn.Dropout(dropout)]
        width_in = hidden
    layers.append(nn.Linear(width_in, n_outputs))
    return nn.Sequential(*layers)


class BagOfEmbeddings(TextModule):
    """fastText: the mean of word, hashed-bigram and hashed char-n-gram embeddings."""

    def __init__(self, n_ids, dim, hidden, n_outputs, activation, dropout):
        super().__init__()
        self.embed = nn.Embedding(n_ids, dim, padding_idx=0)
        nn.init.uniform_(self.embed.weight, -1.0 / dim, 1.0 / dim)
        with torch.no_grad():
            self.embed.weight[0].zero_()
        self.head = head(dim, hidden, n_outputs, activation, dropout)

    def encode(self, x, mask):
        return self.head(masked_mean(self.embed(x), mask))


class CNN(TextModule):
    """Kim-style 1-D CNN: parallel convolutions of several widths, max-pooled over time."""

    def __init__(self, n_ids, dim, filters, kernels, n_outputs, activation, dropout, emb_drop):
        super().__init__()
        self.embed = nn.Embedding(n_ids, dim, padding_idx=0)
        self.emb_drop = nn.Dropout(emb_drop)
        self.kernels = tuple(kernels)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k, padding=k // 2) for k in kernels)
        self.act = space.make_activation(activation)
        self.head = head(filters * len(kernels), 0, n_outputs, activation, dropout)

    def encode(self, x, mask):
        h = self.emb_drop(self.embed(x)).transpose(1, 2)  # (n, dim, L)
        pooled = []
        for conv in self.convs:
            c = self.act(conv(h))[:, :, : x.shape[1]]  # same length as the input
            pooled.append(masked_max(c.transpose(1, 2), mask))
        return self.head(torch.cat(pooled, dim=1))


class RNN(TextModule):
    """Bidirectional GRU/LSTM over packed sequences, max/mean-pooled (or last states)."""

    def __init__(  # noqa: PLR0913
        self,
        n_ids,
        dim,
        cell,
        hidden,
        layers,
        bidirectional,
        pooling,
        n_outputs,
        activation,
        dropout,
    ):
        super().__init__()
        self.embed = nn.Embedding(n_ids, dim, padding_idx=0)
        self.emb_drop = nn.Dropout(dropout / 2)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(
            dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.pooling = pooling
        width = hidden * (2 if bidirectional else 1)
        self.head = head(width, width, n_outputs, activation, dropout)

    def encode(self, x, mask):
        lengths = mask.sum(1).clamp(min=1).cpu()
        h = self.emb_drop(self.embed(x))
        packed = nn.utils.rnn.pack_padded_sequence(
            h, lengths, batch_first=True, enforce_sorted=False
        )
        out, state = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        mask = mask.clone()
        mask[:, 0] = True
        if self.pooling == "max":
            pooled = masked_max(out, mask)
        elif self.pooling == "mean":
            pooled = masked_mean(out, mask)
        else:  # the last layer's final states (both directions)
            final = state[0] if isinstance(state, tuple) else state
            k = 2 if self.rnn.bidirectional else 1
            pooled = final[-k:].transpose(0, 1).reshape(len(x), -1)
        return self.head(pooled.float())


def sinusoidal(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div)
    return table


class Transformer(TextModule):
    """A small pre-norm Transformer encoder with a [CLS] vector, learned or sinusoidal
    positions, pooled by [CLS] or by the mean over real tokens."""

    def __init__(  # noqa: PLR0913
        self,
        n_ids,
        max_len,
        width,
        heads,
        layers,
        ff_mult,
        positions,
        pooling,
        n_outputs,
        activation,
        dropout,
    ):
        super().__init__()
        self.embed = nn.Embedding(n_ids, width, padding_idx=0)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.positions = positions
        if positions == "learned":
            self.pos = nn.Embedding(max_len + 1, width)
            nn.init.normal_(self.pos.weight, std=0.02)
        else:
            self.register_buffer("pos_table", sinusoidal(max_len + 1, width), persistent=False)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            width,
            heads,
            width * ff_mult,
            dropout,
            activation=space.make_activation(activation),
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(width), enable_nested_tensor=False
        )
        self.pooling = pooling
        self.head = head(width, 0, n_outputs, activation, dropout)
        self.scale = math.sqrt(width)

    def encode(self, x, mask):
        n, length = x.shape
        h = self.embed(x) * self.scale
        h = torch.cat([self.cls.expand(n, 1, -1), h], dim=1)
        idx = torch.arange(length + 1, device=x.device)
        h = h + (self.pos(idx) if self.positions == "learned" else self.pos_table[idx])
        keep = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=x.device), mask], dim=1)
        h = self.encoder(self.drop(h), src_key_padding_mask=~keep)
        pooled = h[:, 0] if self.pooling == "cls" else masked_mean(h, keep)
        return self.head(pooled)
