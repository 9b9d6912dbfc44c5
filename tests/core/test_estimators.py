"""AutoMLClassifier / AutoMLRegressor honour the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoMLClassifier, AutoMLRegressor
from tests import DATA

TINY = {"n_trials": 1, "models": ["linear"], "seed": 0}


# a weight of 2 is a duplicated row for the model, but not for the search: the validation split
# draws rows, so the repeated rows change which rows each side gets (and the rows it scores on)
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the search's validation split is drawn from the rows: repeating a row changes the split, "
        "so weights of 2 cannot equal repeated rows"
    ),
}


@parametrize_with_checks(
    [AutoMLClassifier(**TINY), AutoMLRegressor(**TINY)],
    expected_failed_checks=lambda _estimator: EXPECTED_FAILURES,
)
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


def test_estimators_take_dataframes_with_categorical_columns():
    """What automl.fit takes (a DataFrame of mixed types), the estimators take too."""

    import pandas as pd

    from automl import AutoMLClassifier as Classifier

    frame = pd.read_csv(DATA / "adult_sample.csv")
    x, y = frame.drop(columns="class"), frame["class"]
    assert x.select_dtypes(exclude="number").shape[1] > 0  # e.g. workclass, education
    clf = Classifier(**TINY).fit(x, y)
    assert list(clf.feature_names_in_) == list(x.columns) and clf.n_features_in_ == x.shape[1]
    assert (clf.predict(x) == y).mean() > 0.7
    assert clf.predict_proba(x).shape == (len(x), 2)
