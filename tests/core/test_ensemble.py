import numpy as np

from automl.ensemble import EnsemblePredictor, blend, criterion, select
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


def test_accuracy_ensembles_are_chosen_by_log_loss():
    # a's and b's labels are alike (3 of 4 right); b is confident where it is right and unsure
    # where it is wrong, so log loss tells them apart where accuracy ties
    y = np.array([0, 0, 1, 1])
    a = np.array([[0.55, 0.45], [0.45, 0.55], [0.45, 0.55], [0.05, 0.95]])
    b = np.array([[0.95, 0.05], [0.95, 0.05], [0.49, 0.51], [0.51, 0.49]])
    accuracy = METRICS["accuracy"]
    assert accuracy(y, a) == accuracy(y, b) == 0.75
    chooser = criterion(accuracy)
    assert chooser.name == "log_loss"
    assert select({0: a, 1: b}, y, accuracy, rounds=1)[0] == {0: 1}  # a tie: the first
    assert select({0: a, 1: b}, y, chooser, rounds=1)[0] == {1: 1}
    # other metrics choose by themselves, their bound weights kept
    w = np.array([1.0, 2.0, 1.0, 1.0])
    assert criterion(METRICS["roc_auc"].weighted(w)).name == "roc_auc"
    assert np.array_equal(criterion(accuracy.weighted(w)).weights, w)
    assert np.allclose(blend({0: a, 1: b}, {0: 1, 1: 3}), (a + 3 * b) / 4)
