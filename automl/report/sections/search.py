"""Section 2, the search: the leaderboard, the optimisation history, parameter importances and
what pruning saved."""

from __future__ import annotations

from collections import Counter
from typing import Any

from automl.report import figures
from automl.report.sections.formatting import fmt, score
from automl.report.sections.importances import param_importances
from automl.report.sections.origin import score_origin, trial_scores_origin
from automl.report.sections.pruning import pruning_summary

LEADERBOARD_ROWS = 60


def search_section(result: Any) -> dict[str, Any]:
    study = result.study
    if study is None:
        return {
            "missing": [
                (
                    "the search",
                    "this result holds no Optuna study (a loaded model whose study storage is "
                    "not reachable, or an in-memory study of another process)",
                )
            ]
        }
    missing: list[tuple[str, str]] = []
    board = result.leaderboard()
    columns = [str(c) for c in board.columns]
    rows = []
    for record in board.head(LEADERBOARD_ROWS).to_dict("records"):
        row = {c: fmt(record.get(c)) for c in columns}
        row["note"] = record.get("note") or ""
        if result.metric in row:
            row[result.metric] = score(record.get(result.metric))
        rows.append(row)
    trials = _trial_points(study)
    states = Counter(t["state"] for t in trials)

    maximize = result.metric_direction == "maximize"
    history = None
    if any(t["state"] in ("complete", "pruned") for t in trials):
        history = figures.history(trials, result.metric, maximize, result.best_trial)
    else:
        missing.append(("optimisation history", "no trial completed or reported a score"))
    importances = param_importances(study, result, missing)
    scores = f"Each trial's {result.metric} is measured on {trial_scores_origin(result)}."
    if len(result.members) > 1:
        scores += (
            f" The chosen ensemble's {result.metric}, {score(result.valid_score)} (the header's), "
            f"is measured on {score_origin(result)}."
        )
    return {
        "scores": scores,
        "columns": columns,
        "rows": rows,
        "more": max(0, len(board) - LEADERBOARD_ROWS),
        "counts": [(s, states.get(s, 0)) for s in ("complete", "pruned", "fail", "running")],
        "history": history,
        "importances": importances,
        "pruning": pruning_summary(study, trials),
        "missing": missing,
    }


def _trial_points(study: Any) -> list[dict[str, Any]]:
    points = []
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "WAITING":
            continue
        reported = t.intermediate_values
        points.append(
            {
                "number": t.number,
                "model": t.params.get("model"),
                "state": t.state.name.lower(),
                "value": t.value,
                "last": reported[max(reported)] if reported else None,
                # the pruner's steps may be parts of epochs: the trial's own count first
                "epochs": t.user_attrs.get("epochs_run") or (max(reported) if reported else None),
                "by_epoch": bool(reported) or bool(t.user_attrs.get("train_batches")),
                "stopped_by": t.user_attrs.get("stopped_by"),
                "seconds": t.duration.total_seconds() if t.duration else None,
            }
        )
    return points
