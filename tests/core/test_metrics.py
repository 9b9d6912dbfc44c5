import numpy as np
import pytest
from sklearn import metrics as skm

from automl import DataError
from automl.metrics import METRICS, report_metrics, resolve


def test_defaults_and_directions():
    assert resolve(None, "binary").name == "accuracy"
    assert resolve(None, "regression").name == "r2"
    assert resolve("log_loss", "multiclass").direction == "minimize"
    assert resolve("rmse", "regression").direction == "minimize"


def test_metric_must_fit_problem_type():
    with pytest.raises(DataError, match="does not apply to regression"):
        resolve("accuracy", "regression")
    with pytest.raises(DataError, match="unknown metric"):
        resolve("precision@k", "binary")


def test_classification_metrics_read_probabilities():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    assert METRICS["accuracy"](y, proba) == pytest.approx(0.75)
    assert METRICS["roc_auc"](y, proba) == pytest.approx(1.0)
    assert METRICS["f1"](y, proba) == pytest.approx(2 / 3)
    scores = report_metrics("binary", y, proba)
    assert set(scores) == {
        "accuracy",
        "balanced_accuracy",
        "f1",
        "precision",
        "recall",
        "roc_auc",
        "log_loss",
    }


@pytest.mark.parametrize("k", [2, 3])
def test_log_loss_is_scikit_learns_with_certain_and_unnormalised_rows(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 200)
    proba = rng.random((200, k))
    proba[0] = np.eye(k)[y[0]]  # certain and right
    proba[1] = np.eye(k)[(y[1] + 1) % k]  # certain and wrong: clipped, not infinite
    proba[2] *= 3  # rows are normalised first
    clipped = np.clip(proba, 1e-15, 1)
    clipped /= clipped.sum(axis=1, keepdims=True)
    weights = rng.random(200)
    for w in (None, weights):
        expected = skm.log_loss(y, clipped, labels=np.arange(k), sample_weight=w)
        assert METRICS["log_loss"](y, proba, w) == pytest.approx(expected, rel=1e-12)


def test_regression_metrics():
    y = np.array([1.0, 2.0, 3.0])
    pred = np.array([1.0, 2.0, 4.0])
    assert METRICS["mae"](y, pred) == pytest.approx(1 / 3)
    assert METRICS["rmse"](y, pred) == pytest.approx(np.sqrt(1 / 3))
    assert METRICS["r2"](y, y) == pytest.approx(1.0)
