import numpy as np
import pandas as pd
import pytest

from automl import DataError
from automl.targets import TargetEncoder, infer_problem_type, prepare_target, split_indices
from automl.task import DataSpec, TaskData


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array(["a", "b", "a", "b"], dtype=object), "binary"),
        (np.array(["a", "b", "c", "a"], dtype=object), "multiclass"),
        (np.array([0, 1, 1, 0]), "binary"),
        (np.repeat(np.arange(5), 20), "multiclass"),
        (np.linspace(0, 1, 50), "regression"),
        (np.arange(200), "regression"),
        (np.array([True, False, True]), "binary"),
    ],
)
def test_infer_problem_type(values, expected):
    ptype, reason = infer_problem_type(values)
    assert ptype == expected
    assert reason


def test_prepare_target_states_inference_and_round_trips_labels():
    y = pd.Series(["yes", "no", "yes", "no", "yes", "no"])
    encoded, encoder, ptype, reason = prepare_target(y, None)
    assert ptype == "binary" and reason.startswith("inferred 'binary'")
    assert encoder.classes == ["no", "yes"]
    assert list(encoder.decode(encoded)) == list(y)
    assert TargetEncoder.from_json(encoder.to_json()) == encoder


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([], "empty"),
        ([1.0, np.nan, 2.0, 1.0], "missing or infinite"),
        ([1.0, np.inf, 2.0, 1.0], "missing or infinite"),
        (["a", None, "b", "a"], "missing or infinite"),
        (["a", "a", "a", "a"], "one class only"),
        (["a", "a", "a", "b", "b", "c"], "too rare to split"),
    ],
)
def test_bad_targets_are_named(y, message):
    with pytest.raises(DataError, match=message):
        prepare_target(y, None)


def test_binary_with_three_classes_is_refused():
    with pytest.raises(DataError, match="has 3 classes"):
        prepare_target(["a", "b", "c"] * 3, "binary")


def test_regression_needs_numbers():
    with pytest.raises(DataError, match="numeric target"):
        prepare_target(["a", "b", "c"] * 3, "regression")


def test_unseen_label_is_named():
    _, encoder, _, _ = prepare_target(["a", "b"] * 3, None)
    with pytest.raises(DataError, match="'z' was not seen"):
        encoder.encode(["a", "z"])


def test_split_is_stratified_and_seeded():
    y = np.array([0] * 80 + [1] * 20)
    train, valid = split_indices(y, "binary", 0.2, seed=0)
    assert len(valid) == 20 and y[valid].sum() == 4
    assert not set(train) & set(valid)
    again = split_indices(y, "binary", 0.2, seed=0)
    assert np.array_equal(valid, again[1])


def test_split_refuses_tiny_data():
    with pytest.raises(DataError, match="too few rows"):
        split_indices(np.array([0, 1, 0]), "binary", 0.2, seed=0)


def test_split_task_data_fills_what_the_split_knows():
    from automl.targets import split_target
    from automl.task import FeatureEncoder

    class Rows(FeatureEncoder):
        def transform(self, raw):
            return np.asarray(raw, dtype=np.float32)

    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.array(["a", "b"] * 10, dtype=object)
    groups = np.repeat(np.arange(10), 2)  # pairs of rows stay together
    split = split_target(y, None, 0.25, 0, groups=groups)
    data = TaskData.from_split(
        split, x[split.train], x[split.valid], input_shape=(2,), features=Rows(), max_epochs=7
    )
    assert (data.n_train, data.n_valid, data.max_epochs) == (len(split.train), len(split.valid), 7)
    assert data.spec.to_json() == DataSpec((2,), 2, "binary").to_json()
    assert data.summary["rows"] == 20 and data.summary["class_counts"] == {"a": 10, "b": 10}
    assert list(data.groups) == list(groups[split.train]) + list(groups[split.valid])
    given = split_target(np.linspace(0, 1, 20), None, 0.25, 0, n_given_valid=5)
    data = TaskData.from_split(
        given,
        x[given.train],
        x[given.valid],
        input_shape=(2,),
        features=Rows(),
        reason="mine",
        summary={"notes": ["first"]},
    )
    assert data.given_valid and data.groups is None and data.problem_type_reason == "mine"
    assert "class_counts" not in data.summary and data.summary["notes"][0] == "first"
    assert "given by the caller" in data.summary["notes"][1]
