"""Large tables without copies (#31): what the estimators receive (float32 where a family takes
it; histogram gradient boosting's float64 rows written once), pair columns written block by
block, text labels and text categories coded by hashing, quantile knots from a sample."""

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from automl.metrics import METRICS
from automl.objective import train_candidate
from automl.targets import prepare_target


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    colour = rng.choice(["red", "green", "blue"], n).astype(object)
    colour[:20] = None  # missing values: a level of their own
    label = np.where(x[:, 0] + x[:, 1] * x[:, 2] + (colour == "red") > 0.3, "yes", "no")
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(4)})
    frame["colour"] = colour
    frame["label"] = label
    return frame


def _data(frame):
    from automl_tabular.task import TabularTask

    return TabularTask().adapt(frame, "label", seed=0)


def _spy(monkeypatch, cls, seen):
    fit = cls.fit

    def spying(self, X, y, **kwargs):
        from sklearn.utils import check_array

        checked = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite=False)
        seen.append(
            {"X": X, "kwargs": kwargs, "copied": not np.shares_memory(checked, X), "n": len(y)}
        )
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(cls, "fit", spying)


@pytest.mark.parametrize("deadline", [None, 30.0])
def test_hist_gb_fits_float64_rows_made_once_with_its_early_stopping_rows(monkeypatch, deadline):
    from automl_tabular.families import HistGradientBoostingFamily
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.utils.validation import check_array

    data = _data(_frame())
    family = HistGradientBoostingFamily()
    seen = []
    _spy(monkeypatch, HistGradientBoostingClassifier, seen)
    outcome = train_candidate(
        family,
        family.default_params(data),
        data,
        METRICS["accuracy"],
        device="cpu",
        seed=0,
        deadline=None if deadline is None else time.monotonic() + deadline,
    )
    assert len(seen) == (1 if deadline is None else 2)  # a warm start: the probe, then the rest
    for call in seen:
        x, kwargs = call["X"], call["kwargs"]
        # what the estimator keeps as it is: no float64 copy, and no early-stopping split of it
        assert x.dtype == np.float64 and x.flags.c_contiguous
        assert check_array(x, dtype=[np.float64], ensure_all_finite=False) is x
        assert kwargs["X_val"].dtype == np.float64
        assert call["n"] + len(kwargs["y_val"]) == data.n_train
        assert len(kwargs["y_val"]) == round(0.1 * data.n_train)
        assert set(np.unique(kwargs["y_val"])) == {0, 1}  # stratified
    assert all(call["X"] is seen[0]["X"] for call in seen)  # made once for the trial's fits
    # its rows are the training rows: the first fit row is the matrix's row of that position
    assert np.array_equal(seen[0]["X"].astype(np.float32)[0], data.x_train[0]) or np.array_equal(
        seen[0]["kwargs"]["X_val"].astype(np.float32)[0], data.x_train[0]
    )
    assert outcome.score > 0.8


def test_float64_rows_takes_rows_block_by_block(monkeypatch):
    from automl_tabular import families

    monkeypatch.setattr(families, "BLOCK_ROWS", 7)
    x = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    rows = np.array([0, 3, 4, 9, 20, 21, 22, 23, 24, 30, 49])
    assert np.array_equal(families.float64_rows(x, rows), x[rows].astype(np.float64))
    assert np.array_equal(families.float64_rows(x, None), x.astype(np.float64))
    own = x.astype(np.float64)
    assert families.float64_rows(own, None) is own


def test_logistic_regression_fits_the_shared_float32_matrix(monkeypatch):
    from automl_tabular.families import LinearFamily
    from sklearn.linear_model import LogisticRegression

    data = _data(_frame())
    seen = []
    _spy(monkeypatch, LogisticRegression, seen)
    family = LinearFamily()
    outcome = train_candidate(
        family, family.default_params(data), data, METRICS["accuracy"], device="cpu", seed=0
    )
    assert seen[0]["X"] is data.x_train and data.x_train.dtype == np.float32
    assert not seen[0]["copied"]
    assert outcome.predictor.estimator.coef_.dtype == np.float32  # solved in float32
    assert outcome.score > 0.6


def test_pair_columns_are_written_block_by_block(monkeypatch):
    from automl_tabular import interactions
    from automl_tabular.preprocessing import TabularPreprocessor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.uniform(1, 100, 40_000) for i in range(6)})
    pre = TabularPreprocessor().fit(frame)
    x = pre.transform(frame)
    features = interactions.PairwiseFeatures(pre, sums=False)
    whole = features.transform(x)
    want = interactions.pair_values(features.raw(x), features.ops)  # float64, all rows at once
    assert whole.dtype == np.float32 and whole.shape == (40_000, 6 + 15)
    assert np.array_equal(whole[:, :6], x)
    np.testing.assert_allclose(whole[:, 6:], want, rtol=1e-5, atol=1e-4)
    monkeypatch.setattr(interactions, "BLOCK_ROWS", 1000)
    tracemalloc.start()
    try:
        blocked = features.transform(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(blocked, whole)
    # the output and one block's temporaries; all rows' float64 pair values (4.8 MB) are never
    # made (before: output 3.4 MB + float64 pairs 4.8 MB + their float32 copy 2.4 MB + more)
    assert peak < whole.nbytes + 2_000_000, (peak, whole.nbytes)
    # and a block holds at most BLOCK_VALUES pair values, however many rows BLOCK_ROWS allows
    monkeypatch.setattr(interactions, "BLOCK_ROWS", 40_000)
    monkeypatch.setattr(interactions, "BLOCK_VALUES", 15 * 1000)
    tracemalloc.start()
    try:
        assert np.array_equal(features.transform(x), whole)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole.nbytes + 2_000_000, (peak, whole.nbytes)


def test_text_labels_are_coded_as_sorted_classes():
    labels = np.array(["yes", "no", "maybe", "no", "yes", "maybe", "no"], dtype=object)
    y, encoder, problem, _ = prepare_target(labels, None)
    assert problem == "multiclass" and encoder.classes == ["maybe", "no", "yes"]
    assert y.tolist() == [2, 1, 0, 1, 2, 0, 1] and y.dtype == np.int64
    assert encoder.encode(np.array(["no", "maybe"], dtype=object)).tolist() == [1, 0]
    with pytest.raises(Exception, match="label 'perhaps' was not seen in training"):
        encoder.encode(np.array(["no", "perhaps"], dtype=object))
    series = pd.Series(["b", "a", "b", "a"], dtype="str")  # pandas' string dtype too
    y, encoder, _, _ = prepare_target(series, None)
    assert encoder.classes == ["a", "b"] and y.tolist() == [1, 0, 1, 0]
    # labels of mixed types still go the per-label way, which refuses look-alikes
    with pytest.raises(Exception, match="print the same"):
        prepare_target(np.array([1, "1", 1, "1", 2, 2], dtype=object), None)


def test_text_categories_are_coded_by_hashing_as_by_their_text():
    from automl_tabular.levels import MISSING, as_text, level_codes

    levels = ["a", "b", MISSING]
    columns = [
        pd.Series(["a", "b", None, "c", "a", np.nan], dtype=object),
        pd.Series(["a", "b", None, "c", "a"], dtype="str"),
        pd.Series(pd.Categorical(["a", "c", None, "b"])),
        pd.Series(["a", 1, None], dtype=object),  # mixed: through its text
    ]
    for col in columns:
        text = as_text(col)
        want = pd.Categorical(text.where(text.isin(levels)), categories=levels).codes
        assert level_codes(col, levels).tolist() == want.tolist()


def test_quantile_knots_come_from_a_sample_on_a_long_column(monkeypatch):
    from automl_tabular import preprocessing

    monkeypatch.setattr(preprocessing, "QUANTILE_ROWS", 5000)
    values = np.random.default_rng(0).lognormal(size=60_000)
    frame = pd.DataFrame({"v": values, "w": np.arange(60_000) % 7})
    pre = preprocessing.TabularPreprocessor().fit(frame)
    plan = pre.columns[0]
    assert len(plan.quantiles) == 1000
    assert plan.quantiles[0] == values.min() and plan.quantiles[-1] == values.max()
    exact = np.quantile(values, np.linspace(0, 1, 1000))
    middle = slice(10, 990)  # the tails of a lognormal sample move most
    np.testing.assert_allclose(plan.quantiles[middle], exact[middle], rtol=0.1)
    assert pre.columns[1].quantiles is None  # 7 distinct values: standardised


def test_the_drift_reference_is_measured_on_a_sample_of_the_training_rows(monkeypatch):
    from automl_tabular import task

    monkeypatch.setattr(task, "PROFILE_ROWS", 500)
    data = _data(_frame())
    assert data.n_train == 2400 and len(data.profile_rows) == 500
    assert list(data.profile_rows.columns) == ["x0", "x1", "x2", "x3", "colour"]
    monkeypatch.setattr(task, "PROFILE_ROWS", 200_000)
    assert len(_data(_frame()).profile_rows) == 2400  # a smaller table: all its rows


def test_text_levels_are_counted_by_hashing_as_by_their_text():
    from automl_tabular.levels import as_text, level_counts

    rng = np.random.default_rng(0)
    columns = [
        pd.Series(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 5000).astype(object)),  # ties
        pd.Series(["a", "b", None, "b", "a", np.nan, "c"], dtype="str"),
        pd.Series(pd.Categorical(["a", "c", None, "b", "b"], categories=["z", "a", "b", "c"])),
        pd.Series(["a", "__missing__", None, "a"], dtype=object),  # the level's name written out
        pd.Series(["a", 1, None, "a"], dtype=object),
    ]
    for col in columns:
        got, want = level_counts(col), as_text(col).value_counts()
        assert list(got.index) == list(want.index) and got.tolist() == want.tolist()


def test_distinct_values_of_a_long_numeric_column_are_counted_on_a_sample(monkeypatch):
    from automl_tabular import preprocessing

    monkeypatch.setattr(preprocessing, "DISTINCT_ROWS", 1000)
    rng = np.random.default_rng(0)
    spread = pd.Series(rng.standard_normal(50_000))
    assert 10 < preprocessing._distinct(spread, exact=False) <= 1000  # the sample's
    assert preprocessing._distinct(spread, exact=True) == 50_000
    few = pd.Series(rng.integers(0, 8, 50_000).astype(float))
    few.iloc[-1] = 99.0  # a value the sample likely misses: few distinct values are counted all
    assert preprocessing._distinct(few, exact=False) == 9


def test_a_forest_is_weighed_by_all_its_trees():
    """The trial models a search keeps are bounded by their bytes (KEEP_BYTES); a forest's
    trees were counted one in 50 (the ids of each tree's temporary state were reused), so
    forests of hundreds of MB were kept past the bound."""
    from sklearn.ensemble import ExtraTreesClassifier

    from automl.kinds import object_nbytes
    from automl.objective import model_bytes
    from automl.predictors import SklearnPredictor

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, 5)).astype(np.float32)
    forest = ExtraTreesClassifier(50, random_state=0).fit(x, rng.integers(0, 2, 5000))
    states = [tree.tree_.__getstate__() for tree in forest.estimators_]
    trees = sum(state["nodes"].nbytes + state["values"].nbytes for state in states)
    assert trees <= object_nbytes(forest) <= 1.1 * trees
    assert model_bytes(SklearnPredictor(forest, "binary", 2)) >= trees


def test_the_kept_models_bytes_follow_the_tables_size():
    """Kept trial models may take twice the inputs' bytes, within 128..512 MiB: on a 1M-row
    table two cut-short forests (190 MB) no ensemble used were kept."""
    import types

    from automl.metrics import METRICS
    from automl.objective import KEEP_BYTES, KEEP_FLOOR, SearchRecords, keep_bytes

    def data(rows: int, cols: int):
        x = np.zeros((rows, cols), dtype=np.float32)
        return types.SimpleNamespace(x_train=x, x_valid=x[: rows // 4])

    assert keep_bytes(data(1000, 10)) == KEEP_FLOOR
    assert keep_bytes(data(4_000_000, 20)) == KEEP_BYTES
    mid = data(2_000_000, 10)  # 80 MB + 20 MB of inputs
    assert keep_bytes(mid) == 2 * (mid.x_train.nbytes + mid.x_valid.nbytes)
    assert SearchRecords(METRICS["accuracy"]).keep_bytes == KEEP_BYTES


def test_a_forest_under_a_deadline_grows_only_the_trees_its_memory_allowance_holds(monkeypatch):
    """After its timed probe of 10 trees, a forest grows no more trees than its allowance
    holds (twice its inputs' bytes, at least MODEL_FLOOR: here made small), and says so; the
    trial is not reported as cut by the time budget."""
    from sklearn.ensemble import ExtraTreesClassifier

    from automl.kinds import FitOptions, Split, object_nbytes
    from automl.kinds import sklearn_training as training

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 6)).astype(np.float32)
    y = (x[:, 0] + rng.normal(0, 1, 3000) > 0).astype(np.int64)
    probe = ExtraTreesClassifier(10, random_state=0).fit(x[:2400], y[:2400])
    per_tree = object_nbytes(probe.estimators_) / 10
    monkeypatch.setattr(training, "MODEL_FLOOR", int(25 * per_tree))  # inputs: far less
    forest = ExtraTreesClassifier(200, random_state=0, n_jobs=1)
    split = Split(x[:2400], y[:2400], x[2400:], y[2400:])
    options = FitOptions(deadline=time.monotonic() + 600)
    outcome = training.train_sklearn(
        forest, split, options, ("binary", 2), METRICS["accuracy"], ("n_estimators", "chunks")
    )
    assert 10 <= len(forest.estimators_) <= 30
    assert "of 200 trees" in outcome.note and outcome.note.startswith("memory:")
    assert outcome.stopped_by == "fit"
