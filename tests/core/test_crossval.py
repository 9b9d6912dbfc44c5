"""k-fold cross-validated trial scoring (small tables) and the tree families' pairwise
interaction features."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

import automl
from automl.crossval import Folds, resolve_folds
from automl.explain import explain
from automl.metrics import METRICS
from automl.settings import FitSettings
from automl.task import DataSpec

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


def _pairs_frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "elevation": rng.integers(1800, 3800, 300).astype(float),
            "kind": rng.choice(["a", "b"], 300),
            "drop": rng.integers(-100, 300, 300).astype(float),
            "slope": rng.uniform(0, 60, 300),
        }
    )


def test_pairwise_features_are_sums_and_differences_in_original_units():
    from automl_tabular.interactions import PairwiseFeatures
    from automl_tabular.preprocessing import TabularPreprocessor

    frame = _pairs_frame()
    pre = TabularPreprocessor().fit(frame)
    x = pre.transform(frame)
    e, d, s = (frame[c].to_numpy() for c in ("elevation", "drop", "slope"))
    # pairs in order (elevation, drop), (elevation, slope), (drop, slope); sums, then differences
    for sums, want in (
        (True, np.column_stack([e + d, e + s, d + s, e - d, e - s, d - s])),
        (False, np.column_stack([e - d, e - s, d - s])),
    ):
        features = PairwiseFeatures(pre, sums=sums).fit(x, np.zeros(len(x)))
        out = features.transform(x)
        assert out.shape == (300, x.shape[1] + want.shape[1])  # 3 continuous columns: 3 pairs
        assert np.array_equal(out[:, : x.shape[1]], x)
        np.testing.assert_allclose(out[:, x.shape[1] :], want, rtol=1e-4, atol=0.05)
        assert features.spec(DataSpec((x.shape[1],), 1, "regression")).input_shape == (
            out.shape[1],
        )
        # fold: per-column values over the output back onto the input columns, totals kept
        values = np.random.default_rng(1).normal(size=(5, out.shape[1]))
        folded = features.fold(values)
        assert folded.shape == (5, x.shape[1])
        np.testing.assert_allclose(folded.sum(axis=1), values.sum(axis=1))
        other = [c for c in range(x.shape[1]) if c not in features.positions]  # "kind"
        assert other and np.array_equal(folded[:, other], values[:, other])


def test_pair_columns_choose_the_featurizer():
    from automl_tabular.families import ExtraTreesFamily
    from automl_tabular.preprocessing import TabularPreprocessor

    data = SimpleNamespace(features=TabularPreprocessor().fit(_pairs_frame()))
    family = ExtraTreesFamily()
    assert family.featurizer({"extra_trees.pair_columns": "differences"}, data).sums is False
    assert family.featurizer({"extra_trees.pair_columns": "both"}, data).sums is True
    assert family.featurizer({"extra_trees.pair_columns": "none"}, data) is None
    assert family.featurizer({}, data) is None
    with pytest.raises(ValueError, match="pair_columns"):
        family.featurizer({"extra_trees.pair_columns": "products"}, data)


def test_extra_trees_default_uses_pairs_and_round_trips(tmp_path):
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    result = automl.fit((x, y), n_trials=1, models=["extra_trees"], **FAST)
    # 9 continuous columns, so on: differences
    assert result.best_params["extra_trees.pair_columns"] == "differences"
    path = result.save(str(tmp_path / "model"))
    again = automl.load(path)
    np.testing.assert_allclose(again.predict(x.iloc[:20]), result.predict(x.iloc[:20]))
    assert result.score(x, y) > 0.5


def test_a_pairs_forest_is_explained_by_tree_shap_on_its_input_columns(tmp_path):
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    result = automl.fit((x, y), n_trials=1, models=["extra_trees"], **FAST)
    exp = explain(result, x.iloc[:6], method="shap")
    assert exp.algorithm.startswith("TreeExplainer") and "pair columns split" in exp.algorithm
    assert exp.values.shape == (6, x.shape[1])  # folded back onto the 10 input columns
    # the attributions still add up to the predicted value
    np.testing.assert_allclose(
        exp.base_values + exp.values.sum(axis=1), result.predict(x.iloc[:6]), rtol=1e-3
    )
