"""The checks the suite runs on the code itself: the import layers (lint-imports, contracts in
pyproject.toml), ruff's rules with their baseline of ``# noqa`` marks, and mypy on the modules
that pass it. Each runs the tool as CI would, on this checkout (PYTHONPATH puts it first)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT

BIN = Path(sys.executable).parent  # the venv's console scripts: lint-imports, ruff, mypy


def run_tool(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run one of the venv's tools in ``cwd`` with that folder's packages first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(cwd / "plugins")])}
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # a subprocess
def test_the_import_contracts_hold():
    out = run_tool(["lint-imports", "--no-cache", "--no-logo"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" in out.stdout and "0 broken" in out.stdout, out.stdout


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize(
    ("added", "contract"),
    [
        ("import automl_tabular\n", "the core never imports a plugin BROKEN"),
        # an import inside a function counts as much as one at the top
        ("def _late():\n    from automl import api\n", "core layers BROKEN"),
    ],
    ids=["plugin-import", "lazy-upward-import"],
)
def test_lint_imports_fails_on_an_import_that_breaks_a_contract(tmp_path, added, contract):
    """A copy of the checkout whose metrics module (bottom layer) gains one wrong import."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "automl", tmp_path / "automl", ignore=skip)
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    metrics = tmp_path / "automl" / "metrics.py"
    metrics.write_text(metrics.read_text() + "\n\n" + added)
    out = run_tool(["lint-imports", "--no-cache", "--no-logo"], cwd=tmp_path)
    assert out.returncode != 0, out.stdout
    assert contract in out.stdout, out.stdout
    assert "automl.metrics" in out.stdout, out.stdout


@pytest.mark.slow  # a subprocess
def test_ruff_passes_with_the_complexity_baseline():
    """ruff's rules, complexity and argument counts included (pyproject.toml [tool.ruff.lint]):
    a function past the limits fails unless it is one of the baseline's ``# noqa`` marks."""
    out = run_tool(["ruff", "check", "--no-cache", "."])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow  # a subprocess
def test_ruff_fails_on_a_new_function_past_the_limits(tmp_path):
    """New code cannot add to the baseline: nine arguments, eleven branches, 51 statements."""
    branches = "".join(f"    if a == {i}:\n        return {i}\n" for i in range(10))
    statements = "".join(f"    x{i} = {i}\n" for i in range(51))
    (tmp_path / "new.py").write_text(
        "def wide(a, b, c, d, e, f, g, h, i):\n    return a\n\n\n"
        f"def branchy(a):\n{branches}    return -1\n\n\n"
        f"def long():\n{statements}    return x0\n"
    )
    config = ROOT / "pyproject.toml"
    out = run_tool(["ruff", "check", "--no-cache", "--config", str(config), "new.py"], tmp_path)
    assert out.returncode != 0, out.stdout
    for code in ("PLR0913", "C901", "PLR0915"):
        assert code in out.stdout, out.stdout


@pytest.mark.slow  # a subprocess
def test_mypy_passes_on_the_modules_listed():
    """mypy on [tool.mypy] files in pyproject.toml: the modules that pass, a list that only
    grows. Its cache (.mypy_cache) makes a second run a few seconds."""
    out = run_tool(["mypy"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success" in out.stdout, out.stdout


MAX_LINES = 500  # the house rule: modules small, named for what they do


def test_no_module_is_over_the_line_limit():
    """Every module of the core and the built-in plugins stays within MAX_LINES lines."""
    over = {}
    for folder in (ROOT / "automl", ROOT / "plugins"):
        for path in folder.rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                over[str(path.relative_to(ROOT))] = lines
    assert over == {}, f"modules over {MAX_LINES} lines: {over}; split them by what they do"
