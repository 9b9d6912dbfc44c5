"""Long searches survive: many workers on PostgreSQL and on a journal file, and determinism
(kill -9 and resume: tests/core/test_resume_safety.py; crafted model folders:
tests/core/test_modelfolder.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
from sklearn.datasets import load_iris

import automl
from automl.cli import build_parser
from tests.postgres import POSTGRES, postgres_or_skip


def _study(name: str, storage: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def _worker_study(storage: str, name: str, data: Path) -> None:
    from automl.cli import main

    assert (
        main(
            [
                "fit",
                str(data),
                "--target",
                "target",
                "--study",
                name,
                "--storage",
                storage,
                "--n-trials",
                "1",
                # cheap trials: the storage is under test, not the models (CatBoost's trials
                # and 5-fold cross-validation took most of these tests' time)
                "--models",
                "linear,hist_gb,mlp",
                "--cv-folds",
                "0",
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )


def _run_workers(storage: str, name: str, n_workers: int = 4, n_trials: int = 5) -> None:
    script = Path(sys.executable).with_name("automl")
    # one thread each: four workers share the machine's cores (more only thrash)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [
                str(script),
                "worker",
                "--storage",
                storage,
                "--study",
                name,
                "--n-trials",
                str(n_trials),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n_workers)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        assert f"worker finished {n_trials} trial(s)" in out


@pytest.fixture()
def iris_csv(tmp_path) -> Path:
    frame = load_iris(as_frame=True).frame
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path


def _check_twenty_more(study: optuna.Study) -> None:
    trials = study.trials
    assert len(trials) == 1 + 4 * 5
    assert [t.number for t in trials] == list(range(21))
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert all(0.0 <= t.value <= 1.0 for t in complete)
    assert study.best_value == max(t.value for t in complete)


@pytest.mark.slow  # a subprocess, a browser or a server
@pytest.mark.xdist_group("postgresql")  # one at a time: a fresh database creates its tables once
def test_four_workers_on_postgresql(iris_csv):
    """4 worker processes x 5 trials against the real PostgreSQL server (database `test`)."""
    postgres_or_skip()
    name = f"workers-{uuid.uuid4().hex[:8]}"
    try:
        _worker_study(POSTGRES, name, iris_csv)
        _run_workers(POSTGRES, name)
        _check_twenty_more(_study(name, POSTGRES))
    finally:
        optuna.delete_study(study_name=name, storage=POSTGRES)


@pytest.mark.slow  # a subprocess, a browser or a server
def test_four_workers_on_a_journal_file(iris_csv, tmp_path):
    journal = str(tmp_path / "shared.log")
    _worker_study(journal, "journal", iris_csv)
    _run_workers(journal, "journal")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    _check_twenty_more(optuna.load_study(study_name="journal", storage=storage))


def test_same_seed_same_result_on_cpu(iris_frame):
    runs = [
        automl.fit(
            iris_frame,
            target="target",
            n_trials=7,
            seed=3,
            storage=":memory:",
            verbose=False,
            max_epochs=6,
            device="cpu",
            refit=False,  # the search and the ensemble's choice are what must repeat
            cv_folds=2,  # folds still seeded and under test; "auto" (5 here) fit 2.5x the models
        )
        for _ in range(2)
    ]
    assert runs[0].best_params == runs[1].best_params
    assert runs[0].valid_score == runs[1].valid_score
    assert [t.value for t in runs[0].study.trials] == [t.value for t in runs[1].study.trials]


def test_dashboard_binds_to_localhost_by_default():
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1" and args.path == "studies"


def test_the_pruners_brackets_follow_the_seed_not_the_study_name():
    from types import SimpleNamespace

    from automl.search import SeededHyperband

    def brackets(name: str, seed: int) -> list[int]:
        pruner = SeededHyperband(seed, min_resource=1, max_resource=27, reduction_factor=3)
        study = optuna.create_study(study_name=name, pruner=pruner)
        pruner._try_initialization(study)
        return [pruner._get_bracket_id(study, SimpleNamespace(number=n)) for n in range(40)]

    # fit's default study names carry the time; the brackets must not
    assert brackets("tabular-20261201-144146-7580", 3) == brackets("tabular-other-1", 3)
    assert len(set(brackets("a", 3))) > 1  # trials are spread over the brackets
    assert brackets("a", 3) != brackets("a", 4)
