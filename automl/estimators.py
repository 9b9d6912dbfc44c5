"""scikit-learn estimators over ``automl.fit``: use a search wherever an estimator fits
(pipelines, cross-validation). ``__init__`` only stores arguments; learned state ends in ``_``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from automl.errors import DataError
from automl.settings import check_settings, estimator_init, refuse_unknown_parameters


class _AutoMLEstimator(BaseEstimator):
    """Its parameters are ``automl.settings.SETTINGS``' estimator subset, with their estimator
    defaults: ``__init__`` is made from the declaration (``automl.settings.estimator_init``);
    ``task`` None: inferred by the plugins from X (a validated 2-D array)."""

    _problem: str

    __init__ = estimator_init()  # keyword-only, as scikit-learn advises

    def _fit(self, X: Any, y: Any, problem_type: str) -> _AutoMLEstimator:
        from automl.api import fit

        self.result_ = fit((X, y), problem_type=problem_type, **self.get_params())
        self.best_params_ = self.result_.best_params
        self.best_score_ = self.result_.valid_score
        self.model_name_ = self.result_.model_name
        self.leaderboard_ = self.result_.leaderboard()
        self.result_._study = None  # an in-memory study holds locks: keep the estimator picklable
        return self

    def set_params(self, **params: Any) -> _AutoMLEstimator:
        """scikit-learn's ``set_params``; a misspelled name says which one was meant."""
        names = list(self.get_params(deep=False))
        refuse_unknown_parameters(type(self).__name__, [p for p in params if "__" not in p], names)
        return super().set_params(**params)

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

    def fit(self, X: Any, y: Any) -> AutoMLClassifier:
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
        return self._fit(X, y, problem)

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

    def fit(self, X: Any, y: Any) -> AutoMLRegressor:
        self._check_settings()
        X, y = _validated(self, X, y, y_numeric=True)
        return self._fit(X, y, "regression")

    def predict(self, X: Any) -> np.ndarray:
        X = self._check(X)
        return self.result_.predict(X)
