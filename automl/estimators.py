"""scikit-learn estimators over ``automl.fit``: use a search wherever an estimator fits
(pipelines, cross-validation). ``__init__`` only stores arguments; learned state ends in ``_``.

``fit(X, y, sample_weight=w)`` weighs rows as ``automl.fit(sample_weight=w)`` does (training,
and the validation metric); ``class_weight`` is ``fit``'s. ``best_params_`` and ``best_config_``
are the best trial's configuration in the family's own parameter names (``model`` naming the
family, as ``FittedResult.best_config``); ``feature_importances_`` the result's permutation
importance of each input column, computed on first use (bounded: ``IMPORTANCE``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from automl.errors import DataError
from automl.settings import check_settings, estimator_init, refuse_unknown_parameters


class _AutoMLEstimator(BaseEstimator):
    """Its parameters are ``automl.settings.SETTINGS``' estimator subset, with their estimator
    defaults: ``__init__`` is made from the declaration (``automl.settings.estimator_init``);
    ``task`` None: inferred by the plugins from X (a validated 2-D array)."""

    _problem: str

    __init__ = estimator_init()  # keyword-only, as scikit-learn advises

    def _fit(
        self, X: Any, y: Any, problem_type: str, sample_weight: Any = None
    ) -> _AutoMLEstimator:
        from automl.api import fit

        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        self.result_ = fit(
            (X, y), problem_type=problem_type, sample_weight=weights, **self.get_params()
        )
        self.best_config_ = self.result_.best_config
        self.best_params_ = dict(self.best_config_)
        self.best_score_ = self.result_.valid_score
        self.model_name_ = self.result_.model_name
        self.leaderboard_ = self.result_.leaderboard()
        self.result_._study = None  # an in-memory study holds locks: keep the estimator picklable
        self._importances: np.ndarray | None = None
        return self

    def set_params(self, **params: Any) -> _AutoMLEstimator:
        """scikit-learn's ``set_params``; a misspelled name says which one was meant."""
        names = list(self.get_params(deep=False))
        refuse_unknown_parameters(type(self).__name__, [p for p in params if "__" not in p], names)
        return super().set_params(**params)

    @property
    def feature_importances_(self) -> np.ndarray:
        """One value per input column (``n_features_in_``), summing to 1: the result's
        permutation importance (``FittedResult.feature_importance``) on the validation rows,
        a column whose shuffling did not hurt counting 0. Computed on first use, within
        ``IMPORTANCE`` (rows, repeats, seconds); a task without importances of its own inputs
        (pixels, tokens) has none (AttributeError)."""
        check_is_fitted(self, "result_")
        if self._importances is None:
            given = getattr(self, "feature_names_in_", range(self.n_features_in_))
            self._importances = _importances(self.result_, [str(c) for c in given])
        return self._importances

    def _check_settings(self) -> None:
        """The settings' own checks (``automl.settings``), before X and y are read."""
        check_settings(**self.get_params())

    def _check(self, X: Any) -> Any:
        check_is_fitted(self, "result_")
        return _validated(self, X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


IMPORTANCE = {"max_rows": 1000, "n_repeats": 5, "seconds": 10.0}


def _importances(result: Any, names: list[str]) -> np.ndarray:
    """``feature_importances_`` of ``result``, whose input columns are ``names`` in X's
    order (a task that names the columns of an array, x0, x1 ..., says its names in that order
    as its feature encoder's ``input_columns``)."""
    from automl.errors import AutomlError

    rows, y = result.holdout_raw, None if result.holdout is None else result.holdout[1]
    if rows is None or y is None or len(y) == 0:
        raise AttributeError("feature_importances_: this model kept no validation rows")
    labels = y if result.problem_type == "regression" else result.target.decode(y)
    try:
        table = result.feature_importance(rows, labels, **IMPORTANCE)
    except AutomlError as exc:  # the task has no importances of its own inputs
        raise AttributeError(f"feature_importances_: {exc}") from exc
    if set(map(str, table.index)) != set(names):  # X had no names: the task's, in X's order
        names = [str(c) for c in getattr(result.features, "input_columns", [])]
    if set(map(str, table.index)) != set(names):
        raise AttributeError(
            f"feature_importances_: the task's features {list(table.index)[:5]} are not X's "
            "columns"
        )
    by_name = {str(k): v for k, v in table["importance"].items()}
    values = np.clip(np.array([by_name[n] for n in names], dtype=np.float64), 0.0, None)
    total = values.sum()
    return values / total if total > 0 else values


_NO_Y = object()  # predict-time checks: no y at all (fit passes y, even None)


def _validated(est: Any, X: Any, y: Any = _NO_Y, *, reset: bool = True, **kw: Any) -> Any:
    """scikit-learn's input checks; a DataFrame keeps its columns and their types (categories,
    text, dates) for the tabular preprocessing, checked for names and count only."""
    if isinstance(X, pd.DataFrame):
        if y is _NO_Y:
            return validate_data(est, X, reset=reset, skip_check_array=True)
        X, y = validate_data(est, X, y, reset=reset, skip_check_array=True)
        y = column_or_1d(y, warn=True)
        if kw.get("y_numeric"):
            y = np.asarray(y, dtype=np.float64)
        return X, y
    if y is _NO_Y:
        return validate_data(est, X, reset=reset)
    return validate_data(est, X, y, reset=reset, **kw)


class AutoMLClassifier(ClassifierMixin, _AutoMLEstimator):
    """A classifier whose model is the best one an automl search finds."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AutoMLClassifier:
        self._check_settings()
        X, y = _validated(self, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        problem = "binary" if len(self.classes_) == 2 else "multiclass"
        if len(self.classes_) < 2:
            raise DataError(
                f"the target has one class only ({self.classes_[0]!r}); a classifier needs at "
                "least two"
            )
        return self._fit(X, y, problem, sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._check(X)
        out = self.result_.predictor.output(self.result_.features.transform(X))
        order = [
            self.result_.classes_.index(c.item() if hasattr(c, "item") else c)
            for c in self.classes_
        ]
        return out[:, order]


class AutoMLRegressor(RegressorMixin, _AutoMLEstimator):
    """A regressor whose model is the best one an automl search finds."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AutoMLRegressor:
        self._check_settings()
        X, y = _validated(self, X, y, y_numeric=True)
        return self._fit(X, y, "regression", sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        X = self._check(X)
        return self.result_.predict(X)
