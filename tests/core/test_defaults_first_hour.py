"""Defaults that fit what users mean (#28 items 4, 5, 10): the positive class of a binary
target is its minority class; imbalanced classes get class weights searched (or set with
``class_weight=``); the scikit-learn estimators take ``sample_weight``, ``class_weight`` and
give ``feature_importances_``, with ``best_params_`` and ``best_config_`` keyed alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import f1_score, recall_score

import automl
from automl import imbalance

QUICK = {"storage": ":memory:", "verbose": False, "report": False, "models": ["linear"]}


@pytest.fixture(scope="module")
def fraud() -> pd.DataFrame:
    """A fraud-like table: breast cancer rows, 40 of the 212 malignant ones kept and labelled
    ``fraud`` (10% of rows), the benign ones ``ok``: alphabetically the minority comes first."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame
    rng = np.random.default_rng(0)
    bad = rng.choice(np.flatnonzero(frame["target"] == 0), 40, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(frame["target"] == 1), bad]))
    frame = frame.iloc[keep].reset_index(drop=True)
    frame["label"] = np.where(frame.pop("target") == 0, "fraud", "ok")
    return frame


def test_the_minority_class_is_the_default_positive_class(fraud):
    result = automl.fit(fraud, "label", n_trials=1, class_weight="none", **QUICK)
    assert result.positive_class == "fraud"
    assert "positive class 'fraud': the minority class" in result.problem_type_reason
    x, y = fraud.drop(columns="label"), fraud["label"]
    scores = result.evaluate(x, y)
    assert scores["f1"] == pytest.approx(f1_score(y, result.predict(x), pos_label="fraud"))
    assert scores["recall"] == pytest.approx(recall_score(y, result.predict(x), pos_label="fraud"))
    from automl.serve import ServedModel

    served = ServedModel(result, result.plugin()).metadata()
    assert served["positive_class"] == "fraud"


def test_positive_class_still_overrides_the_default(fraud):
    result = automl.fit(fraud, "label", n_trials=1, positive_class="ok", **QUICK)
    assert result.positive_class == "ok"
    assert "positive class 'ok' (given by positive_class=)" in result.problem_type_reason


def test_even_classes_keep_the_second_class_as_positive():
    y = np.array(["b", "a"] * 30)
    x = np.random.default_rng(0).normal(size=(60, 3)) + (y == "a")[:, None]
    result = automl.fit((x, y), n_trials=1, **QUICK)
    assert result.positive_class == "b"
    assert "the second (the classes are even)" in result.problem_type_reason


def test_class_weight_is_searched_on_an_imbalanced_target_and_shown(fraud):
    result = automl.fit(fraud, "label", n_trials=3, **QUICK)
    trials = [t for t in result.study.trials if t.state.name == "COMPLETE"]
    tried = {t.params[imbalance.PARAM] for t in trials}
    assert tried == {"none", "balanced"}  # the default, then the default balanced
    assert imbalance.PARAM in result.best_params
    board = result.leaderboard()
    assert board["params"].str.contains("class_weight=balanced").any()


def test_class_weight_is_not_searched_on_balanced_classes():
    y = np.array([0, 1] * 30)
    x = np.random.default_rng(0).normal(size=(60, 3)) + y[:, None]
    result = automl.fit((x, y), n_trials=2, **QUICK)
    assert all(imbalance.PARAM not in t.params for t in result.study.trials)


def test_balanced_class_weight_raises_the_minority_recall(fraud):
    """The weights reach training: the same model recalls more of the minority balanced."""
    x, y = fraud.drop(columns="label"), fraud["label"]
    recall = {}
    for weight in ("none", "balanced"):
        result = automl.fit(fraud, "label", n_trials=1, class_weight=weight, refit=False, **QUICK)
        recall[weight] = recall_score(y, result.predict(x), pos_label="fraud")
        assert imbalance.PARAM not in result.best_params  # given, so not searched
    assert recall["balanced"] > recall["none"]


def test_balanced_weights_give_each_class_the_same_total():
    y = np.array([0] * 90 + [1] * 10)
    w = imbalance.weigh(None, y, "balanced")
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum()) and w.mean() == pytest.approx(1)
    given = np.full(100, 2.0)
    assert np.allclose(imbalance.weigh(given, y, {1: 3.0}), 2.0 * np.where(y == 1, 3.0, 1.0))


def test_bad_class_weights_are_refused_with_the_fix(fraud):
    with pytest.raises(automl.ParameterError, match=r"not one of the classes \['fraud', 'ok'\]"):
        automl.fit(fraud, "label", n_trials=1, class_weight={"fruad": 5}, **QUICK)
    with pytest.raises(automl.ParameterError, match="class_weight applies to classification"):
        automl.fit(fraud, "mean radius", n_trials=1, class_weight="balanced", **QUICK)
    with pytest.raises(automl.ParameterError, match="non-negative"):
        automl.fit(fraud, "label", class_weight={"fraud": -1})
    weighted = automl.fit(fraud, "label", n_trials=1, class_weight={"fraud": 5}, **QUICK)
    assert "class_weight={0: 5.0}" in weighted.leaderboard()["params"][0]


def test_estimator_sample_weight_reaches_training_as_class_weight_does(fraud):
    """Balanced sample weights over all rows are what class_weight="balanced" gives the refit
    (train + valid): the same model; unweighted, another."""
    from sklearn.utils.class_weight import compute_sample_weight

    from automl import AutoMLClassifier

    x, y = fraud.drop(columns="label"), fraud["label"]
    tiny = {"n_trials": 1, "models": ["linear"], "cv_folds": 0}
    balanced = AutoMLClassifier(class_weight="balanced", **tiny).fit(x, y)
    weighted = AutoMLClassifier(class_weight="none", **tiny).fit(
        x, y, sample_weight=compute_sample_weight("balanced", y)
    )
    plain = AutoMLClassifier(class_weight="none", **tiny).fit(x, y)
    same = np.abs(balanced.predict_proba(x) - weighted.predict_proba(x)).max()
    other = np.abs(balanced.predict_proba(x) - plain.predict_proba(x)).max()
    assert same < 0.02 and other > 0.1  # measured: 0.003 (the solver's tolerance) and 0.29


def test_estimator_importances_and_params_keys():
    from automl import AutoMLClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 2] > 0).astype(int)  # only the third column matters
    for given in (x, pd.DataFrame(x, columns=["a", "b", "c", "d"])):
        clf = AutoMLClassifier(n_trials=1, models=["linear"], cv_folds=0).fit(given, y)
        importances = clf.feature_importances_
        assert importances.shape == (4,) and importances.min() >= 0
        assert importances.sum() == pytest.approx(1) and importances.argmax() == 2
    assert clf.best_params_ == clf.best_config_ == clf.result_.best_config
    assert "C" in clf.best_params_ and not any("." in k for k in clf.best_params_)
    with pytest.raises(AttributeError):
        AutoMLClassifier().feature_importances_  # noqa: B018 - not fitted
