"""Explanations: SHAP (tree, linear, gradient, bounded kernel fallback) and LIME on tabular models,
attributions summed back onto the table's own columns, bounds and budgets.

The fitted results are cached for the session (``fitted``) and shared with
tests/core/test_report.py.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from automl_tabular.families import MLPFamily

import automl
from automl.explain import ExplainError, explain
from tests import DATA

FAST = {
    "rows": 40,
    "lime_samples": 300,
    "gradient_samples": 50,
    "kernel_rows": 6,
    "kernel_samples": 150,
    "seconds": math.inf,  # rows and evaluations bound the work, not the clock
}


# -- plugin families for a study with failed and pruned trials and a model without probabilities --
class Broken(automl.ModelFamily):
    name = "broken"
    task = "tabular"
    kind = "sklearn"

    def suggest(self, trial, data):
        trial.suggest_int("broken.x", 0, 3)

    def build(self, params, spec):
        raise RuntimeError("plugin bug: cannot build")

    def default_params(self, data):
        return {"broken.x": 1}


class Exploding(MLPFamily):
    """An MLP whose loss is NaN from the first batch: its trials are pruned."""

    name = "exploding"

    def build(self, params, spec):
        return torch.nn.Sequential(super().build(params, spec), _Scale(float("nan")))


class _Scale(torch.nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class NoProba(automl.ModelFamily):
    """An RBF support-vector classifier without probabilities (no predict_proba)."""

    name = "no_proba"
    task = "tabular"
    kind = "sklearn"

    def suggest(self, trial, data):
        trial.suggest_float("no_proba.C", 0.1, 10.0, log=True)

    def build(self, params, spec):
        from sklearn.svm import SVC

        return SVC(C=params["no_proba.C"])

    def default_params(self, data):
        return {"no_proba.C": 1.0}


class FaultPlugin:
    __name__ = "report_fault_plugin"

    @automl.hookimpl
    def automl_register_models(self, register):
        for family in (Broken(), Exploding(), NoProba()):
            register(family)


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    return frame


@functools.cache
def fitted(name: str):
    """One small real search per kind of model the report and the explainers must handle."""
    common = {
        "storage": ":memory:",
        "verbose": False,
        "max_epochs": 5,
        "seed": 0,
        "ensemble": False,
    }
    if name == "adult_forest":  # binary, categorical and missing values, TreeExplainer
        frame = pd.read_csv(DATA / "adult_sample.csv")
        return automl.fit(frame, target="class", models=["random_forest"], n_trials=3, **common)
    if name == "adult_hist_gb":  # a margin tree model (an ensemble member in the report tests)
        frame = pd.read_csv(DATA / "adult_sample.csv")
        return automl.fit(frame, target="class", models=["hist_gb"], n_trials=1, **common)
    if name == "iris_mlp":  # multiclass torch MLP: GradientExplainer
        return automl.fit(_iris(), target="target", models=["mlp"], n_trials=3, **common)
    if name == "diabetes":  # regression
        from sklearn.datasets import load_diabetes

        data = load_diabetes(as_frame=True)
        return automl.fit((data.data, data.target), models=["linear"], n_trials=3, **common)
    if name == "faults":  # failed and pruned trials; the survivor has no predict_proba
        return automl.fit(
            _iris(),
            target="target",
            models=["broken", "exploding", "no_proba"],
            plugins=["tabular", FaultPlugin()],
            n_trials=5,
            **common,
        )
    raise KeyError(name)


@pytest.fixture(scope="session")
def adult_frame() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult_sample.csv")


# -- SHAP ----------------------------------------------------------------------------------------
def test_tree_shap_on_the_original_columns_adds_up_to_the_probability(adult_frame):
    result = fitted("adult_forest")
    rows = adult_frame.drop(columns="class").head(5)
    exp = explain(result, rows, method="shap", **FAST)
    assert exp.algorithm.startswith("TreeExplainer")
    frame = exp.to_frame()
    kept = [c for c in result.features.input_columns if c in frame.columns]
    assert list(frame.columns) == kept and "workclass" in kept and len(kept) >= 12
    assert frame.shape == (5, len(kept))
    assert exp.output_space == "probability" and set(exp.output) == {">50K"}
    probability = result.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(
        exp.base_values + frame.sum(axis=1).to_numpy(), probability, atol=1e-6
    )
    np.testing.assert_allclose(exp.predictions, probability, atol=1e-6)
    # readable values of the explained rows, as given
    assert exp.display["workclass"].tolist() == [
        "missing" if pd.isna(v) else v for v in rows["workclass"]
    ]
    assert exp.display["age"].tolist() == [f"{v}" for v in rows["age"]]
    assert list(exp.importance().index[:1])[0] in kept


def test_gradient_shap_for_the_mlp_explains_each_rows_predicted_class():
    result = fitted("iris_mlp")
    assert result.predictor.kind == "torch"
    exp = explain(result, method="shap", **{**FAST, "rows": 12, "gradient_samples": 200})
    x_valid = result.holdout[0][:12]  # the first held-out rows
    assert exp.algorithm.startswith("GradientExplainer") and "background rows" in exp.algorithm
    assert exp.values.shape == (12, 4)
    output = result.predictor.output(x_valid)
    predicted = [result.classes_[i] for i in output.argmax(axis=1)]
    assert exp.output == predicted
    # expected gradients add up to the output approximately (sampling)
    gap = exp.base_values + exp.values.sum(axis=1) - output.max(axis=1)
    assert np.abs(gap).mean() < 0.08


def test_regression_shap_and_lime_explain_the_value():
    result = fitted("diabetes")
    assert result.problem_type == "regression"
    for method in ("shap", "lime"):
        exp = explain(result, method=method, **FAST)
        assert exp.output_space == "value" and exp.values.shape[1] == 10
        assert np.isfinite(exp.values).all()
    lime = explain(result, method="lime", seconds=math.inf, rows=3, lime_samples=300)
    truth = result.predictor.output(result.holdout[0][:3])
    np.testing.assert_allclose(lime.predictions, truth, rtol=1e-6)


def test_kernel_fallback_is_bounded_and_says_why():
    result = fitted("faults")
    assert result.model_name == "no_proba" and not result.predictor.has_proba
    exp = explain(result, method="shap", **FAST)
    assert exp.algorithm.startswith("KernelExplainer")
    assert len(exp.rows) == FAST["kernel_rows"]
    assert exp.output_space == "predicted-class indicator"
    assert any("fallback" in note for note in exp.notes)
    with pytest.raises(ExplainError, match="LIME needs class probabilities"):
        explain(result, method="lime", **FAST)


def test_time_budget_leaves_rows_out_with_a_warning():
    result = fitted("faults")
    with pytest.warns(UserWarning, match=r"explained 1 of 30 rows within its bounds"):
        exp = explain(result, method="shap", **{**FAST, "seconds": 1e-3})
    assert len(exp.rows) == 1 and any("time budget spent" in n for n in exp.notes)


def test_a_forest_too_slow_for_exact_tree_shap_is_explained_by_permutation_shap(adult_frame):
    """A forest whose exact tree SHAP, timed on a few of its trees, would not reach the minimum
    rows before the deadline (here: a deadline already spent) is explained by permutation SHAP
    on its probabilities, and the note says why; without a clock it stays exact."""
    result = fitted("adult_forest")
    assert len(result.predictor.estimator.estimators_) > 8  # more trees than the probe's
    rows = adult_frame.drop(columns="class").head(5)
    with pytest.warns(UserWarning, match="within its bounds"):
        slow = explain(result, rows, method="shap", **{**FAST, "seconds": 1e-3})
    assert slow.algorithm.startswith("permutation SHAP")
    assert any("exact tree SHAP would take" in note for note in slow.notes)
    assert len(slow.rows) >= 1
    exact = explain(result, rows, method="shap", **FAST)
    assert exact.algorithm.startswith("TreeExplainer")
    assert not any("exact tree SHAP would take" in note for note in exact.notes)


def test_ensemble_attributions_are_the_weighted_members():
    """Members explained in probability space and averaged: the ensemble's own SHAP values."""
    from automl_tabular.families import LinearFamily
    from sklearn.linear_model import LogisticRegression

    from automl.predictors import SklearnPredictor

    forest = fitted("adult_forest")
    x, y = forest.holdout
    linear = SklearnPredictor(LogisticRegression(max_iter=500).fit(x, y), "binary", 2)

    class Blend:
        kind, has_proba, problem_type, n_outputs = "ensemble", True, "binary", 2

        def output(self, z):
            return 0.75 * forest.predictor.output(z) + 0.25 * linear.output(z)

    members = [
        SimpleNamespace(predictor=forest.predictor, weight=3.0, family=forest.family),
        SimpleNamespace(predictor=linear, weight=1.0, family=LinearFamily()),
    ]
    blend = SimpleNamespace(
        **{
            k: getattr(forest, k)
            for k in (
                "task",
                "task_plugin",
                "holdout_raw",
                "problem_type",
                "features",
                "classes_",
                "holdout",
                "timings",
                "positive",
            )
        },
        predictor=Blend(),
        members=members,
        model_name="ensemble",
    )
    exp = explain(blend, method="shap", **{**FAST, "rows": 6, "kernel_samples": 400})
    assert any("ensemble" in n for n in exp.notes)
    assert exp.output_space == "probability" and len(exp.rows) == 6
    gap = exp.base_values + exp.values.sum(axis=1) - Blend().output(x[:6])[:, 1]
    assert np.abs(gap).max() < 0.05


# -- LIME ----------------------------------------------------------------------------------------
def test_lime_on_three_rows(adult_frame):
    result = fitted("adult_forest")
    rows = adult_frame.drop(columns="class").iloc[10:13]
    exp = explain(result, rows, method="lime", seconds=math.inf, lime_samples=300)
    assert exp.algorithm == "LimeTabularExplainer" and exp.values.shape[0] == 3
    assert exp.feature_names == list(exp.to_frame().columns) and "occupation" in exp.feature_names
    np.testing.assert_allclose(exp.predictions, result.predict_proba(rows)[:, 1], atol=1e-9)
    assert exp.local_fit is not None and np.isfinite(exp.local_fit).all()
    assert np.abs(exp.values).sum(axis=1).min() > 0


# -- the helpers ---------------------------------------------------------------------------------
def test_readable_rows_read_model_ready_columns_back(adult_frame):
    from automl_tabular.preprocessing import TabularPreprocessor, readable_rows, source_columns

    features = adult_frame.drop(columns="class")
    pre = TabularPreprocessor().fit(features.iloc[:400])
    rows = features.iloc[400:440]
    shown, colour = readable_rows(pre, pre.transform(rows))
    assert list(shown.columns) == [c.name for c in pre.columns]
    for column in ("workclass", "occupation", "sex"):
        expected = rows[column].fillna("missing").tolist()
        seen = set(features[column].iloc[:400].fillna("missing"))
        assert shown[column].tolist() == [v if v in seen else "unseen level" for v in expected]
    for column in ("age", "fnlwgt", "capital-gain", "hours-per-week"):  # whole numbers back
        read = shown[column].str.replace(",", "").astype(float)
        assert (read.to_numpy() == rows[column].to_numpy()).all(), column
    assert np.isnan(colour[:, shown.columns.get_loc("sex")]).all()
    assert len(source_columns(pre)) == len(pre.feature_names)
    assert "a level of its own" in pre.describe_missing()["workclass"]
