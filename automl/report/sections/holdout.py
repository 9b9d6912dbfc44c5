"""The chosen model scored on held-out data: metrics, per-class table, confusion matrix or
residuals, and how they square with the search's score."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from automl.report import figures
from automl.report.sections.formatting import fmt, score
from automl.report.sections.origin import score_origin


def holdout_metrics(
    result: Any, holdout: tuple[np.ndarray, np.ndarray] | None, out: dict[str, Any]
) -> None:
    """The held-out part of the model section ``out``, filled in place (a note in
    ``out["missing"]`` when there is no held-out data)."""
    missing, unit = out["missing"], out["unit"]
    if holdout is None:
        missing.append(
            (
                "held-out metrics",
                "no held-out data: the result carries none (a loaded model) and none was passed "
                "to write_report(holdout=(x, y))",
            )
        )
        return
    x, y = np.asarray(holdout[0]), np.asarray(holdout[1])
    out["rows"] = len(y)
    output = result.holdout_output
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
