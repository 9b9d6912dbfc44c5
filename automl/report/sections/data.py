"""Section 1, the data: its facts, classes, missing values, notes and the time spent."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from automl.report.sections.formatting import fmt, run_time
from automl.report.sections.units import unit_of

SUMMARY_LABELS = {
    "rows": "{unit}s",
    "columns": "columns",
    "shape": "shape of one example",
    "features": "model-ready features",
    "train_rows": "training {unit}s",
    "valid_rows": "validation (held-out) {unit}s",
}


def data_section(result: Any) -> dict[str, Any]:
    summary = dict(result.summary or {})
    unit = unit_of(result)
    facts = [
        (label.format(unit=unit), fmt(summary[key]))
        for key, label in SUMMARY_LABELS.items()
        if key in summary
    ]
    classes = []
    counts = summary.get("class_counts") or {}
    total = sum(counts.values()) or 1
    for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        classes.append({"label": label, "count": fmt(n), "share": n / total})
    handling: dict[str, Any] = {}
    describe = getattr(result.features, "describe_missing", None)
    if callable(describe):
        handling = describe() or {}
    missing = [
        {
            "column": column,
            "count": fmt(n),
            "handling": handling.get(column, "handled by the task's preprocessing"),
        }
        for column, n in sorted((summary.get("missing_values") or {}).items())
    ]
    known = set(SUMMARY_LABELS) | {"class_counts", "missing_values", "notes"}
    other = [
        (key.replace("_", " "), fmt(value))
        for key, value in summary.items()
        if key not in known and isinstance(value, (str, int, float, bool, np.generic))
    ]
    timings = result.timings or {}
    budget = [
        ("search", f"{timings.get('search', 0):.1f} s"),
        ("refit / ensemble", f"{timings.get('refit', 0):.1f} s"),
        *((k, f"{timings[k]:.1f} s") for k in ("report", "save") if k in timings),
        ("total", run_time(timings)),
    ]
    for key, value in result.budget.items():
        budget.append((key.replace("_", " "), fmt(value)))
    study = result.study
    if study is not None:
        states = Counter(t.state.name.lower() for t in study.get_trials(deepcopy=False))
        budget.append(("trials", ", ".join(f"{n} {s}" for s, n in sorted(states.items()))))
    from automl.metrics import METRICS

    metric = METRICS.get(result.metric)
    return {
        "unit": unit,
        "task": result.task,
        "problem_type": result.problem_type,
        "problem_type_reason": result.problem_type_reason,
        "metric": result.metric,
        "direction": "higher is better"
        if metric is None or metric.direction == "maximize"
        else "lower is better",
        "facts": facts,
        "classes": classes,
        "missing_values": missing,
        "missing_note": None if missing else "No missing values were found in the training split.",
        "reports_missing": "missing_values" in summary,
        "notes": list(summary.get("notes") or []),
        "other": other,
        "budget": budget,
        "missing": [],
    }
