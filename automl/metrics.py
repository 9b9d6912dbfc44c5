"""The metrics a search can optimise, their direction and how they read model output.

Model output is class probabilities of shape (n, k) for classification and values of shape (n,)
for regression; every metric takes the encoded truth, that output and optional per-row weights.
Besides the built-in names, ``fit(metric=...)`` takes a scikit-learn scorer name
(``"f1_macro"``, ``"neg_mean_absolute_error"`` ...) or a callable ``(y_true, y_pred) -> float``
wrapped by ``make_metric`` (labels as the user gave them, or probabilities with
``needs_proba=True``). Binary metrics score ``positive_class`` (default: the minority class,
the second in sorted order on a tie; ``automl.imbalance``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn import metrics as skm

from automl.errors import DataError, ParameterError

CLASSIFICATION = ("binary", "multiclass")
ALL = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Metric:
    """``fn(y_true, output, sample_weight, positive)`` on encoded labels and model output."""

    name: str
    direction: str  # "maximize" or "minimize"
    problem_types: tuple[str, ...]
    fn: Callable[..., float]
    positive: int = 1  # binary problems: the column of the class the metric scores
    weights: np.ndarray | None = None  # bound per-row weights (see ``weighted``)

    def __call__(self, y_true: np.ndarray, output: np.ndarray, sample_weight: Any = None) -> float:
        w = self.weights if sample_weight is None else sample_weight
        w = None if w is None else np.asarray(w, dtype=np.float64)
        return float(self.fn(np.asarray(y_true), np.asarray(output), w, self.positive))

    def better(self, a: float, b: float) -> bool:
        """Whether score a beats score b."""
        return a > b if self.direction == "maximize" else a < b

    @property
    def worst(self) -> float:
        return -np.inf if self.direction == "maximize" else np.inf

    def weighted(self, weights: np.ndarray | None) -> Metric:
        """This metric with per-row weights bound (for rows whose weights are known)."""
        return self if weights is None else replace(self, weights=np.asarray(weights))

    def for_positive(self, positive: int) -> Metric:
        return replace(self, positive=int(positive))


def _labels(output: np.ndarray) -> np.ndarray:
    return output.argmax(axis=1)


def _roc_auc(y, p, w, pos):
    if p.shape[1] == 2:
        return skm.roc_auc_score(y == pos, p[:, pos], sample_weight=w)
    labels = np.arange(p.shape[1])
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=labels, sample_weight=w)


def _log_loss(y, p, w, pos):
    """scikit-learn's ``log_loss`` on encoded labels, without its input checks: ensemble
    selection calls it hundreds of times after each trial (their checks took 0.8 s of one
    choice over 40 trials of 750 rows)."""
    p = np.clip(p, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return np.average(-np.log(p[np.arange(len(y)), y.astype(np.intp, copy=False)]), weights=w)


def accuracy_fn(y, p, w, pos):
    return np.average(_labels(p) == y, weights=w)


def _balanced_accuracy(y, p, w, pos):
    return skm.balanced_accuracy_score(y, _labels(p), sample_weight=w)


def _r2(y, v, w, pos):
    return skm.r2_score(y, v, sample_weight=w)


def _rmse(y, v, w, pos):
    return np.sqrt(skm.mean_squared_error(y, v, sample_weight=w))


def _mae(y, v, w, pos):
    return skm.mean_absolute_error(y, v, sample_weight=w)


class _BinaryOrMacro:
    """Precision, recall, F1: of the positive class (binary) or macro-averaged (a class, not
    a closure, so a result holding the metric pickles)."""

    def __init__(self, score: Callable[..., float]) -> None:
        self.score = score

    def __call__(self, y, p, w, pos):
        if p.shape[1] == 2:
            return self.score(y == pos, _labels(p) == pos, sample_weight=w, zero_division=0)
        return self.score(y, _labels(p), average="macro", sample_weight=w, zero_division=0)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "maximize", CLASSIFICATION, accuracy_fn),
        Metric("balanced_accuracy", "maximize", CLASSIFICATION, _balanced_accuracy),
        Metric("f1", "maximize", CLASSIFICATION, _BinaryOrMacro(skm.f1_score)),
        Metric("precision", "maximize", CLASSIFICATION, _BinaryOrMacro(skm.precision_score)),
        Metric("recall", "maximize", CLASSIFICATION, _BinaryOrMacro(skm.recall_score)),
        Metric("roc_auc", "maximize", CLASSIFICATION, _roc_auc),
        Metric("log_loss", "minimize", CLASSIFICATION, _log_loss),
        Metric("r2", "maximize", ("regression",), _r2),
        Metric("rmse", "minimize", ("regression",), _rmse),
        Metric("mae", "minimize", ("regression",), _mae),
    )
}

DEFAULT_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


def make_metric(
    fn: Callable[..., float],
    *,
    greater_is_better: bool = True,
    needs_proba: bool = False,
    name: str | None = None,
) -> Metric:
    """A metric from a callable ``fn(y_true, y_pred)`` (scikit-learn style): ``y_true`` holds
    the labels as given to ``fit`` (values for regression), ``y_pred`` the predicted labels, or
    with ``needs_proba`` the probabilities (binary: of the positive class, one column). A
    ``sample_weight`` keyword is passed when ``fn`` takes one. The encoder of the labels is bound
    when the search starts (``resolve``)."""
    if not callable(fn):
        raise ParameterError(f"make_metric needs a callable; got {type(fn).__name__}")
    label = name or str(getattr(fn, "__name__", "custom_metric"))
    if label == "<lambda>":
        label = "custom_metric"
    takes_weight = "sample_weight" in inspect.signature(fn).parameters
    spec = {"fn": fn, "needs_proba": bool(needs_proba), "takes_weight": takes_weight}
    return Metric(
        label,
        "maximize" if greater_is_better else "minimize",
        ALL,
        _Custom(spec, classes=None),
    )


class _Custom:
    """A user's callable (or a scikit-learn scorer) over labels as the user gave them."""

    def __init__(self, spec: dict[str, Any], classes: list[Any] | None) -> None:
        self.spec, self.classes = spec, classes

    def bind(self, classes: list[Any] | None) -> _Custom:
        return _Custom(self.spec, classes)

    def __call__(self, y, out, w, pos):
        if w is not None and not self.spec["takes_weight"]:
            raise ParameterError(
                "sample_weight was given but the custom metric takes no sample_weight keyword; "
                "add one to it (fn(y_true, y_pred, sample_weight=None))"
            )
        kwargs = {} if w is None else {"sample_weight": w}
        if self.classes is None:  # regression: values as they are
            return self.spec["fn"](y, out, **kwargs)
        names = np.asarray(self.classes, dtype=object)
        truth = names[y.astype(np.int64)]
        if self.spec["needs_proba"]:
            pred = out[:, pos] if out.shape[1] == 2 else out
        else:
            pred = names[_labels(out)]
        pred = _plain(pred) if pred.dtype == object else pred
        return self.spec["fn"](_plain(truth), pred, **kwargs)


def _plain(values: np.ndarray) -> np.ndarray:
    """Labels in one numpy dtype where they share one (ints, strings), else objects."""
    kinds = {type(v) for v in values}
    return np.asarray(values.tolist()) if len(kinds) == 1 else values


class _Scorer:
    """A scikit-learn scorer by name, called through its public interface on a stand-in
    estimator whose predictions are the known output."""

    def __init__(self, name: str, classes: list[Any] | None = None) -> None:
        self.name, self.classes = name, classes

    def bind(self, classes: list[Any] | None) -> _Scorer:
        return _Scorer(self.name, classes)

    def __call__(self, y, out, w, pos):
        from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

        scorer = skm.get_scorer(self.name)
        kwargs = {} if w is None else {"sample_weight": w}
        dummy = np.zeros((len(y), 1))
        if self.classes is None:

            class Fixed(RegressorMixin, BaseEstimator):
                def predict(self, x):
                    return out

            return scorer(Fixed(), dummy, y, **kwargs)
        names = _plain(np.asarray(self.classes, dtype=object))

        class FixedClassifier(ClassifierMixin, BaseEstimator):
            classes_ = names

            def predict(self, x):
                return names[out.argmax(axis=1)]

            def predict_proba(self, x):
                return out

            def decision_function(self, x):
                return out[:, 1] if out.shape[1] == 2 else out

        return scorer(FixedClassifier(), dummy, names[y.astype(np.int64)], **kwargs)


def resolve(
    metric: Any,
    problem_type: str,
    *,
    classes: list[Any] | None = None,
    positive: int = 1,
) -> Metric:
    """The metric to optimise: a built-in name (checked against the problem type), a
    scikit-learn scorer name, a ``Metric`` (``make_metric``) or a plain callable (taken as
    ``make_metric(fn)``), or the default; bound to the labels' ``classes`` and the binary
    ``positive`` column."""
    if metric is None:
        found = METRICS[DEFAULT_METRIC[problem_type]]
    elif isinstance(metric, Metric):
        found = metric
    elif callable(metric):
        found = make_metric(metric)
    elif isinstance(metric, str) and metric in METRICS:
        found = METRICS[metric]
    elif isinstance(metric, str) and metric in skm.get_scorer_names():
        found = Metric(metric, "maximize", ALL, _Scorer(metric))  # scorers: greater is better
    else:
        raise DataError(
            f"unknown metric {metric!r}; choose one of {sorted(METRICS)}, a scikit-learn scorer "
            "name (sklearn.metrics.get_scorer_names()) or a callable (automl.make_metric)"
        )
    if problem_type not in found.problem_types:
        usable = sorted(k for k, m in METRICS.items() if problem_type in m.problem_types)
        raise DataError(
            f"metric {found.name!r} does not apply to {problem_type}; use one of {usable}"
        )
    if isinstance(found.fn, (_Custom, _Scorer)):
        bound = found.fn.bind(None if problem_type == "regression" else list(classes or []))
        found = replace(found, fn=bound)
    return found.for_positive(positive)


def report_metrics(
    problem_type: str,
    y_true: np.ndarray,
    output: np.ndarray,
    *,
    positive: int = 1,
    sample_weight: Any = None,
) -> dict[str, float]:
    """Every applicable built-in metric, for leaderboards and reports (roc_auc skipped when
    undefined)."""
    out = {}
    for name, metric in METRICS.items():
        if problem_type in metric.problem_types:
            try:
                out[name] = metric.for_positive(positive)(y_true, output, sample_weight)
            except ValueError:
                continue
    return out
