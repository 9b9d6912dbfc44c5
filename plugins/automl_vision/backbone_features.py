"""Features of frozen backbones, kept in memory by what they depend on: the architecture, its
weights, the resolution and the images' bytes (so the validation rows, the refit and later
frozen trials reuse them), and small splits repeated to a minimum number of training steps."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from automl.plugin import Split


class FeatureCache:
    """Features of frozen backbones by (architecture, weights, resolution, the images' bytes),
    least recently used first out past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()

    @staticmethod
    def key(model: Any, source: str, x: np.ndarray) -> tuple[Any, ...]:
        digest = hashlib.blake2b(np.ascontiguousarray(x).data, digest_size=16).hexdigest()
        return (model.arch, source, model.resolution, x.shape, str(x.dtype), digest)

    def get(self, key: tuple[Any, ...]) -> np.ndarray | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[Any, ...], features: np.ndarray) -> None:
        if features.nbytes > self.max_bytes:
            return
        self.entries[key] = features
        while sum(f.nbytes for f in self.entries.values()) > self.max_bytes:
            self.entries.popitem(last=False)


def repeated(split: Split, min_rows: int) -> Split:
    """``split`` with its training rows (labels, weights) repeated whole until there are at
    least ``min_rows``: a few labelled images still make an epoch of several steps (each
    repeat is shuffled and, when fine-tuning, augmented anew). Validation rows stay as they
    are; a split as large already is returned unchanged."""
    n = len(split.x_train)
    times = math.ceil(min_rows / n) if n else 1
    if times <= 1:
        return split

    def tile(a: Any) -> Any:
        return None if a is None else np.concatenate([np.asarray(a)] * times)

    return dataclasses.replace(
        split,
        x_train=tile(split.x_train),
        y_train=tile(split.y_train),
        w_train=tile(split.w_train),
    )
