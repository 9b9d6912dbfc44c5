"""The search's parameter importances (Optuna's fANOVA evaluator)."""

from __future__ import annotations

import warnings
from typing import Any

from automl.report import figures

TOP_PARAMS = 15  # the most important parameters drawn
MIN_IMPORTANCE_TRIALS = 3  # Optuna's evaluator runs on 2; 3 is the least that tells


def param_importances(study: Any, result: Any, missing: list) -> list[dict[str, Any]]:
    """Optuna's fANOVA importances across the search (the parameters every trial has) and
    within the chosen family (its own parameters)."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    out = []
    groups = [("across the search", complete)]
    family = result.family.name
    own = [t for t in complete if t.params.get("model") == family]
    if family and len(own) != len(complete):
        groups.append((f"within {family}", own))
    for title, trials in groups:
        if len(trials) < MIN_IMPORTANCE_TRIALS:
            missing.append(
                (
                    f"parameter importances {title}",
                    f"they need at least {MIN_IMPORTANCE_TRIALS} complete trials to say "
                    f"anything; there were {len(trials)}",
                )
            )
            continue
        from automl.search import quiet_optuna

        with quiet_optuna():
            sub = optuna.create_study(direction=study.direction)
        sub.add_trials(trials)
        varying = [
            name
            for name in set.intersection(*(set(t.params) for t in trials))
            if len({repr(t.params[name]) for t in trials}) > 1
        ]
        if not varying:
            missing.append(
                (
                    f"parameter importances {title}",
                    "no parameter took more than one value in these trials",
                )
            )
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = optuna.importance.get_param_importances(
                    sub,
                    evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                    params=sorted(varying),
                )
        except Exception as exc:
            missing.append((f"parameter importances {title}", f"{type(exc).__name__}: {exc}"))
            continue
        items = list(found.items())[:TOP_PARAMS]
        out.append(
            {
                "title": f"Parameter importances {title} ({len(trials)} complete trials)",
                "figure": figures.bars(
                    [k for k, _ in items], [v for _, v in items], "importance (fANOVA, sums to 1)"
                ),
            }
        )
    return out
