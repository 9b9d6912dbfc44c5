"""The several-workers recipe that README.md and the scaling guide show runs as written (on
the test machine's PostgreSQL), and the model it saves was chosen over every worker's trials."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

import automl
from tests import DATA, ROOT
from tests.postgres import POSTGRES, postgres_or_skip

MARK = "# several workers on one study (tested recipe)"


def _recipe(page: str) -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if b.startswith(MARK)]
    assert len(blocks) == 1, f"{page} shows the recipe once"
    return blocks[0]


def _drop(name: str) -> None:
    with contextlib.suppress(KeyError):  # not there
        optuna.delete_study(study_name=name, storage=POSTGRES)


@pytest.mark.slow  # processes
def test_the_workers_recipe_runs_as_the_pages_show_it(tmp_path):
    postgres_or_skip()
    recipe = _recipe("README.md")
    assert _recipe("docs/guide/scaling-and-resuming.md") == recipe
    assert f"STORAGE={POSTGRES} " in recipe  # the test machine's server, as the page names it
    (tmp_path / "tests" / "data").mkdir(parents=True)
    shutil.copy(DATA / "adult_sample.csv", tmp_path / "tests" / "data")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    _drop("adult-workers")
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", recipe],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        said = done.stdout + done.stderr
        assert said.count("worker finished 3 trial(s)") == 2, said[-3000:]
        assert "resuming study 'adult-workers': 7 finished trials" in said
        trials = optuna.load_study(study_name="adult-workers", storage=POSTGRES).trials
        assert len(trials) == 7
        model = automl.load(str(tmp_path / "studies" / "adult-workers" / "model"))
        best = max(t.value for t in trials if t.value is not None)
        assert trials[model.best_trial].value == best  # over all workers' trials
    finally:
        _drop("adult-workers")
