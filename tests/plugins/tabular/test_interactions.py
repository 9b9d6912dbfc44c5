"""The tree families' pairwise interaction features (automl_tabular.interactions): sums and
differences of continuous columns, chosen per trial, saved, and explained on the input columns."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import automl
from automl.explain import explain
from automl.task import DataSpec

FAST = {"verbose": False, "max_epochs": 5, "storage": ":memory:"}


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


def test_pair_choices_are_those_whose_columns_fit_their_memory():
    """A refit's pair columns of 1,000,000 rows: 90 sums and differences of 10 columns would
    take about 1 GB (float32 and a float64 copy), so only "none" and "screened" are searched, and
    the extra trees' default ("differences") becomes "none"; 20,000 rows afford every choice."""
    from automl_tabular import interactions
    from automl_tabular.families import ExtraTreesFamily, HistGradientBoostingFamily
    from automl_tabular.preprocessing import TabularPreprocessor

    rng = np.random.default_rng(0)
    pre = TabularPreprocessor().fit(pd.DataFrame(rng.normal(size=(500, 10))))
    small = SimpleNamespace(features=pre, n_train=16_000, n_valid=4_000)
    large = SimpleNamespace(features=pre, n_train=800_000, n_valid=200_000)
    assert interactions.affordable(small) == interactions.CHOICES
    assert interactions.affordable(large) == ("none", "screened")
    assert ExtraTreesFamily().default_pairs(small) == {"extra_trees.pair_columns": "differences"}
    assert ExtraTreesFamily().default_pairs(large) == {"extra_trees.pair_columns": "none"}
    assert HistGradientBoostingFamily().screened_start(large)
    few = SimpleNamespace(features=TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0]})))
    assert (
        interactions.affordable(SimpleNamespace(features=few.features, n_train=9, n_valid=1)) == ()
    )


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
    exp = explain(result, x.iloc[:6], method="shap", seconds=math.inf)
    assert exp.algorithm.startswith("TreeExplainer") and "pair columns split" in exp.algorithm
    assert exp.values.shape == (6, x.shape[1])  # folded back onto the 10 input columns
    # the attributions still add up to the predicted value
    np.testing.assert_allclose(
        exp.base_values + exp.values.sum(axis=1), result.predict(x.iloc[:6]), rtol=1e-3
    )


def _ratio_frame(n=600):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "rooms": rng.uniform(50, 500, n),
            "people": rng.uniform(20, 400, n),
            "east": rng.normal(0, 3, n),
            "north": rng.normal(0, 3, n),
            "kind": rng.choice(["a", "b"], n),
        }
    )
    target = np.log(frame.rooms / frame.people) + np.tanh(frame.east - frame.north)
    return frame, pd.Series(target + rng.normal(0, 0.05, n), name="value")


def test_screened_pairs_keep_the_informative_sums_differences_and_ratios():
    from automl_tabular.interactions import DIFFERENCE, RATIO, SUM, ScreenedPairs
    from automl_tabular.preprocessing import TabularPreprocessor

    frame, y = _ratio_frame()
    pre = TabularPreprocessor().fit(frame)
    x = pre.transform(frame)
    features = ScreenedPairs(pre, regression=True)
    # candidates: 6 pairs' sums and differences, and the ratio of the one positive pair
    assert len(features.ops) == 13 and (features.ops[:, 0] == RATIO).sum() == 1
    features.fit(x, y.to_numpy())
    kept = {tuple(op) for op in features.ops.tolist()}
    assert len(kept) == 4  # as many as there are continuous columns
    assert (RATIO, 0, 1) in kept and (DIFFERENCE, 2, 3) in kept  # rooms/people, east - north
    assert list(features.ops[:, 0]) == sorted(features.ops[:, 0])  # grouped: sums, then ...
    out = features.transform(x)
    r, p, e, nn = (frame[c].to_numpy() for c in ("rooms", "people", "east", "north"))
    columns = {(RATIO, 0, 1): r / p, (DIFFERENCE, 2, 3): e - nn, (SUM, 2, 3): e + nn}
    for k, op in enumerate(features.ops.tolist()):
        if tuple(op) in columns:
            got = out[:, x.shape[1] + k]
            np.testing.assert_allclose(got, columns[tuple(op)], rtol=1e-3, atol=0.05)
    again = ScreenedPairs.from_state(features.get_state())
    np.testing.assert_array_equal(again.transform(x), out)
    folded = features.fold(np.ones((2, out.shape[1])))
    np.testing.assert_allclose(folded.sum(axis=1), out.shape[1])


def test_a_state_saved_before_the_operations_were_listed_still_loads():
    from automl_tabular.interactions import PairwiseFeatures
    from automl_tabular.preprocessing import TabularPreprocessor

    frame = _pairs_frame()
    pre = TabularPreprocessor().fit(frame)
    x = pre.transform(frame)
    for sums in (True, False):
        now = PairwiseFeatures(pre, sums=sums)
        state = {k: v for k, v in now.get_state().items() if k != "ops"} | {"sums": sums}
        np.testing.assert_array_equal(
            PairwiseFeatures.from_state(state).transform(x), now.transform(x)
        )


def test_a_screened_hist_gb_saves_loads_exports_and_is_explained(tmp_path):
    from automl_tabular.families import HistGradientBoostingFamily
    from automl_tabular.preprocessing import TabularPreprocessor

    small, _ = _ratio_frame()
    features = TabularPreprocessor().fit(small)
    family = HistGradientBoostingFamily()
    assert family.more_defaults(SimpleNamespace(features=features, n_train=600, n_valid=150)) == []
    second = family.more_defaults(SimpleNamespace(features=features, n_train=5000, n_valid=1250))
    assert [p["hist_gb.pair_columns"] for p in second] == ["screened"]
    # hist_gb's two starting configurations (5,000 training rows or more): the default, then
    # the finer one on screened pairs, which the ratio and difference in the target make better
    frame, y = _ratio_frame(6500)
    result = automl.fit(
        (frame, y), n_trials=2, models=["hist_gb"], cv_folds=0, ensemble=False, **FAST
    )
    assert result.best_params["hist_gb.pair_columns"] == "screened"
    again = automl.load(result.save(str(tmp_path / "model")))
    np.testing.assert_allclose(again.predict(frame.iloc[:50]), result.predict(frame.iloc[:50]))
    meta = result.export(str(tmp_path / "m.onnx"))
    assert meta["check"]["passed"], meta["check"]
    exp = explain(result, frame.iloc[:4], method="shap", seconds=math.inf)
    assert "pair columns split" in exp.algorithm and exp.values.shape == (4, frame.shape[1])
    np.testing.assert_allclose(
        exp.base_values + exp.values.sum(axis=1), result.predict(frame.iloc[:4]), rtol=1e-3
    )


def test_catboost_starts_on_screened_pairs_on_large_regression_tables_only(tmp_path):
    from automl_tabular.families import CatBoostFamily
    from automl_tabular.preprocessing import TabularPreprocessor

    small, _ = _ratio_frame()
    features = TabularPreprocessor().fit(small)
    family = CatBoostFamily()
    for problem_type, n_train, want in (
        ("regression", 600, []),
        ("binary", 6000, []),
        ("regression", 6000, ["screened"]),
    ):
        data = SimpleNamespace(
            features=features, n_train=n_train, n_valid=n_train // 4, problem_type=problem_type
        )
        assert [p["catboost.pair_columns"] for p in family.more_defaults(data)] == want
    frame, y = _ratio_frame(6500)
    result = automl.fit(
        (frame, y), n_trials=2, models=["catboost"], cv_folds=0, ensemble=False, **FAST
    )
    second = result.study.trials[1].params
    assert second["catboost.pair_columns"] == "screened"
    assert second["catboost.learning_rate"] == 0.1
    meta = result.export(str(tmp_path / "m.onnx"))
    assert meta["check"]["passed"], meta["check"]
