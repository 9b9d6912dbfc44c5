"""Bad input raises automl.DataError naming the problem and the fix, before any training:
no study storage is created for a call that fails here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl


def _fit(data, target=None, **kw):
    return automl.fit(data, target, n_trials=2, verbose=False, study_name="bad", **kw)


def _nothing_trained():
    return not Path("studies/bad").exists()


def test_empty_data(adult):
    with pytest.raises(automl.DataError, match="empty"):
        _fit(adult.iloc[:0], "class")
    assert _nothing_trained()


def test_target_column_missing(adult):
    with pytest.raises(automl.DataError, match="target column 'income' is not in the data"):
        _fit(adult, "income")
    with pytest.raises(automl.DataError, match="needs target='column'"):
        _fit(adult)
    assert _nothing_trained()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_target(bad):
    frame = pd.DataFrame({"a": np.arange(20.0), "y": np.linspace(0, 1, 20)})
    frame.loc[[3, 7], "y"] = bad
    with pytest.raises(automl.DataError, match=r"2 missing or infinite value\(s\) \(rows 3, 7\)"):
        _fit(frame, "y")
    assert _nothing_trained()


def test_one_class_only(adult):
    with pytest.raises(automl.DataError, match="one class only"):
        _fit(adult.assign(**{"class": "<=50K"}), "class")
    assert _nothing_trained()


def test_class_too_rare_to_split(iris_frame):
    frame = iris_frame.copy()
    frame.loc[0, "target"] = "unique-flower"
    with pytest.raises(automl.DataError, match=r"too rare to split.*'unique-flower'"):
        _fit(frame, "target")
    assert _nothing_trained()


def test_mismatched_lengths():
    with pytest.raises(automl.DataError, match="X has 10 rows but y has 9"):
        _fit((np.zeros((10, 2)), np.zeros(9)))


def test_input_no_plugin_accepts():
    with pytest.raises(
        automl.DataError,
        match=r"no loaded plugin accepts input of type set.*"
        r"Accepted: .*images: .*text: .*tables: a pandas DataFrame",
    ):
        _fit({1, 2, 3})
    assert _nothing_trained()


def test_unreadable_csv(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    with pytest.raises(automl.DataError, match="cannot read"):
        _fit(str(path), "y")
    with pytest.raises(automl.DataError, match="no such file"):
        _fit(str(tmp_path / "missing.csv"), "y")


def test_bad_budget_and_metric(iris_frame):
    with pytest.raises(ValueError, match="time_budget must be a positive"):
        automl.fit(iris_frame, "target", time_budget=0)
    with pytest.raises(ValueError, match="n_trials must be a positive integer"):
        automl.fit(iris_frame, "target", n_trials=0)
    with pytest.raises(automl.DataError, match="metric 'r2' does not apply to multiclass"):
        _fit(iris_frame, "target", metric="r2")
    assert _nothing_trained()


def test_unwritable_storage(iris_frame, tmp_path):
    with pytest.raises(automl.DataError, match="missing or not writable"):
        _fit(iris_frame, "target", storage="sqlite:////nonexistent/dir/study.db")
    (tmp_path / "studies").write_text("a file where the studies folder should be")
    with pytest.raises(automl.DataError, match="cannot create the study folder"):
        _fit(iris_frame, "target")


@pytest.fixture(scope="module")
def fitted(adult):
    return automl.fit(
        adult, target="class", models=["linear"], n_trials=1, verbose=False, storage=":memory:"
    )


def test_predict_with_missing_columns_names_them(fitted, adult):
    with pytest.raises(automl.DataError, match=r"lacks column\(s\).*\['age', 'education'\]"):
        fitted.predict(adult.drop(columns=["age", "education"]))


def test_predict_with_unseen_dtype_names_the_column(fitted, adult):
    bad = adult.drop(columns="class").astype({"age": object})
    bad.loc[bad.index[0], "age"] = "forty"
    with pytest.raises(automl.DataError, match=r"column 'age' was numeric.*\['forty'\]"):
        fitted.predict(bad)


def test_predict_with_wrong_width_array(fitted):
    with pytest.raises(
        automl.DataError, match="X has 3 features, but the model was trained on 14"
    ):
        fitted.predict(np.zeros((2, 3)))


def test_score_with_unseen_label(fitted, adult):
    x = adult.drop(columns="class").head(3)
    with pytest.raises(automl.DataError, match="label 'rich' was not seen in training"):
        fitted.score(x, ["rich", "<=50K", ">50K"])


@pytest.mark.parametrize(
    "cell", [[1, 2], {"a": 1}, {1, 2}, np.arange(2)], ids=["list", "dict", "set", "ndarray"]
)
def test_a_column_of_lists_dicts_or_sets_is_named_with_the_fix(cell, iris_frame, fitted, adult):
    kind = type(cell).__name__
    frame = iris_frame.assign(tags=[cell] * len(iris_frame))
    with pytest.raises(automl.DataError, match=rf"column 'tags' holds {kind} values.*columns of"):
        _fit(frame, "target")
    assert _nothing_trained()
    x = adult.drop(columns="class").head(5)
    x["workclass"] = [cell] * len(x)  # a categorical column at predict and monitor time
    for call in (fitted.predict, fitted.monitor):
        with pytest.raises(automl.DataError, match=rf"column 'workclass' holds {kind} values"):
            call(x)
    body = {"rows": [{**row, "age": 30} for row in x.drop(columns="age").to_dict("records")]}
    rows = fitted.plugin().parse_rows(body, fitted.features)
    with pytest.raises(automl.DataError, match="column 'workclass'"):
        fitted.predict(rows)
