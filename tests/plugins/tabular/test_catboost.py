"""The CatBoost family: searched, stopped at a deadline keeping its trees, saved in CatBoost's
own format and loaded back, explained with TreeSHAP and exported to ONNX."""

import math
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

import automl
from automl.kinds import FitOptions, Split
from automl.metrics import METRICS

FAST = {"verbose": False, "storage": ":memory:", "report": False}


def _iris() -> pd.DataFrame:
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x.assign(species=np.array(["setosa", "versicolor", "virginica"])[y])


def test_catboost_stops_at_the_deadline_and_keeps_its_iterations():
    from automl_tabular.families import CatBoostFamily

    x, y = load_iris(return_X_y=True)
    family = CatBoostFamily()
    params = {
        "catboost.iterations": 200_000,  # minutes of boosting
        "catboost.learning_rate_auto": True,
        "catboost.depth": 6,
        "catboost.l2_leaf_reg": 3.0,
    }
    data = type("Data", (), {"problem_type": "multiclass"})()
    data.spec = type("Spec", (), {"n_outputs": 3, "problem_type": "multiclass"})()
    split = Split(x[::2].astype(np.float32), y[::2], x[1::2].astype(np.float32), y[1::2])
    metric = METRICS["accuracy"]
    model = family.build(params, data.spec)
    options = FitOptions(deadline=time.monotonic() + 0.5, seed=3)
    outcome = family.kind.train(family, model, params, data, metric, split, options)
    grown = outcome.predictor.estimator.tree_count_
    assert 0 < grown < 200_000
    assert outcome.stopped_by == "time_budget" and f"{grown} of 200000" in outcome.note
    assert outcome.best_epoch == grown and outcome.schedule_epochs == 200_000
    assert outcome.score > 0.8 and outcome.valid_output.shape == (75, 3)
    # its refit grows as many trees at the rate CatBoost chose for 200,000 (no deadline)
    rate = outcome.predictor.estimator.learning_rate_
    refit = FitOptions(seed=3, refit_epochs=outcome.best_epoch, schedule_epochs=200_000.0)
    again = family.kind.train(
        family, family.build(params, data.spec), params, data, metric, split, refit
    )
    assert again.predictor.estimator.tree_count_ == grown and again.stopped_by == "fit"
    assert again.predictor.estimator.learning_rate_ == pytest.approx(rate)
    # no deadline: every iteration
    model = family.build({**params, "catboost.iterations": 30}, data.spec)
    outcome = family.kind.train(family, model, params, data, metric, split, FitOptions())
    assert outcome.predictor.estimator.tree_count_ == 30 and outcome.stopped_by == "fit"


def test_catboost_is_saved_loaded_explained_and_exported(tmp_path):
    pytest.importorskip("onnxruntime")
    frame = _iris()
    result = automl.fit(frame, target="species", models=["catboost"], n_trials=2, **FAST)
    assert {m.family.name for m in result.members} == {"catboost"}
    predicted = result.predict(frame)
    assert (predicted == frame["species"].to_numpy()).mean() > 0.9
    folder = result.save(str(tmp_path / "model"))
    assert any(p.name == "model.cbm" for p in (tmp_path / "model").rglob("*"))
    assert not list(tmp_path.rglob("catboost_info"))
    loaded = automl.load(folder)
    np.testing.assert_allclose(
        loaded.predict_proba(frame.drop(columns="species")),
        result.predict_proba(frame.drop(columns="species")),
    )
    explanation = result.explain(frame.drop(columns="species").head(10), seconds=math.inf)
    assert "TreeExplainer" in explanation.algorithm
    info = result.export(str(tmp_path / "model.onnx"), data=frame.drop(columns="species"))
    assert info["check"]["passed"], info["check"]


def test_catboost_regression_exports_values(tmp_path):
    pytest.importorskip("onnxruntime")
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = x.assign(progression=y)
    result = automl.fit(frame, target="progression", models=["catboost"], n_trials=1, **FAST)
    info = result.export(str(tmp_path / "model.onnx"), data=x)
    assert info["output"] == "value" and info["check"]["passed"], info["check"]
