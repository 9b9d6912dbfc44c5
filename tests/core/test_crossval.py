"""k-fold cross-validated trial scoring (small tables)."""

import time

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer

import automl
from automl import objective
from automl.crossval import Folds, resolve_folds
from automl.metrics import METRICS
from automl.plugins import load_registry
from automl.settings import FitSettings
from automl.training import StoppedUnscored

FAST = {"verbose": False, "max_epochs": 5, "storage": ":memory:"}


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_small_table_is_cross_validated_by_default(cancer):
    x, y = cancer
    result = automl.fit((x, y), n_trials=3, models=["linear", "hist_gb"], **FAST)
    assert result.summary["validation"] == "5-fold cross-validation over train+valid (569 rows)"
    for trial in result.study.trials:
        folds = trial.user_attrs["fold_scores"]
        assert len(folds) == 5
        # the trial's score pools the out-of-fold predictions of all 569 rows
        assert min(folds) - 1e-9 <= trial.value <= max(folds) + 1e-9
    # the report's holdout output is the out-of-fold output of the validation rows
    x_valid, y_valid = result.holdout
    assert result.holdout_output.shape[0] == len(y_valid) == 114


def test_out_of_fold_score_matches_a_hand_cross_validation(cancer):
    """The linear family's trial value is the accuracy of out-of-fold predictions made with
    the same folds, recomputed here with scikit-learn directly."""
    from sklearn.linear_model import LogisticRegression

    x, y = cancer
    result = automl.fit((x, y), n_trials=1, models=["linear"], **FAST)
    session_data = automl.api._open(
        (x, y), None, FitSettings.build(storage=":memory:", models=["linear"])
    ).data
    folds = Folds.make(session_data, 5, seed=0)
    oof = np.zeros((len(folds.y), 2))
    for i in range(5):
        fold = folds.fold(session_data, i)
        model = LogisticRegression(C=1.0, max_iter=2000).fit(fold.x_train, fold.y_train)
        rows, x_hold = folds.holdout(i)
        oof[rows] = model.predict_proba(x_hold)
    assert result.study.trials[0].value == pytest.approx(METRICS["accuracy"](folds.y, oof))


def test_torch_folds_stop_early_on_fit_rows_not_on_the_scored_holdout(cancer):
    x, y = cancer
    data = automl.api._open((x, y), None, FitSettings.build(storage=":memory:")).data
    folds = Folds.make(data, 5, seed=0)
    rows, _ = folds.holdout(0)
    fold = folds.fold(data, 0, inner=0.15)
    assert len(fold.y_train) + len(fold.y_valid) == len(folds.y) - len(rows)
    held = {tuple(r) for r in folds.x[rows]}
    assert not held & {tuple(r) for r in fold.x_valid}  # the early-stopping rows are fit rows
    assert not held & {tuple(r) for r in fold.x_train}
    assert abs(len(fold.y_valid) - 0.15 * (len(folds.y) - len(rows))) <= 1
    # an MLP trial under cross-validation still scores every row out of fold
    result = automl.fit((x, y), n_trials=1, models=["mlp"], **FAST)
    assert len(result.study.trials[0].user_attrs["fold_scores"]) == 5


def test_cv_folds_zero_keeps_the_holdout_split(cancer):
    x, y = cancer
    result = automl.fit((x, y), n_trials=2, models=["linear"], cv_folds=0, **FAST)
    assert result.summary["validation"] == "holdout split of 114 rows"
    assert "fold_scores" not in result.study.trials[0].user_attrs


def test_large_tables_and_other_tasks_are_not_cross_validated_on_auto(cancer):
    x, y = cancer
    data = automl.api._open((x, y), None, FitSettings.build(storage=":memory:")).data
    assert resolve_folds("auto", data, auto_max_rows=4000) == 5
    assert resolve_folds("auto", data, auto_max_rows=500) == 0  # 569 rows: above the limit
    assert resolve_folds("auto", data, auto_max_rows=0) == 0  # a task that never cross-validates
    assert resolve_folds(3, data, auto_max_rows=0) == 3  # asked for explicitly


def test_bad_cv_folds_are_refused_with_the_fix(cancer):
    x, y = cancer
    with pytest.raises(ValueError, match="cv_folds must be 'auto', 0"):
        automl.fit((x, y), n_trials=1, cv_folds=1, **FAST)
    with pytest.raises(
        automl.DataError, match="rarest class; there are 212. Pass cv_folds <= 212"
    ):
        automl.fit((x, y), n_trials=1, cv_folds=500, **FAST)


def test_resuming_with_other_folds_is_refused(cancer, tmp_path):
    x, y = cancer
    kw = {"study_name": "cv", "verbose": False, "models": ["linear"], "report": False}
    automl.fit((x, y), n_trials=1, cv_folds=3, **kw)
    with pytest.raises(automl.DataError, match="cv_folds"):
        automl.fit((x, y), n_trials=2, cv_folds=5, **kw)
    assert len(automl.fit((x, y), n_trials=2, cv_folds=3, **kw).study.trials) == 2


class _SlowRun(objective.TrialRun):
    """A trial whose every fold takes at least PAUSE seconds more (a featurizer that cannot
    stop, on a busy machine)."""

    PAUSE = 0.6

    def train(self, data, *, first=True, rows=None):
        outcome = super().train(data, first=first, rows=rows)
        time.sleep(self.PAUSE)
        return outcome


@pytest.mark.parametrize("first", [True, False])
def test_folds_that_would_end_past_the_deadline_are_cut(cancer, first):
    """At the pace of the folds done, the other folds would end seconds past the trial's
    deadline: they are not started. The first trial to finish is scored on the folds done
    (and joins no ensemble: no outputs on every row); a later trial is not scored."""
    x, y = cancer
    data = automl.api._open(
        (x, y), None, FitSettings.build(storage=":memory:", models=["linear"])
    ).data
    folds = Folds.make(data, 5, seed=0)
    registry = load_registry(["tabular"])
    family = registry.models["linear"]
    trial = optuna.create_study(direction="maximize").ask()
    params = family.default_params(data)
    run = _SlowRun(trial, family, params, METRICS["accuracy"], "cpu", 0, None, None)
    run.deadline = time.monotonic() + 1.0
    run.score_partial = first
    if not first:
        with pytest.raises(StoppedUnscored, match=r"cut after 1 of 5 folds"):
            objective._cross_validate(folds, run, data)
        return
    outcome, outputs = objective._cross_validate(folds, run, data)
    assert outputs is None
    assert "cross-validation cut after 1 of 5 folds" in outcome.note
    assert len(trial.user_attrs["fold_scores"]) == 1
    rows, x_hold = folds.holdout(0)
    expected = METRICS["accuracy"](folds.y[rows], outcome.predictor.output(x_hold))
    assert outcome.score == pytest.approx(expected)
    assert run.deadline is not None  # the trial's own deadline is back


class _CountingRun(objective.TrialRun):
    """A trial that counts the rows its fold models predict after training."""

    predicted: list[int]

    def train(self, data, *, first=True, rows=None):
        outcome = super().train(data, first=first, rows=rows)
        inner, counts = outcome.predictor.output, self.predicted

        def output(x):
            counts.append(x.shape[0])
            return inner(x)

        outcome.predictor.output = output
        return outcome


def test_a_scikit_learn_fold_predicts_its_holdout_once(cancer):
    """A scikit-learn fold's validation rows are its holdout: the predictions its fit made
    (and kept time for before its deadline) are its out-of-fold outputs, not predicted again."""
    x, y = cancer
    data = automl.api._open(
        (x, y), None, FitSettings.build(storage=":memory:", models=["linear"])
    ).data
    folds = Folds.make(data, 5, seed=0)
    family = load_registry(["tabular"]).models["linear"]
    trial = optuna.create_study(direction="maximize").ask()
    run = _CountingRun(
        trial, family, family.default_params(data), METRICS["accuracy"], "cpu", 0, None, None
    )
    run.predicted = []
    outcome, oof = objective._cross_validate(folds, run, data)
    assert run.predicted == []  # each holdout was predicted once, inside its fold's fit
    assert oof is not None and oof.shape == (len(folds.y), 2)
    rows, x_hold = folds.holdout(0)  # the kept outputs are the fold model's own on its holdout
    np.testing.assert_array_equal(oof[rows], outcome.predictor.output(x_hold))
    assert outcome.score == pytest.approx(METRICS["accuracy"](folds.y, oof))
