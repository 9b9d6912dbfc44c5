"""The plugin API (automl.plugin): what it names exists, it imports light, and the built-in
plugins use the core through it alone (also an import-linter contract, tried on a broken copy)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

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
