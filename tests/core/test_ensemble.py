import numpy as np

from automl.ensemble import EnsemblePredictor, select
from automl.metrics import METRICS
from automl.predictors import Predictor


def test_greedy_selection_combines_complementary_models():
    y = np.array([0, 0, 1, 1])
    # each model is right on a different half; their average is right everywhere
    a = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    b = np.array([[0.4, 0.6], [0.4, 0.6], [0.1, 0.9], [0.1, 0.9]])
    bad = np.array([[0.2, 0.8], [0.2, 0.8], [0.8, 0.2], [0.8, 0.2]])
    weights, score = select({0: a, 1: b, 2: bad}, y, METRICS["accuracy"])
    assert METRICS["accuracy"](y, a) == 0.5 and METRICS["accuracy"](y, b) == 0.5
    assert score == 1.0 and set(weights) == {0, 1}


def test_selection_for_a_minimised_metric():
    y = np.array([1.0, 2.0, 3.0])
    weights, score = select({0: y + 1, 1: y - 1, 2: y + 5}, y, METRICS["rmse"])
    assert set(weights) == {0, 1} and score < 1e-9


class _Const(Predictor):
    kind = "const"

    def __init__(self, value):
        super().__init__("regression", 1)
        self.value = value

    def output(self, x):
        return np.full(len(x), self.value)


def test_ensemble_predictor_weights_outputs():
    ens = EnsemblePredictor([(_Const(1.0), 3), (_Const(5.0), 1)])
    assert np.allclose(ens.output(np.zeros((2, 1))), 2.0)
