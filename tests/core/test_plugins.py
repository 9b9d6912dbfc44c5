"""The plugin seam: entry-point loading, blocking, selection, registration errors, and a real
third-party plugin package installed during the test."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest

import automl
from automl import hookspecs
from automl.plugins import load_registry
from tests import ROOT, TESTS

PLUGIN_PKG = TESTS / "plugin_pkg"


def test_builtins_load_through_the_entry_point_group():
    plugins = {p["name"]: p for p in automl.list_plugins()}
    assert {"tabular", "vision", "text"} <= set(plugins)
    tab = plugins["tabular"]
    assert tab["distribution"] == "automl-nn" and tab["module"] == "automl_tabular"
    assert tab["tasks"] == ["tabular"]
    assert {"mlp", "hist_gb", "random_forest", "extra_trees", "linear"} <= set(tab["models"])


def test_block_by_environment(monkeypatch):
    monkeypatch.setenv("AUTOML_BLOCK", "tabular, text")
    names = {p["name"] for p in automl.list_plugins()}
    assert "tabular" not in names and "text" not in names and "vision" in names


def test_blocked_task_is_reported_at_fit(monkeypatch, iris_frame):
    monkeypatch.setenv("AUTOML_BLOCK", "tabular")
    with pytest.raises(automl.DataError, match="no loaded plugin accepts input of type DataFrame"):
        automl.fit(iris_frame, target="target", n_trials=1)
    with pytest.raises(automl.PluginError, match="unknown task 'tabular'"):
        automl.fit(iris_frame, target="target", task="tabular", n_trials=1)


def test_select_plugins_by_name():
    registry = load_registry(plugins=["tabular"])
    assert set(registry.plugins) == {"tabular"}
    with pytest.raises(automl.PluginError, match=r"unknown plugin\(s\) \['nope'\]"):
        load_registry(plugins=["nope"])


def test_unknown_model_family_is_named(iris_frame):
    with pytest.raises(automl.PluginError, match=r"unknown model family \['xgb'\]"):
        automl.fit(iris_frame, target="target", models=["xgb"], n_trials=1)


class _NeedsAnExtra:
    """A family whose optional package is not installed (as CatBoost is without its extra)."""

    @automl.hookimpl
    def automl_register_models(self, register):
        from automl_tabular.families import LinearFamily

        class _Absent(LinearFamily):
            name = "absent"
            requires = ("automl_no_such_package", "absent")

        register(_Absent())


def test_a_family_without_its_extra_is_left_out_or_named(iris_frame):
    registry = load_registry(plugins=["tabular", _NeedsAnExtra()])
    with pytest.warns(UserWarning, match=r"pip install 'automl-nn\[absent\]'; searching without"):
        names = [f.name for f in registry.families("tabular")]
    assert "absent" not in names and "linear" in names
    with pytest.raises(automl.PluginError, match=r"needs the package 'automl_no_such_package'"):
        registry.families("tabular", ["linear", "absent"])


def test_the_version_has_one_source():
    from importlib import metadata

    assert metadata.version("automl-nn") == automl.__version__


class _Duplicate:
    @automl.hookimpl
    def automl_register_models(self, register):
        from automl_tabular.families import MLPFamily

        register(MLPFamily())


class _NotAFamily:
    @automl.hookimpl
    def automl_register_models(self, register):
        register(object())


class _Typo:
    @automl.hookimpl
    def automl_register_modles(self, register):
        pass


def test_registration_errors_name_the_plugin():
    with pytest.raises(automl.PluginError, match="'mlp' registered twice"):
        load_registry(plugins=["tabular", _Duplicate()])
    with pytest.raises(automl.PluginError, match="not a ModelFamily"):
        load_registry(plugins=[_NotAFamily()])
    with pytest.raises(Exception, match="automl_register_modles"):
        load_registry(plugins=[_Typo()])


def test_every_hook_is_documented_and_tested():
    """Each hookspec has a docstring and is exercised by name in this test suite."""
    sources = "\n".join(p.read_text() for p in TESTS.rglob("*.py"))
    specs = [
        n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("automl_")
    ]
    assert specs
    for name in specs:
        assert getattr(hookspecs, name).__doc__, name
        assert f"def {name}(" in sources.replace(f"def {name}(self, ", f"def {name}("), name
    guide = (ROOT / "docs" / "plugins.md").read_text()  # the plugin author's guide
    assert all(name in guide for name in specs)


@pytest.mark.slow  # a subprocess, a browser or a server
def test_third_party_plugin_installed_for_real(tmp_path):
    """pip-installs tests/plugin_pkg into a folder, then a fresh interpreter with that folder on
    its path finds the plugin through its entry point and a search can choose its family."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(PLUGIN_PKG),
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    assert list(target.glob("automl_knn_plugin-0.3.0.dist-info/entry_points.txt"))
    script = """
import json
import automl
from sklearn.datasets import load_iris
plugins = {p["name"]: p for p in automl.list_plugins()}
result = automl.fit(load_iris(), models=["knn"], n_trials=3, storage=":memory:", verbose=False)
saved = result.save("knn_model")
from automl.plugins import load_registry
from automl.testing import check_family
from automl_knn_plugin import KNNFamily
data = load_registry().tasks["tabular"].adapt(load_iris(as_frame=True).frame, "target")
print(json.dumps({"plugin": plugins["knn"], "model": result.model_name,
                  "score": result.valid_score,
                  "loaded": automl.load(saved).model_name,
                  "checks": check_family(KNNFamily(), data)}))
"""
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["plugin"]["distribution"] == "automl-knn-plugin"
    assert found["plugin"]["version"] == "0.3.0" and found["plugin"]["models"] == ["knn"]
    assert found["model"] == "knn" and found["loaded"] == "knn"
    assert found["score"] > 0.8
    assert found["checks"] == ["suggest", "build", "train"]  # the conformance kit passes
    # without the package on the path the family is unknown: it came from the install
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode != 0 and "unknown model family ['knn']" in out.stderr


class _IdentityFeatures(automl.FeatureEncoder):
    def transform(self, raw):
        import numpy as np

        return np.asarray(raw["x"] if isinstance(raw, dict) else raw, dtype=np.float32)


class _DictTask(automl.Task):
    """A toy task for {"x": 2-D array, "y": labels} input, registered by an in-process plugin."""

    name = "dict_rows"

    def accepts(self, dataset, target=None):
        return 1.0 if isinstance(dataset, dict) and {"x", "y"} <= set(dataset) else 0.0

    def adapt(
        self, dataset, target=None, *, problem_type=None, valid_fraction=0.2, seed=0, **options
    ):
        import numpy as np

        from automl.targets import prepare_target, split_indices

        x = np.asarray(dataset["x"], dtype=np.float32)
        y, encoder, ptype, reason = prepare_target(dataset["y"], problem_type)
        tr, va = split_indices(y, ptype, valid_fraction, seed)
        n_out = 1 if ptype == "regression" else len(encoder.classes)
        return automl.TaskData(
            problem_type=ptype,
            problem_type_reason=reason,
            x_train=x[tr],
            y_train=y[tr],
            x_valid=x[va],
            y_valid=y[va],
            spec=automl.DataSpec((x.shape[1],), n_out, ptype),
            features=_IdentityFeatures(),
            target=encoder,
        )


class _TreeFamily(automl.ModelFamily):
    name = "dict_tree"
    task = "dict_rows"
    kind = "sklearn"

    def suggest(self, trial, data):
        trial.suggest_int("dict_tree.max_depth", 1, 6)

    def build(self, params, spec):
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=params["dict_tree.max_depth"], random_state=0)


class _DictPlugin:
    @automl.hookimpl
    def automl_register_tasks(self, register):
        register(_DictTask())

    @automl.hookimpl
    def automl_register_models(self, register):
        register(_TreeFamily())


def test_a_plugin_task_is_chosen_for_the_input_it_accepts():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    result = automl.fit(
        {"x": x, "y": y},
        plugins=["tabular", _DictPlugin()],
        n_trials=3,
        storage=":memory:",
        verbose=False,
    )
    assert result.task == "dict_rows" and result.model_name == "dict_tree"
    assert (result.predict({"x": x}) == y).mean() > 0.9
