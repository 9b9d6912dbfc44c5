"""AutoMLClassifier / AutoMLRegressor honour the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoMLClassifier, AutoMLRegressor

TINY = {"n_trials": 1, "models": ["linear"], "seed": 0}


@parametrize_with_checks([AutoMLClassifier(**TINY), AutoMLRegressor(**TINY)])
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_classifier_in_cross_validation():
    x, y = load_iris(return_X_y=True)
    clf = AutoMLClassifier(n_trials=3, models=["linear", "mlp"], max_epochs=10)
    scores = cross_val_score(clf, x, y, cv=3)
    assert scores.mean() > 0.85
    clf.fit(x, y)
    assert clf.best_params_["model"] in ("linear", "mlp")
    assert len(clf.leaderboard_) == 3
    assert np.allclose(clf.predict_proba(x).sum(axis=1), 1)
