"""Section 3, the chosen model: its configuration, architecture and size, and its held-out
metrics (``holdout``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl import kinds
from automl.report.sections.formatting import fmt, score
from automl.report.sections.holdout import holdout_metrics
from automl.report.sections.origin import score_origin
from automl.report.sections.units import unit_of


def model_section(result: Any, holdout: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    missing: list[tuple[str, str]] = []
    members = result.members
    total = sum(m.weight for m in members)
    parts = []
    for member in members:
        part = _architecture(member.predictor, member.family, member.params)
        part.update(trial=member.trial, weight=member.weight / total)
        parts.append(part)
    unit = unit_of(result)
    chosen = (result.summary or {}).get("ensemble")  # how, with both validation scores
    interrupted = (result.summary or {}).get("interrupted")  # Ctrl-C ended the search
    out = {
        "unit": unit,
        "name": result.model_name,
        "description": result.describe(),
        "facts": [
            ("best trial" if len(parts) > 1 else "chosen trial", fmt(result.best_trial)),
            (f"{result.metric} in the search", score(result.valid_score)),
            ("measured on", score_origin(result)),
            ("refit", (result.summary or {}).get("refit") or fmt(bool(result.refit))),
        ]
        + ([("ensemble chosen", chosen)] if chosen else [])
        + ([("search", interrupted)] if interrupted else [])
        + ([("epochs", fmt(result.epochs))] if result.epochs else []),
        "params": [(k, fmt(v)) for k, v in sorted(result.best_params.items())],
        "params_trial": result.params_trial,  # the best trial, or a member when it is not one
        "best_trial": result.best_trial,
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
    inner = getattr(predictor, "inner", predictor)  # a featurized model: its own model
    kind = kinds.of(family)
    summary, count, unit = kind.describe(family, inner)
    return {
        "family": family.name,
        "kind": kind.name,
        "description": family.describe(params),
        "summary": summary,
        "size": None if count is None else f"{count:,} {unit}",
    }
