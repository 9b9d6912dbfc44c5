import numpy as np

from automl.ensemble import EnsemblePredictor, blend, choice_note, choose, select
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


def test_under_accuracy_the_ensemble_of_least_log_loss_within_one_standard_error():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    truth = np.eye(2)[y]

    def model(right: float, sure: float) -> np.ndarray:
        """Right on a ``right`` share of rows, with probability ``sure`` on its label."""
        label = np.where(rng.random(len(y)) < right, y, 1 - y)
        return np.where(np.eye(2)[label] == 1, sure, 1 - sure)

    accuracy = METRICS["accuracy"]
    # an overconfident model (probability 1 on its label) is the most accurate by a row or
    # two; two well-calibrated ones average to less log loss at about its accuracy
    sharp, calm_a, calm_b = model(0.80, 1.0), model(0.78, 0.7), model(0.78, 0.7)
    outputs = {0: sharp, 1: calm_a, 2: calm_b}
    best = (accuracy(y, sharp), sharp)
    weights, score = choose(outputs, y, accuracy, best)
    loss = METRICS["log_loss"]
    assert len(weights) > 1 and weights == select(outputs, y, loss)[0]  # by log loss
    assert loss(y, blend(outputs, weights)) < loss(y, sharp)
    assert score == accuracy(y, blend(outputs, weights)) >= best[0] - 0.03
    # a log-loss choice that costs more than one standard error of accuracy is not taken
    # an ensemble of less log loss that costs more than one standard error of accuracy is
    # not taken (the best trial stays; here it is not among the outputs, as when a trial
    # model is not kept)
    sharper = model(0.90, 1.0)
    calm = {1: model(0.80, 0.7), 2: model(0.80, 0.7)}
    assert loss(y, blend(calm, {1: 1, 2: 1})) < loss(y, sharper)
    assert accuracy(y, blend(calm, {1: 1, 2: 1})) < accuracy(y, sharper) - 0.05
    assert choose(calm, y, accuracy, (accuracy(y, sharper), sharper)) == ({}, accuracy(y, sharper))
    # other metrics choose by themselves, and only an ensemble that beats the best trial
    assert choose(outputs, y, METRICS["roc_auc"], (1.0, None)) == ({}, 1.0)
    assert np.allclose(blend({0: truth, 1: sharp}, {0: 1, 1: 3}), (truth + 3 * sharp) / 4)


def test_the_choice_is_described_with_both_scores():
    note = choice_note(METRICS["accuracy"], 0.7533, 0.756)
    assert "least log loss within one standard error" in note
    assert note.endswith("accuracy 0.7533 on validation, the best trial's 0.7560")
    assert choice_note(METRICS["r2"], 0.86, 0.85).startswith("greedy selection by validation r2")
