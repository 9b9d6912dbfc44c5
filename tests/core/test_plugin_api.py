"""The plugin API (automl.plugin): what it names exists, it imports light, and the built-in
plugins use the core through it alone (also an import-linter contract, tried on a broken copy)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests import ROOT
from tests.core.test_code_checks import run_tool

PLUGINS = ROOT / "plugins"


def test_every_name_in_all_exists_once():
    import automl.plugin as api

    assert len(set(api.__all__)) == len(api.__all__)
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert not missing, missing
    assert set(api.__all__) <= set(dir(api))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        api.nothing_here  # noqa: B018


@pytest.mark.slow  # a subprocess: a fresh interpreter's modules
def test_importing_the_plugin_api_loads_nothing_heavy():
    code = (
        "import sys, automl.plugin; "
        "heavy = [m for m in ('torch', 'shap', 'lime', 'onnx', 'onnxruntime', 'matplotlib', "
        "'sklearn') if m in sys.modules]; print(heavy); assert not heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _core_imports(path) -> set[str]:
    """The core modules a plugin file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n for n in names if n == "automl" or n.startswith("automl.")}
    return found


def test_the_built_in_plugins_import_only_the_plugin_api():
    files = sorted(PLUGINS.glob("automl_*/**/*.py"))
    assert len(files) > 20
    wrong = {str(f.relative_to(PLUGINS)): _core_imports(f) - {"automl.plugin"} for f in files}
    assert not {f: m for f, m in wrong.items() if m}


@pytest.mark.slow  # a subprocess
def test_lint_imports_fails_when_a_plugin_reaches_past_the_api(tmp_path):
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "automl", tmp_path / "automl", ignore=skip)
    shutil.copytree(PLUGINS, tmp_path / "plugins", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    task = tmp_path / "plugins" / "automl_text" / "groups.py"
    task.write_text(task.read_text() + "\n\ndef _late():\n    from automl.task import Task\n")
    out = run_tool(["lint-imports", "--no-cache", "--no-logo"], cwd=tmp_path)
    assert out.returncode != 0, out.stdout
    assert "the plugins use the core through automl.plugin only BROKEN" in out.stdout, out.stdout
    assert "automl_text.groups -> automl.task" in out.stdout, out.stdout


def test_check_task_options_names_the_unknown_option_and_what_the_task_takes():
    from automl.plugin import ParameterError, check_task_options

    known = {"text_column": None, "empty_texts": ("warn", "error")}
    check_task_options("text", {"text_column": "body", "empty_texts": "error"}, known)
    with pytest.raises(ParameterError, match=r"takes no option\(s\) \['colour'\]; it takes "):
        check_task_options("text", {"colour": 1}, known)
    with pytest.raises(TypeError, match="it takes no options"):  # a TypeError, as Python's own
        check_task_options("tabular", {"colour": 1}, {})
    with pytest.raises(ValueError, match=r"empty_texts must be one of \('warn', 'error'\)"):
        check_task_options("text", {"empty_texts": "skip"}, known)


def _lime_setup():
    from lime.lime_tabular import LimeTabularExplainer
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    explainer = LimeTabularExplainer(x, mode="classification", random_state=0)

    def explain_row(i: int):
        from automl.plugin import lime_row

        exp = explainer.explain_instance(
            x[i], model.predict_proba, labels=(0,), num_features=4, num_samples=50
        )
        return lime_row(exp, 0, 4)

    return x, explain_row


def test_lime_rows_gives_a_dense_weight_row_per_explained_row():
    import time

    from automl.plugin import lime_rows

    x, explain_row = _lime_setup()
    notes: list[str] = []
    rows = lime_rows(explain_row, 3, time.monotonic() + 3600, notes)
    assert len(rows) == 3 and not notes
    for row in rows:
        assert row.weights.shape == (4,) and np.count_nonzero(row.weights) == 4
        assert dict(row.explanation.local_exp[0]) == dict(enumerate(row.weights))
        assert np.isfinite(row.intercept) and np.isfinite(row.score)


def test_lime_rows_stops_at_the_deadline_and_says_so():
    from automl.plugin import lime_rows

    x, explain_row = _lime_setup()
    notes: list[str] = []
    rows = lime_rows(explain_row, 5, 0.0, notes)  # a deadline long past: the first row only
    assert len(rows) == 1
    assert notes == ["LIME: time budget spent after 1 of 5 rows; the rest left out"]


@pytest.mark.parametrize(
    ("module", "task", "takes"),
    [
        ("automl_tabular.task", "TabularTask", "it takes row_rungs_from="),
        ("automl_text.task", "TextTask", "it takes text_column=, empty_texts=, group_texts="),
        ("automl_vision.task", "VisionTask", "it takes image_size=, bad_images="),
    ],
)
def test_each_built_in_task_checks_its_options_with_the_shared_check(module, task, takes):
    import importlib

    from automl.plugin import ParameterError

    adapt = getattr(importlib.import_module(module), task)().adapt
    with pytest.raises(ParameterError, match=rf"takes no option\(s\) \['colour'\]; {takes}"):
        adapt([[1.0], [2.0]], [0, 1], colour="red")


def test_a_bad_option_value_is_named_with_the_values_it_takes():
    from automl_text.task import TextTask
    from automl_vision.task import VisionTask

    from automl.plugin import ParameterError

    with pytest.raises(ParameterError, match=r"empty_texts must be one of \('warn', 'error'\)"):
        TextTask().adapt(["a", "b"], [0, 1], empty_texts="skip")
    with pytest.raises(ParameterError, match="bad_images must be one of"):
        VisionTask().adapt([[1.0], [2.0]], [0, 1], bad_images="ignore")


@pytest.mark.parametrize(
    ("module", "task", "x", "y"),
    [
        ("automl_tabular.task", "TabularTask", "X", "y"),
        ("automl_text.task", "TextTask", "texts", "labels"),
        ("automl_vision.task", "VisionTask", "images", "labels"),
    ],
)
def test_each_built_in_task_checks_a_pair_with_the_shared_helper(module, task, x, y):
    """``unpack_pair``: a tuple of three items, or a pair with ``target=`` beside it, is refused
    in the same words by every built-in task."""
    import importlib

    from automl.plugin import DataError

    adapt = getattr(importlib.import_module(module), task)().adapt
    items = np.zeros((8, 2, 2)), np.arange(8) % 2
    with pytest.raises(DataError, match=rf"pass \({x}, {y}\): a pair; got a tuple of 3 items"):
        adapt((*items, items[1]), None)
    with pytest.raises(DataError, match=rf"pass either an \({x}, {y}\) pair or target=, not both"):
        adapt(items, "label")


def test_lime_rows_times_a_small_first_row_and_explains_it_again_when_time_is_left():
    """The timed first row gets half the samples over the minimum's rows (a quarter took 0.6 s
    of LIME's 1.2 s on an image beside six busy processes and left the third image out); when
    every row is done and time is left, the first row is explained again with more."""
    import time

    from automl.plugin import LimeRow, lime_rows

    asked: list[tuple[int, int]] = []

    def explain_row(i: int, samples: int) -> LimeRow:
        asked.append((i, samples))
        return LimeRow(np.zeros(2), 0.0, 1.0)

    notes: list[str] = []
    rows = lime_rows(explain_row, 3, time.monotonic() + 3600, notes, samples=1000, minimum=3)
    assert len(rows) == 3 and not notes
    assert asked == [(0, 166), (1, 1000), (2, 1000), (0, 1000)]
    # a deadline long past: the first row only, with its share, and the note says so
    asked.clear()
    rows = lime_rows(explain_row, 3, 0.0, notes, samples=1000, minimum=3)
    assert asked == [(0, 166)] and len(rows) == 1
    assert notes[0] == "LIME: time budget spent after 1 of 3 rows; the rest left out"
