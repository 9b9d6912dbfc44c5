"""What each section of the report shows, as plain dicts for the template.

Every section is built on its own and guarded: a part that cannot be drawn becomes a note saying
why (``missing``), never a missing page. Nothing here is modality-specific: data facts come
from ``result.summary``; the explanations section is ``automl.report.explanations``.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import numpy as np

from automl.report import figures

SUMMARY_LABELS = {
    "rows": "{unit}s",
    "columns": "columns",
    "shape": "shape of one example",
    "features": "model-ready features",
    "train_rows": "training {unit}s",
    "valid_rows": "validation (held-out) {unit}s",
}
LEADERBOARD_ROWS = 60
TOP_FEATURES = 15
MIN_IMPORTANCE_TRIALS = 3  # Optuna's evaluator runs on 2; 3 is the least that tells


def guarded(build: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``build(...)``, or a section that says why it could not be drawn."""
    try:
        return build(*args, **kwargs)
    except Exception as exc:  # a report is written whatever one part does
        return {"error": f"{type(exc).__name__}: {exc}", "missing": []}


def guarded_text(build: Any, *args: Any) -> str:
    """``build(...)``, or "" when it fails (a line of text the page can do without)."""
    try:
        return str(build(*args))
    except Exception:
        return ""


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "–" if math.isnan(value) else str(value)
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-4):
            return f"{value:.3e}"
        return f"{value:.{digits}g}"
    return str(value)


def score(value: Any) -> str:
    """A metric value: four decimals (scores are compared to each other)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    return f"{value:.4f}" if abs(value) < 1e4 else fmt(value)


# -- what the validation score is ---------------------------------------------------------------
def score_origin(result: Any) -> str:
    """What ``result.valid_score`` was measured on, in words (the header, the model section and
    the held-out metrics say it, so that their numbers can be told apart)."""
    summary = result.summary or {}
    n_valid = summary.get("valid_rows")
    n_all = (summary.get("train_rows") or 0) + (n_valid or 0) or None
    scheme = str(summary.get("validation") or "")
    folds = _best_folds(result)
    unit = unit_of(result)
    if len(getattr(result, "members", None) or []) > 1:
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


# -- 1. data --------------------------------------------------------------------------------------
def unit_of(result: Any) -> str:
    """What one input is called on the page ("row", "image", "text"): the task explainer's
    ``unit``, "row" when there is none."""
    from automl.explain import explainer_for

    try:
        return str(getattr(explainer_for(result), "unit", "row"))
    except Exception:
        return "row"


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
    handling = {}
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
        ("total", f"{timings.get('total', 0):.1f} s"),
    ]
    for key, value in (getattr(result, "budget", None) or {}).items():
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


# -- 2. the search --------------------------------------------------------------------------------
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
    importances = _importances(study, result, missing)
    scores = f"Each trial's {result.metric} is measured on {trial_scores_origin(result)}."
    if len(getattr(result, "members", None) or []) > 1:
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
        "pruning": _pruning(study, trials),
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


def _importances(study: Any, result: Any, missing: list) -> list[dict[str, Any]]:
    """Optuna's fANOVA importances across the search (the parameters every trial has) and
    within the chosen family (its own parameters)."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    out = []
    groups = [("across the search", complete)]
    family = result.family.name if getattr(result, "family", None) else None
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
        items = list(found.items())[:TOP_FEATURES]
        out.append(
            {
                "title": f"Parameter importances {title} ({len(trials)} complete trials)",
                "figure": figures.bars(
                    [k for k, _ in items], [v for _, v in items], "importance (fANOVA, sums to 1)"
                ),
            }
        )
    return out


def _pruning(study: Any, trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Epochs the epoch-trained trials ran against what full runs would have taken. Trials the
    time budget stopped are left out: the epochs a budget cuts are not savings."""
    max_epochs = study.user_attrs.get("max_epochs") or getattr(study.pruner, "_max_resource", None)
    trained = [t for t in trials if t["by_epoch"] and t["state"] in ("complete", "pruned")]
    pruned = [t for t in trials if t["state"] == "pruned"]
    if not trained:
        text = (
            "No trial reported per-epoch scores (the families that ran fit in one go), so "
            "pruning had nothing to cut."
        )
        if pruned:
            text += (
                f" {len(pruned)} trial(s) were pruned before reporting a score: the leaderboard "
                "notes say why."
            )
        return {"text": text, "facts": [("pruned trials", fmt(len(pruned)))]}
    budget_cut = [t for t in trained if t.get("stopped_by") == "time_budget"]
    counted = [t for t in trained if t.get("stopped_by") != "time_budget"]
    run = sum(int(t["epochs"] or 0) for t in counted)
    facts = [
        ("epoch-trained trials", fmt(len(trained))),
        ("pruned", fmt(len([t for t in trained if t["state"] == "pruned"]))),
        ("epochs run", fmt(sum(int(t["epochs"] or 0) for t in trained))),
    ]
    cut_text = ""
    if budget_cut:
        cut_epochs = sum(int(t["epochs"] or 0) for t in budget_cut)
        facts.append(("stopped by the time budget", fmt(len(budget_cut))))
        cut_text = (
            f" {len(budget_cut)} trial(s) that the time budget stopped (after {cut_epochs} "
            "epochs in all) are not counted: epochs a budget cuts are not savings."
        )
    if not isinstance(max_epochs, (int, float)) or max_epochs <= 0:
        return {
            "text": "The epoch cap of the search is not known, so the saving cannot be told."
            + cut_text,
            "facts": facts,
        }
    if not counted:
        return {
            "text": "The time budget stopped every epoch-trained trial, so nothing can be "
            "credited to pruning or early stopping." + cut_text,
            "facts": facts,
        }
    full = int(max_epochs) * len(counted)
    saved = 1 - run / full if full else 0.0
    cut = [t for t in counted if t["state"] == "pruned"]
    cut_run = sum(int(t["epochs"] or 0) for t in cut)
    facts += [
        ("epochs full runs would take", f"{fmt(full)} ({fmt(len(counted))} × {int(max_epochs)})"),
        ("saved", f"{saved:.0%}"),
    ]
    text = (
        f"Epoch-trained trials ran {run} epochs where full runs of {int(max_epochs)} epochs would "
        f"have taken {full}: {saved:.0%} saved by pruning and early stopping together."
    )
    if cut:
        text += (
            f" The {len(cut)} pruned trial(s) stopped after {cut_run} epochs instead of "
            f"{int(max_epochs) * len(cut)}."
        )
    return {"text": text + cut_text, "facts": facts}


# -- 3. the chosen model --------------------------------------------------------------------------
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
    if holdout is None:
        missing.append(
            (
                "held-out metrics",
                "no held-out data: the result carries none (a loaded model) and none was passed "
                "to write_report(holdout=(x, y))",
            )
        )
        return out
    x, y = np.asarray(holdout[0]), np.asarray(holdout[1])
    out["rows"] = len(y)
    output = getattr(result, "holdout_output", None)
    if output is not None and len(output) == len(y):
        out["caveat"] = (
            "Scored with the validation predictions the chosen configuration made during the "
            f"search, before any refit: these {unit}s were unseen by the models that made them."
        )
    elif result.refit:
        output = result.predictor.output(x)
        out["caveat"] = (
            f"The returned model was refit on training + validation {unit}s, so it has seen these "
            f"held-out {unit}s: the scores below are optimistic. The unbiased estimate is the "
            f"search's validation {result.metric} of the chosen configuration, "
            f"{score(result.valid_score)}."
        )
    else:
        output = result.predictor.output(x)
    if result.problem_type == "regression":
        out["metrics"] = _regression_metrics(y, output)
        out["residuals"] = figures.residuals(y, output)
    else:
        _classification(result, y, output, out, missing)
    out["reconcile"] = _reconcile(result, y, output, unit)
    return out


def _reconcile(result: Any, y: np.ndarray, output: np.ndarray, unit: str) -> str | None:
    """When the search metric on these rows differs from the search's score, say why."""
    from automl.errors import DataError

    try:
        here = float(result._metric(None)(y, output))
    except (DataError, ValueError):
        return None
    if abs(here - float(result.valid_score)) < 5e-5:
        return (
            f"The {result.metric} on these {unit}s, {score(here)}, is the search's score of the "
            "chosen model (header and leaderboard)."
        )
    return (
        f"The {result.metric} on these {len(y)} {unit}s is {score(here)}; the search's score of "
        f"the chosen model, {score(result.valid_score)} (header), is measured on "
        f"{score_origin(result)}: other {unit}s, so another number."
    )


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


def _regression_metrics(y: np.ndarray, pred: np.ndarray) -> list[tuple[str, str]]:
    from sklearn import metrics as skm

    mse = skm.mean_squared_error(y, pred)
    return [
        ("MSE", score(mse)),
        ("RMSE", score(math.sqrt(mse))),
        ("MAE", score(skm.mean_absolute_error(y, pred))),
        ("R²", score(skm.r2_score(y, pred))),
    ]


def _classification(result, y, output, out, missing) -> None:
    from sklearn import metrics as skm

    from automl.metrics import METRICS

    k = output.shape[1]
    labels = [str(c) for c in (result.classes_ or range(k))]
    pred = output.argmax(axis=1)
    binary = k == 2
    average = "binary" if binary else "macro"
    kw = {"average": average, "zero_division": 0}
    if binary:
        kw["pos_label"] = result.positive
    else:
        kw["labels"] = list(range(k))
    suffix = f" (class {labels[result.positive]!r})" if binary else " (macro average)"
    metrics = [
        ("accuracy", score(skm.accuracy_score(y, pred))),
        ("balanced accuracy", score(skm.balanced_accuracy_score(y, pred))),
        ("precision" + suffix, score(skm.precision_score(y, pred, **kw))),
        ("recall" + suffix, score(skm.recall_score(y, pred, **kw))),
        ("F1" + suffix, score(skm.f1_score(y, pred, **kw))),
    ]
    if result.predictor.has_proba:
        for name in ("roc_auc", "log_loss"):
            try:
                label = "ROC AUC" if name == "roc_auc" else "log-loss"
                metric = METRICS[name].for_positive(result.positive)
                metrics.append((label, score(metric(y, output))))
            except ValueError as exc:
                missing.append((name, str(exc)))
    else:
        missing.append(
            (
                "ROC AUC and log-loss",
                f"model {result.model_name!r} gives no class probabilities (no predict_proba), "
                "only labels",
            )
        )
    out["metrics"] = metrics
    p, r, f, s = skm.precision_recall_fscore_support(
        y, pred, labels=list(range(k)), zero_division=0
    )
    out["per_class"] = [
        {
            "label": labels[i],
            "precision": score(p[i]),
            "recall": score(r[i]),
            "f1": score(f[i]),
            "support": fmt(int(s[i])),
        }
        for i in range(k)
    ]
    matrix = skm.confusion_matrix(y, pred, labels=list(range(k)))
    out["confusion"] = figures.confusion(matrix, labels)
