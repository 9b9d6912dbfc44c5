"""``predict`` returns labels of the type the user trained with (int stays int, bool stays bool,
strings stay strings, pandas categories keep their categories), on every task, after save/load
and through the CLI's CSV, so scikit-learn's metrics take them as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.metrics import accuracy_score, f1_score

import automl
from automl.cli import main
from tests import DATA

QUICK = {"n_trials": 1, "storage": ":memory:", "verbose": False, "report": False}


def _iris(target):
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, target(y)


@pytest.mark.parametrize(
    ("make", "check"),
    [
        (lambda y: y.astype(np.int64), lambda p: p.dtype == np.int64),
        (lambda y: y.astype(np.uint8), lambda p: p.dtype == np.uint8),
        (lambda y: y.map({0: "a", 1: "b", 2: "c"}), lambda p: all(isinstance(v, str) for v in p)),
        (lambda y: y.astype(float), lambda p: p.dtype == np.float64),
        (
            lambda y: pd.Categorical.from_codes(
                y, ["small", "mid", "big", "unused"], ordered=True
            ),
            lambda p: (
                isinstance(p, pd.Categorical)
                and list(p.categories) == ["small", "mid", "big", "unused"]
                and p.ordered
            ),
        ),
    ],
    ids=["int64", "uint8", "str", "float", "category"],
)
def test_table_labels_come_back_in_their_own_type(make, check, tmp_path):
    x, y = _iris(make)
    frame = x.assign(label=y)
    result = automl.fit(frame, target="label", models=["linear"], **QUICK)
    pred = result.predict(x)
    assert check(pred), type(pred)
    assert accuracy_score(y, pred) > 0.8  # the metric takes them as they are
    assert f1_score(y, pred, average="macro") > 0.8
    loaded = automl.load(result.save(str(tmp_path / "model")))
    again = loaded.predict(x)
    assert check(again) and list(again) == list(pred)


def test_bool_labels_stay_bool_and_the_cli_writes_them_as_given(tmp_path):
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    y = y.astype(bool)
    result = automl.fit((x, y), models=["linear"], **QUICK)
    pred = result.predict(x)
    assert pred.dtype == np.bool_ and accuracy_score(y, pred) > 0.9
    model = result.save(str(tmp_path / "model"))
    x.to_csv(tmp_path / "x.csv", index=False)
    assert main(["predict", model, str(tmp_path / "x.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["prediction"].dtype == bool
    assert written["prediction"].tolist() == pred.tolist()
    assert list(written.columns) == ["prediction", "proba_False", "proba_True"]


def test_int_labels_of_a_table_survive_the_cli_csv(tmp_path):
    x, y = _iris(lambda y: y.astype(np.int64))
    result = automl.fit((x, y), models=["linear"], **QUICK)
    model = result.save(str(tmp_path / "model"))
    x.to_csv(tmp_path / "x.csv", index=False)
    main(["predict", model, str(tmp_path / "x.csv"), "--out", str(tmp_path / "p.csv")])
    written = pd.read_csv(tmp_path / "p.csv")["prediction"]
    assert written.dtype == np.int64 and accuracy_score(y, written) > 0.8


def test_int_labelled_images_predict_ints(tmp_path):
    with np.load(DATA / "mnist_sample.npz") as f:
        x, y = f["x_train"][:300], f["y_train"][:300].astype(np.int64)
        x_test, y_test = f["x_test"][:60], f["y_test"][:60].astype(np.int64)
    result = automl.fit((x, y), models=["pixel_mlp"], max_epochs=2, image_size=12, **QUICK)
    pred = result.predict(x_test)
    assert pred.dtype == np.int64
    assert accuracy_score(y_test, pred) > 0.3  # the call works: no "mix of ... targets"
    loaded = automl.load(result.save(str(tmp_path / "model")))
    assert loaded.predict(x_test).dtype == np.int64


def test_int_labelled_texts_predict_ints(tmp_path):
    frame = pd.read_csv(DATA / "sms_spam_sample.csv")
    texts = frame["text"].tolist()
    labels = (frame["label"] == "spam").astype(np.int64).to_numpy()
    result = automl.fit((texts, labels), models=["tfidf_linear"], **QUICK)
    pred = result.predict(texts)
    assert pred.dtype == np.int64 and accuracy_score(labels, pred) > 0.8
    loaded = automl.load(result.save(str(tmp_path / "model")))
    assert loaded.predict(texts[:20]).dtype == np.int64
