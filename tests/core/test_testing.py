"""The conformance kit (automl.testing) on the built-in plugins and on the README's new task."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from automl.plugins import load_registry
from automl.testing import check_family, check_task
from tests import DATA, ROOT

README = ROOT / "docs" / "plugins.md"  # the plugin author's guide (moved from the README)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def samples():
    iris = load_iris(as_frame=True).frame
    images = np.load(DATA / "mnist_sample.npz")
    x, y = images["x_train"][:300], images["y_train"][:300]
    texts = pd.read_csv(DATA / "sms_spam_sample.csv").iloc[:300]
    diabetes = load_diabetes(as_frame=True).frame.iloc[:200]
    return {
        "tabular": (iris, "target", iris.drop(columns="target").head(4)),
        "regression": (diabetes, "target", diabetes.drop(columns="target").head(4)),
        "vision": ((x, y), None, x[:4]),
        "text": (texts, "label", texts["text"].head(4).tolist()),
    }


@pytest.mark.parametrize("name", ["tabular", "regression", "vision", "text"])
def test_builtin_families_pass_check_family(registry, samples, name):
    dataset, target, _ = samples[name]
    task = registry.tasks["tabular" if name == "regression" else name]
    data = task.adapt(dataset, target, valid_fraction=0.25, seed=0)
    assert (data.problem_type == "regression") == (name == "regression")
    families = [f for f in registry.families(task.name) if f.supports(data)]
    names = {f.name for f in families}
    assert names and (name != "regression" or {"linear", "mlp", "catboost"} <= names)
    for family in families:
        done = check_family(family, data)
        assert done[:3] == ["suggest", "build", "train"], family.name
        assert ("deadline" in done) == (family.kind == "torch")


@pytest.mark.parametrize("name", ["tabular", "regression", "vision", "text"])
def test_builtin_tasks_pass_check_task(registry, samples, name):
    dataset, target, rows = samples[name]
    task = registry.tasks["tabular" if name == "regression" else name]
    bad = {
        "tabular": [(pd.DataFrame({"a": [], "target": []}), "target")],
        "regression": [(pd.DataFrame({"a": [1.0, 2.0], "target": [np.nan, np.nan]}), "target")],
        "vision": [((np.zeros((0, 28, 28)), np.zeros(0)), None)],
        "text": [(pd.DataFrame({"text": ["a", "b"], "label": [1, 1]}), "label")],
    }[name]
    done = check_task(task, dataset, target, rows=rows, bad_inputs=bad, n_trials=1)
    assert done[:3] == ["accepts", "adapt", "bad inputs refused"]
    assert "save and load" in done and ("explain" in done) == (task.explainer() is not None)


def _readme_task(folder, monkeypatch):
    """The README's task example, as written, imported as the module of a plugin would be."""
    import importlib

    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    [block] = [b for b in blocks if "class RecordsTask(automl.Task)" in b]
    (folder / "readme_records.py").write_text(block, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return vars(importlib.import_module("readme_records"))


def test_the_readme_task_is_searched_and_passes_the_kit(tmp_path, monkeypatch):
    import automl

    ns = _readme_task(tmp_path, monkeypatch)
    x, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    dataset = {"x": x, "y": labels}
    done = check_task(
        ns["RecordsTask"](),
        dataset,
        rows={"x": x[:5]},
        families=[ns["RecordsForest"]()],
        bad_inputs=[({"x": x[:3], "y": labels}, None)],
    )
    assert done == [
        "accepts",
        "adapt",
        "bad inputs refused",
        "families",
        "fit and predict",
        "save and load",
    ]
    plugin = ns["RecordsPlugin"]()
    result = automl.fit(dataset, plugins=[plugin], n_trials=3, storage=":memory:", verbose=False)
    assert result.task == "records" and (result.predict({"x": x}) == labels).mean() > 0.9


def test_the_kit_fails_a_family_that_breaks_the_contract(registry, samples):
    dataset, target, _ = samples["tabular"]
    data = registry.tasks["tabular"].adapt(dataset, target, valid_fraction=0.25, seed=0)
    linear = type(registry.models["linear"])

    class Unprefixed(linear):
        name = "unprefixed"

        def suggest(self, trial, data):
            trial.suggest_float("C", 0.1, 1.0)

    with pytest.raises(AssertionError, match="not prefixed"):
        check_family(Unprefixed(), data)


class _Standardized(LinearRegression):
    """Fits the standardized target and never maps its predictions back."""

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, (y - y.mean()) / y.std(), sample_weight)


class _Column(LinearRegression):
    def predict(self, X):
        return super().predict(X)[:, None]


class _Reversed(LinearRegression):
    def predict(self, X):
        return super().predict(X)[::-1]


@pytest.mark.parametrize(
    ("estimator", "error"),
    [
        (_Column(), r"regression output shape \(50, 1\), expected \(50,\)"),
        (_Standardized(), "outside the targets' range"),
        (DummyRegressor(), "outputs are constant"),
        (_Reversed(), "correlate -?0.0"),
    ],
    ids=["column", "unscaled", "constant", "rows out of order"],
)
def test_the_kit_fails_a_regression_family_that_breaks_the_contract(
    registry, samples, estimator, error
):
    dataset, target, _ = samples["regression"]
    data = registry.tasks["tabular"].adapt(dataset, target, valid_fraction=0.25, seed=0)
    linear = type(registry.models["linear"])

    class Broken(linear):  # named "linear" still: its parameters keep their prefix
        def build(self, params, spec):
            return estimator

    with pytest.raises(AssertionError, match=error):
        check_family(Broken(), data)
