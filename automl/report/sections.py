"""What each section of the report shows, as plain dicts for the template.

Every section is built on its own and guarded: a part that cannot be drawn becomes a note saying
why (``missing``), never a missing page. Nothing here is modality-specific: explanations come
from the task's ``Explainer`` (``automl.explain``), data facts from ``result.summary``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from typing import Any

import numpy as np

from automl.explain import (
    ExplainBounds,
    ExplainError,
    Explanation,
    default_seconds,
    example_rows,
    explainer_for,
    sample_rows,
)
from automl.report import figures

SUMMARY_LABELS = {
    "rows": "rows",
    "columns": "columns",
    "shape": "shape of one example",
    "features": "model-ready features",
    "train_rows": "training rows",
    "valid_rows": "validation (held-out) rows",
}
LEADERBOARD_ROWS = 60
SHAP_SHARE = 0.75  # of the explanation budget; LIME gets what is left
TOP_FEATURES = 15
MIN_IMPORTANCE_TRIALS = 3  # Optuna's evaluator runs on 2; 3 is the least that tells


def guarded(build: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``build(...)``, or a section that says why it could not be drawn."""
    try:
        return build(*args, **kwargs)
    except Exception as exc:  # a report is written whatever one part does
        return {"error": f"{type(exc).__name__}: {exc}", "missing": []}


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


# -- 1. data --------------------------------------------------------------------------------------
def data_section(result: Any) -> dict[str, Any]:
    summary = dict(result.summary or {})
    facts = [(label, fmt(summary[key])) for key, label in SUMMARY_LABELS.items() if key in summary]
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
    from automl.metrics import METRICS

    maximize = METRICS[result.metric].direction == "maximize"
    history = None
    if any(t["state"] in ("complete", "pruned") for t in trials):
        history = figures.history(trials, result.metric, maximize, result.best_trial)
    else:
        missing.append(("optimisation history", "no trial completed or reported a score"))
    importances = _importances(study, result, missing)
    return {
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
                "epochs": max(reported) if reported else t.user_attrs.get("epochs_run"),
                "by_epoch": bool(reported),
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
        level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            sub = optuna.create_study(direction=study.direction)
        finally:
            optuna.logging.set_verbosity(level)
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
    """Epochs the epoch-trained trials ran against what full runs would have taken."""
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
    run = sum(int(t["epochs"] or 0) for t in trained)
    facts = [
        ("epoch-trained trials", fmt(len(trained))),
        ("pruned", fmt(len([t for t in trained if t["state"] == "pruned"]))),
        ("epochs run", fmt(run)),
    ]
    if not isinstance(max_epochs, (int, float)) or max_epochs <= 0:
        return {
            "text": "The epoch cap of the search is not known, so the saving cannot be told.",
            "facts": facts,
        }
    full = int(max_epochs) * len(trained)
    saved = 1 - run / full if full else 0.0
    cut = [t for t in trained if t["state"] == "pruned"]
    cut_run = sum(int(t["epochs"] or 0) for t in cut)
    facts += [
        ("epochs full runs would take", f"{fmt(full)} ({fmt(len(trained))} × {int(max_epochs)})"),
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
    return {"text": text, "facts": facts}


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
    out = {
        "name": result.model_name,
        "description": describe()
        if callable(describe)
        else result.family.describe(result.best_params),
        "facts": [
            ("best trial" if len(parts) > 1 else "chosen trial", fmt(result.best_trial)),
            (f"validation {result.metric} (search)", score(result.valid_score)),
            ("refit on train + validation", fmt(bool(result.refit))),
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
            "search, before any refit: these rows were unseen by the models that made them."
        )
    elif result.refit:
        output = result.predictor.output(x)
        out["caveat"] = (
            "The returned model was refit on training + validation rows, so it has seen these "
            "held-out rows: the scores below are optimistic. The unbiased estimate is the "
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
        count, unit = _sklearn_size(inner.estimator)
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
    predictors = getattr(estimator, "_predictors", None)
    if predictors is not None:
        flat = [p for stage in predictors for p in stage]
        return sum(len(p.nodes) for p in flat), f"tree nodes in {len(flat)} trees"
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
    if not binary:
        kw["labels"] = list(range(k))
    suffix = f" (class {labels[1]!r})" if binary else " (macro average)"
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
                metrics.append((label, score(METRICS[name](y, output))))
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


# -- 4. explanations ------------------------------------------------------------------------------
def explain_section(
    result: Any,
    holdout: tuple[np.ndarray, np.ndarray] | None,
    bounds: ExplainBounds,
    explainer: Any = None,
) -> dict[str, Any]:
    started = time.monotonic()
    seconds = bounds.seconds if bounds.seconds is not None else default_seconds(result)
    out: dict[str, Any] = {
        "budget": f"{seconds:.0f} s",
        "bounds": [
            ("time budget", f"{seconds:.0f} s"),
            ("SHAP background rows", fmt(bounds.background)),
            ("rows explained (global views)", fmt(bounds.rows)),
            ("example rows", fmt(bounds.examples)),
            ("LIME samples a row", fmt(bounds.lime_samples)),
        ],
        "shap": None,
        "examples": [],
        "lime_notes": [],
        "plugin_figures": [],
        "missing": [],
    }
    missing = out["missing"]
    if holdout is None:
        missing.append(
            (
                "explanations",
                "no held-out rows to explain: the result carries none (a loaded model); call "
                "write_report(result, path, holdout=(x, y)) with model-ready rows",
            )
        )
        return out
    try:
        found = explainer or explainer_for(result)
    except ExplainError as exc:
        missing.append(("explanations", str(exc)))
        return out
    x, y = np.asarray(holdout[0]), np.asarray(holdout[1])
    output = result.predictor.output(x)
    examples = example_rows(output, result.problem_type, bounds.examples)
    chosen = set(examples)
    order = np.asarray(examples + [i for i in range(len(x)) if i not in chosen])
    if bounds.rows is not None:
        order = order[: max(bounds.rows, len(examples))]
    background = sample_rows(x, bounds.background, bounds.seed)
    shap_deadline = started + SHAP_SHARE * seconds

    shap_exp = lime_exp = None
    try:
        shap_exp = found.explain(
            result,
            x[order],
            method="shap",
            background=background,
            bounds=bounds,
            deadline=shap_deadline,
        )
    except Exception as exc:
        missing.append(("SHAP", _why(exc)))
    if _attributes(shap_exp):
        out["shap"] = _shap_view(shap_exp)
        out["plugin_figures"] += shap_exp.figures
    elif shap_exp is not None and shap_exp.figures:
        out["plugin_figures"] += shap_exp.figures
    if "lime" in getattr(found, "methods", ("lime",)):
        try:
            lime_exp = found.explain(
                result,
                x[order[: len(examples)]],
                method="lime",
                background=background,
                bounds=bounds,
                deadline=max(started + seconds, time.monotonic() + 1.0),
            )
            out["lime_notes"] = list(lime_exp.notes)
            out["plugin_figures"] += lime_exp.figures
        except Exception as exc:
            missing.append(("LIME", _why(exc)))
    else:
        missing.append(("LIME", "the task's explainer does not offer LIME"))
    out["examples"] = _examples(result, order, examples, y, output, shap_exp, lime_exp)
    if not out["examples"] and examples:
        missing.append(("example rows", "neither SHAP nor LIME explained the example rows"))
    out["seconds"] = f"{time.monotonic() - started:.1f} s"
    return out


def _attributes(exp: Explanation | None) -> bool:
    """Whether an explanation has per-feature attributions to draw (a plugin's may only carry
    figures of its own)."""
    return (
        exp is not None
        and len(exp.rows) > 0
        and np.asarray(exp.values).ndim == 2
        and (np.asarray(exp.values).size > 0)
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, ExplainError):
        return str(exc)
    if isinstance(exc, ImportError):
        return f"{exc}; install the explanation extra: pip install 'automl[explain]'"
    return f"the explainer failed: {type(exc).__name__}: {exc}"


def _space_text(exp: Explanation) -> str:
    target = exp.output[0] if exp.output else ""
    if exp.output_space in ("value", "predicted value"):
        return "the predicted value"
    if len(set(exp.output)) > 1:
        return f"the {exp.output_space} of each row's predicted class"
    return f"the {exp.output_space} of class {target!r}"


def _row_space_text(exp: Explanation, pos: int) -> str:
    if exp.output_space == "value" or pos >= len(exp.output):
        return "the predicted value" if exp.output_space == "value" else ""
    return f"the {exp.output_space} of class {exp.output[pos]!r}"


def _shap_view(exp: Explanation) -> dict[str, Any]:
    importance = exp.importance()
    order = [exp.feature_names.index(n) for n in importance.index[:TOP_FEATURES]]
    return {
        "algorithm": exp.algorithm,
        "space": _space_text(exp),
        "rows": len(exp.rows),
        "seconds": f"{exp.seconds:.1f} s",
        "notes": list(exp.notes),
        "bar": figures.bars(
            list(importance.index[:TOP_FEATURES]),
            list(importance.values[:TOP_FEATURES]),
            "mean |SHAP value| (average impact on the explained output)",
            colour=figures.POSITIVE,
        ),
        "beeswarm": figures.beeswarm(exp.values, exp.colour, exp.feature_names, order),
        "hidden": max(0, len(exp.feature_names) - TOP_FEATURES),
    }


def _examples(result, order, examples, y, output, shap_exp, lime_exp) -> list[dict[str, Any]]:
    views = []
    classes = result.classes_ or []
    for pos, row in enumerate(examples):
        has_shap = _attributes(shap_exp) and pos < len(shap_exp.rows)
        has_lime = _attributes(lime_exp) and pos < len(lime_exp.rows)
        if not (has_shap or has_lime):
            continue
        source = shap_exp if has_shap else lime_exp
        names = source.feature_names
        shown = (
            [str(v) for v in source.display.iloc[pos].tolist()]
            if source.display is not None
            else [""] * len(names)
        )
        if result.problem_type == "regression":
            predicted = f"predicted {fmt(float(output[row]))}"
            truth = f"true {fmt(float(y[row]))}"
        else:
            c = int(np.argmax(output[row]))
            label = classes[c] if c < len(classes) else c
            prob = f" (p = {output[row][c]:.2f})" if result.predictor.has_proba else ""
            predicted = f"predicted {label!s}{prob}"
            t = int(y[row])
            truth = f"true {classes[t] if t < len(classes) else t!s}"
        view = {
            "row": int(row),
            "title": f"Validation row {row}: {predicted}, {truth}",
            "explains": _row_space_text(source, pos),
            "waterfall": None,
            "lime": None,
            "table": [],
            "lime_fit": None,
        }
        shap_row = shap_exp.values[pos] if has_shap else None
        lime_row = lime_exp.values[pos] if has_lime else None
        if has_shap:
            view["waterfall"] = figures.waterfall(
                shap_row,
                float(shap_exp.base_values[pos]),
                names,
                shown,
                space=shap_exp.output_space,
            )
        if has_lime:
            view["lime"] = figures.signed_bars(lime_row, names, shown)
            if lime_exp.local_fit is not None:
                view["lime_fit"] = fmt(float(lime_exp.local_fit[pos]), 2)
        key = np.abs(shap_row) if has_shap else np.abs(lime_row)
        for j in np.argsort(-key)[:10]:
            view["table"].append(
                {
                    "feature": names[j],
                    "value": shown[j],
                    "shap": fmt(float(shap_row[j]), 3) if has_shap else "–",
                    "lime": fmt(float(lime_row[j]), 3) if has_lime else "–",
                }
            )
        views.append(view)
    return views
