"""What the validation scores were measured on, in words."""

from __future__ import annotations

from typing import Any

from automl.report.sections.formatting import fmt
from automl.report.sections.units import unit_of


def score_origin(result: Any) -> str:
    """What ``result.valid_score`` was measured on, in words (the header, the model section and
    the held-out metrics say it, so that their numbers can be told apart)."""
    summary = result.summary or {}
    n_valid = summary.get("valid_rows")
    n_all = (summary.get("train_rows") or 0) + (n_valid or 0) or None
    scheme = str(summary.get("validation") or "")
    folds = _best_folds(result)
    unit = unit_of(result)
    if len(result.members) > 1:
        if scheme and "holdout" not in scheme:
            return (
                f"the ensemble's out-of-fold outputs over all {fmt(n_all)} {unit}s, on which it "
                "was chosen"
            )
        return (
            f"the ensemble's outputs on the {fmt(n_valid)} validation {unit}s, on which it was "
            "chosen"
        )
    if folds:
        return f"{folds}-fold cross-validation: out-of-fold outputs over all {fmt(n_all)} {unit}s"
    return f"the {fmt(n_valid)} validation {unit}s"


def trial_scores_origin(result: Any) -> str:
    """What each trial's score in the leaderboard was measured on."""
    scheme = str((result.summary or {}).get("validation") or "")
    if not scheme:
        return "its validation score"
    return scheme.replace("holdout split of", "the held-out validation split of")


def _best_folds(result: Any) -> int:
    study = result.study
    if study is None or result.best_trial is None:
        return 0
    try:
        trial = study.trials[result.best_trial]
    except (IndexError, KeyError):
        return 0
    return len(trial.user_attrs.get("fold_scores") or [])
