"""Section 3, the chosen model: its configuration, architecture and size, and its held-out
metrics (``holdout``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.report.sections.formatting import fmt, score
from automl.report.sections.holdout import holdout_metrics
from automl.report.sections.origin import score_origin
from automl.report.sections.units import unit_of


def model_section(result: Any, holdout: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    missing: list[tuple[str, str]] = []
    describe = getattr(result, "describe", None)
    members = getattr(result, "members", None) or [None]
    parts = []
    for member in members:
        if member is None:
            parts.append(_architecture(result.predictor, result.family, result.best_params))
            parts[-1].update(trial=result.best_trial, weight=None)
        else:
            part = _architecture(member.predictor, member.family, member.params)
            total = sum(m.weight for m in members)
            part.update(trial=member.trial, weight=member.weight / total)
            parts.append(part)
    unit = unit_of(result)
    out = {
        "unit": unit,
        "name": result.model_name,
        "description": describe()
        if callable(describe)
        else result.family.describe(result.best_params),
        "facts": [
            ("best trial" if len(parts) > 1 else "chosen trial", fmt(result.best_trial)),
            (f"{result.metric} in the search", score(result.valid_score)),
            ("measured on", score_origin(result)),
            ("refit", (result.summary or {}).get("refit") or fmt(bool(result.refit))),
        ]
        + ([("epochs", fmt(result.epochs))] if getattr(result, "epochs", None) else []),
        "params": [(k, fmt(v)) for k, v in sorted(result.best_params.items())],
        "members": parts,
        "ensemble": len(parts) > 1,
        "metrics": [],
        "per_class": None,
        "confusion": None,
        "residuals": None,
        "caveat": None,
        "reconcile": None,
        "missing": missing,
    }
    holdout_metrics(result, holdout, out)
    return out


def _architecture(predictor: Any, family: Any, params: dict[str, Any]) -> dict[str, Any]:
    inner = getattr(predictor, "inner", predictor)
    kind = getattr(inner, "kind", "?")
    summary, count, unit = "", None, "parameters"
    if hasattr(inner, "module"):
        summary = str(inner.module)
        count = sum(int(p.numel()) for p in inner.module.parameters())
    elif hasattr(inner, "estimator"):
        summary = repr(inner.estimator)
        count, unit = family.model_size(inner.estimator) or _sklearn_size(inner.estimator)
    return {
        "family": family.name,
        "kind": kind,
        "description": family.describe(params),
        "summary": summary,
        "size": None if count is None else f"{count:,} {unit}",
    }


def _sklearn_size(estimator: Any) -> tuple[int | None, str]:
    """Parameters of a linear model; tree nodes of a tree model; None when unknown."""
    if hasattr(estimator, "coef_"):
        size = np.size(estimator.coef_) + np.size(getattr(estimator, "intercept_", 0))
        return int(size), "parameters (coefficients and intercepts)"
    trees = getattr(estimator, "estimators_", None)
    if trees is not None:
        flat = np.ravel(np.asarray(trees, dtype=object))
        nodes = sum(int(t.tree_.node_count) for t in flat if hasattr(t, "tree_"))
        return nodes, f"tree nodes in {len(flat)} trees"
    if hasattr(estimator, "tree_"):
        return int(estimator.tree_.node_count), "tree nodes"
    return None, ""
