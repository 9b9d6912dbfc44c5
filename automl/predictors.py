"""Trained models behind one interface: ``output(x)`` gives class probabilities (n, k) or
regression values (n,), whatever trained them (torch or scikit-learn)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

EVAL_BATCH = 8192


class Predictor(ABC):
    kind: str
    has_proba: bool = True

    def __init__(self, problem_type: str, n_outputs: int) -> None:
        self.problem_type = problem_type
        self.n_outputs = n_outputs

    @abstractmethod
    def output(self, x: Any) -> np.ndarray:
        """Probabilities (n, k) for classification, values (n,) for regression."""


class TorchPredictor(Predictor):
    kind = "torch"

    def __init__(
        self,
        module: Any,
        problem_type: str,
        n_outputs: int,
        y_mean: float = 0.0,
        y_std: float = 1.0,
        device: Any = "cpu",
    ) -> None:
        super().__init__(problem_type, n_outputs)
        self.module, self.y_mean, self.y_std, self.device = module, y_mean, y_std, device

    def output(self, x: Any) -> np.ndarray:
        import torch

        self.module.eval()
        x = torch.as_tensor(x)
        n = len(x)
        # one array written batch by batch: a list of each batch's small output, kept alive
        # between the batches' large freed activations, fragments the heap (200,000 rows of
        # a 256-wide MLP at 8,192 a batch: +213 MiB resident, against +16 written in place)
        out = np.empty((n, 1 if self.problem_type == "regression" else self.n_outputs))
        with torch.no_grad(), _autocast(self.device):
            for start in range(0, n, EVAL_BATCH):
                part = self.module(x[start : start + EVAL_BATCH].to(self.device)).float()
                if self.problem_type != "regression":
                    part = torch.softmax(part, dim=1)
                out[start : start + len(part)] = part.reshape(len(part), -1).cpu().numpy()
        if self.problem_type == "regression":
            return out.reshape(-1) * self.y_std + self.y_mean
        return out


class SklearnPredictor(Predictor):
    kind = "sklearn"

    def __init__(self, estimator: Any, problem_type: str, n_outputs: int) -> None:
        super().__init__(problem_type, n_outputs)
        self.estimator = estimator
        self.has_proba = problem_type == "regression" or hasattr(estimator, "predict_proba")

    def output(self, x: Any) -> np.ndarray:
        """Outputs of ``x``, ``BLOCK_ROWS`` rows at a time: scikit-learn's trees and boosting
        copy their whole input to float64 first (200,000 validation rows of 103 pair columns:
        165 MB at once, 42 MB a block)."""
        n = x.shape[0] if hasattr(x, "shape") else len(x)  # numpy or scipy.sparse rows
        if n <= BLOCK_ROWS:
            return self._output(x)
        return np.concatenate(
            [self._output(x[start : start + BLOCK_ROWS]) for start in range(0, n, BLOCK_ROWS)]
        )

    def _output(self, x: Any) -> np.ndarray:
        if self.problem_type == "regression":
            return np.asarray(self.estimator.predict(x), dtype=np.float64)
        cols = np.asarray(self.estimator.classes_, dtype=np.int64)
        n = x.shape[0]  # numpy or scipy.sparse rows
        out = np.zeros((n, self.n_outputs))
        if self.has_proba:
            out[:, cols] = self.estimator.predict_proba(x)
        else:  # one-hot of the hard prediction: a model without probabilities
            out[np.arange(n), np.asarray(self.estimator.predict(x), dtype=np.int64)] = 1.0
        return out


BLOCK_ROWS = 50_000  # rows a scikit-learn model predicts at a time (SklearnPredictor.output)


class FeaturizedPredictor(Predictor):
    """A model that needs its family's own input transform (fitted with it) before it."""

    def __init__(self, featurizer: Any, inner: Predictor, spec: Any) -> None:
        super().__init__(inner.problem_type, inner.n_outputs)
        self.featurizer, self.inner, self.spec = featurizer, inner, spec
        self.kind = inner.kind
        self.has_proba = inner.has_proba

    def output(self, x: Any) -> np.ndarray:
        return self.inner.output(self.featurizer.transform(x))


def _autocast(device: Any):
    """bf16 autocast on CUDA, a no-op elsewhere."""
    import contextlib

    import torch

    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
