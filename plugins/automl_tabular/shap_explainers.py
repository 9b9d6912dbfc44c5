"""One function a SHAP explainer (tree, linear, expected gradients, bounded kernel), each run in
chunks under the deadline and reduced to the explained class's attributions."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.plugin import run_chunks, sample_rows

GRADIENT_BACKGROUND = 100  # the shap authors' advice for GradientExplainer / DeepExplainer
CHUNK = 25
PROBE_TREES = 8  # a forest's exact tree SHAP is timed on this many of its trees first
FILL = 0.8  # the minimum rows may fill this share of the time left at the probe's pace


class TreeTooSlow(Exception):
    """Exact tree SHAP would not explain the minimum rows before the deadline (the message
    says at what pace)."""


@dataclass
class Attributions:
    """SHAP on model-ready columns, for the rows explained so far."""

    values: np.ndarray  # (n, F)
    base: np.ndarray  # (n,)
    space: str
    algorithm: str
    on_columns: bool = False  # values already on the table's columns, not model-ready ones


def _pick(values: Any, expected: Any, classes: np.ndarray, columns: list[int] | None) -> tuple:
    """Per row, the attributions and base value of the explained class.

    ``values``: (n, F) for one output (regression, or the positive class of a binary margin
    model) or (n, F, K) / a list of K (n, F) arrays; ``columns`` maps class index → output index
    of the explainer (None: the same)."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=np.float64)
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    n = len(values)
    if values.ndim == 2 or (values.ndim == 3 and values.shape[2] == 1):
        values = values.reshape(n, -1)
        return values, np.full(n, expected.reshape(-1)[-1] if expected.size > 1 else expected[0])
    cols = classes[:n] if columns is None else np.asarray([columns[c] for c in classes[:n]])
    picked = np.zeros(values.shape[:2])
    base = np.zeros(n)
    ok = cols >= 0
    picked[ok] = values[np.flatnonzero(ok), :, cols[ok]]
    base[ok] = expected[cols[ok]]
    return picked, base


def _class_columns(estimator: Any, n_classes: int) -> list[int] | None:
    """Class index → the estimator's output column (-1: a class it never saw in training)."""
    seen = [int(c) for c in getattr(estimator, "classes_", [])]
    if not seen or seen == list(range(n_classes)):
        return None
    return [seen.index(c) if c in seen else -1 for c in range(n_classes)]


def _probe_forest(estimator: Any, x: np.ndarray, minimum: int, deadline: float) -> None:
    """Raise ``TreeTooSlow`` when a forest's path-dependent tree SHAP, timed on
    ``PROBE_TREES`` of its trees (parsing them and one row), says that parsing all of them and
    explaining ``minimum`` rows would not end before the deadline: its cost grows with the
    trees' leaves and depth, and 300 deep trees took 2.3 s a row on the 2-core machine."""
    import shap

    trees = getattr(estimator, "estimators_", None)
    if not isinstance(trees, list) or len(trees) <= PROBE_TREES or not len(x):
        return
    sub = copy.copy(estimator)
    sub.estimators_ = trees[:PROBE_TREES]
    sub.n_estimators = PROBE_TREES
    started = time.monotonic()
    shap.TreeExplainer(sub).shap_values(x[:1], check_additivity=False)
    scale = len(trees) / PROBE_TREES
    rows = min(minimum, len(x))
    # parsing and one row were timed together: count that time once per row, a bound above
    cost = (time.monotonic() - started) * scale * (1 + rows)
    if cost > FILL * (deadline - time.monotonic()):
        raise TreeTooSlow(
            f"exact tree SHAP would take about {cost:.1f} s for {rows} rows of this "
            f"{len(trees)}-tree forest (timed on {PROBE_TREES} trees), more than the time left"
        )


def tree_shap(estimator, x, classes, space, deadline, notes, minimum=1) -> Attributions:  # noqa: PLR0913
    import shap

    _probe_forest(estimator, x, minimum, deadline)
    explainer = shap.TreeExplainer(estimator)  # path-dependent: exact, no background
    algorithm = "TreeExplainer (path-dependent)"
    n_classes = int(classes.max(initial=0)) + 1
    columns = _class_columns(estimator, max(n_classes, len(getattr(estimator, "classes_", []))))

    def run(start: int, stop: int):
        raw = explainer.shap_values(x[start:stop], check_additivity=False)
        return _pick(raw, explainer.expected_value, classes[start:stop], columns)

    pieces, _ = run_chunks(run, len(x), deadline, 4 * CHUNK, notes, "TreeExplainer")
    return Attributions(*_concat(pieces), space, algorithm)


def is_linear(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("sklearn.linear_model") and hasattr(
        estimator, "coef_"
    )


def linear_space(estimator: Any, ptype: str) -> str:
    if ptype == "regression":
        return "value"
    return "log-odds" if hasattr(estimator, "predict_proba") else "decision score"


def linear_shap(estimator, x, background, classes, space, deadline, notes) -> Attributions:
    import shap

    explainer = shap.LinearExplainer(estimator, background)
    columns = _class_columns(estimator, int(classes.max(initial=0)) + 1)

    def run(start: int, stop: int):
        raw = explainer.shap_values(x[start:stop])
        return _pick(raw, explainer.expected_value, classes[start:stop], columns)

    pieces, _ = run_chunks(run, len(x), deadline, 4 * CHUNK, notes, "LinearExplainer")
    algorithm = f"LinearExplainer ({len(background)} background rows)"
    return Attributions(*_concat(pieces), space, algorithm)


def gradient_shap(
    predictor, ptype, x, background, classes, bounds, deadline, notes
) -> Attributions:
    import shap
    import torch

    wrapped = _OutputModule.make(predictor, ptype)
    device = next(predictor.module.parameters()).device
    bg = sample_rows(background, min(bounds.background, GRADIENT_BACKGROUND), bounds.seed)
    bg_t = torch.as_tensor(bg, dtype=torch.float32, device=device)
    explainer = shap.GradientExplainer(wrapped, bg_t, batch_size=2048)
    with torch.no_grad():
        expected = wrapped(bg_t).float().mean(dim=0).cpu().numpy()

    def run(start: int, stop: int):
        chunk = torch.as_tensor(x[start:stop], dtype=torch.float32, device=device)
        raw = explainer.shap_values(chunk, nsamples=bounds.gradient_samples, rseed=bounds.seed)
        return _pick(raw, expected, classes[start:stop], None)

    try:
        pieces, _ = run_chunks(run, len(x), deadline, CHUNK, notes, "GradientExplainer")
    finally:
        predictor.module.eval()
    algorithm = (
        f"GradientExplainer (expected gradients, {len(bg)} background rows, "
        f"{bounds.gradient_samples} samples a row)"
    )
    space = "value" if ptype == "regression" else "probability"
    return Attributions(*_concat(pieces), space, algorithm)


class _OutputModule:
    """The torch module with the predictor's output head: softmax, or the target's scale."""

    @staticmethod
    def make(predictor: Any, ptype: str) -> Any:
        from torch import nn

        class Wrapped(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = predictor.module

            def forward(self, x):
                out = self.inner(x).float()
                if ptype == "regression":
                    return out.reshape(-1, 1) * predictor.y_std + predictor.y_mean
                return out.softmax(dim=1)

        return Wrapped().eval()


def kernel_shap(predictor, ptype, x, background, classes, bounds, deadline, notes, *, why):  # noqa: PLR0913
    import shap

    bg = sample_rows(background, bounds.kernel_background, bounds.seed)
    explainer = shap.KernelExplainer(predictor.output, bg, silent=True)
    limit = min(len(x), bounds.kernel_rows)
    if limit < len(x):
        notes.append(f"KernelExplainer: bounded to {limit} of {len(x)} rows (kernel_rows)")

    def run(start: int, stop: int):
        raw = explainer.shap_values(
            x[start:stop], nsamples=bounds.kernel_samples, silent=True, l1_reg=False
        )
        return _pick(raw, explainer.expected_value, classes[start:stop], None)

    pieces, _ = run_chunks(run, limit, deadline, 2, notes, "KernelExplainer")
    notes.append(f"KernelExplainer used as the bounded fallback: {why}")
    if ptype == "regression":
        space = "value"
    else:
        space = "probability" if predictor.has_proba else "predicted-class indicator"
    algorithm = (
        f"KernelExplainer ({len(bg)} background rows, {bounds.kernel_samples} coalitions a row)"
    )
    return Attributions(*_concat(pieces), space, algorithm)


def _concat(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])
