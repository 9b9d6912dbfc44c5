"""Resuming is honest: a stored study refuses settings it cannot take (naming the setting),
studies automl did not make are refused, a killed trial is failed and retried once at once on
resume (SQLite and journal file, default grace period), and a second process cannot fit the
same SQLite study at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import automl
from automl.orphans import RETRY_OF
from tests import DATA

QUICK = {"n_trials": 1, "verbose": False, "report": False}
DEFAULT_DB = "sqlite:///studies/studies.db"


@pytest.fixture()
def stored(iris_frame):
    automl.fit(iris_frame, target="target", study_name="kept", models=["linear"], **QUICK)
    return "kept"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"models": ["linear", "mlp"]}, "models="),
        ({"seed": 1}, "seed=1"),
        ({"valid_fraction": 0.3}, "valid_fraction=0.3"),
        ({"cv_folds": 3}, "cv_folds=3"),
        ({"max_epochs": 7}, "max_epochs=7"),
        ({"metric": "balanced_accuracy"}, "metric='balanced_accuracy'"),
    ],
)
def test_a_setting_the_stored_study_cannot_take_is_refused_by_name(
    stored, iris_frame, change, named
):
    before = [
        (t.number, t.state.name)
        for t in optuna.load_study(study_name=stored, storage=DEFAULT_DB).trials
    ]
    options = {"models": ["linear"], **change}
    with pytest.raises(automl.DataError, match=named) as refused:
        automl.fit(iris_frame, target="target", study_name=stored, **{**QUICK, **options})
    assert "new study_name" in str(refused.value)
    assert "data_fingerprint" not in str(refused.value)
    after = [
        (t.number, t.state.name)
        for t in optuna.load_study(study_name=stored, storage=DEFAULT_DB).trials
    ]
    assert after == before


def test_other_data_is_refused_as_other_data(stored, iris_frame):
    with pytest.raises(automl.DataError, match="started on other data"):
        automl.fit(
            iris_frame.iloc[:120], target="target", study_name=stored, models=["linear"], **QUICK
        )


def test_the_same_settings_resume(stored, iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        study_name=stored,
        models=["linear"],
        n_trials=2,
        verbose=False,
        report=False,
    )
    assert result.summary["resumed"] and len(result.study.trials) == 2


def test_a_study_automl_did_not_create_is_refused(iris_frame):
    Path("studies").mkdir()
    foreign = optuna.create_study(study_name="foreign", storage=DEFAULT_DB)
    foreign.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(automl.DataError, match="not created by automl"):
        automl.fit(iris_frame, target="target", study_name="foreign", **QUICK)
    assert len(optuna.load_study(study_name="foreign", storage=DEFAULT_DB).trials) == 2


CRASHING_RUN = """
import sys
import automl
import pandas as pd
# twice the sample: a trial seen running (after its first epoch) is still running when the kill
# arrives, not finished in between (which left no trial to kill)
frame = pd.concat([pd.read_csv(sys.argv[1])] * 2, ignore_index=True)
automl.fit(frame, target="class", models=["mlp"], n_trials=3, max_epochs=40,
           study_name="crash", storage=sys.argv[2] if len(sys.argv) > 2 else None,
           verbose=False, report=False)
"""


def _wait_for_study(name: str) -> None:
    """Raise until the run under test has created its storage and its study: a poll that
    opens the database first would create Optuna's tables beside the run and race it (``table
    study_directions already exists`` in the run)."""
    import sqlite3

    db = Path("studies/studies.db")
    if not db.exists():
        raise FileNotFoundError(db)
    con = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
    try:
        if not con.execute("SELECT 1 FROM studies WHERE study_name = ?", (name,)).fetchone():
            raise LookupError(name)
    finally:
        con.close()


def _running_after_one_finished(study_of) -> bool:
    try:
        trials = study_of().trials
    except Exception:  # noqa: BLE001 - the storage is still being created by the run
        return False
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    running = [t for t in trials if t.state.name == "RUNNING"]
    return bool(finished) and bool(running) and bool(running[-1].intermediate_values)


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_a_killed_trial_is_failed_and_retried_when_the_rerun_starts_at_once(tmp_path, storage):  # noqa: C901
    """Default heartbeat and grace period, rerun immediately after kill -9."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_")}
    script = tmp_path / "run.py"
    script.write_text(CRASHING_RUN)
    argv = [sys.executable, str(script), str(DATA / "adult_sample.csv")]
    if storage == "journal":
        argv.append(str(tmp_path / "crash.log"))
        backend = optuna.storages.journal.JournalFileBackend

        def study_of():
            store = optuna.storages.JournalStorage(backend(str(tmp_path / "crash.log")))
            return optuna.load_study(study_name="crash", storage=store)
    else:

        def study_of():
            _wait_for_study("crash")
            return optuna.load_study(study_name="crash", storage=DEFAULT_DB)

    for _attempt in range(3):  # a kill that lands between two trials kills none: run again
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env)
        deadline = time.monotonic() + 240
        try:
            while not _running_after_one_finished(study_of):
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the run never reached a running trial after a finished one")
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = {t.number: (t.state.name, t.value) for t in study_of().trials}
        running = [n for n, (state, _) in before.items() if state == "RUNNING"]
        if running:
            break
    else:
        pytest.fail("three kills in a row landed between trials")
    killed = max(running)
    out = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    after = study_of().trials
    for number, (state, value) in before.items():
        if number != killed and state != "WAITING":
            assert (after[number].state.name, after[number].value) == (state, value)
    assert after[killed].state.name == "FAIL"
    retried = [t for t in after if t.user_attrs.get(RETRY_OF) == killed]
    assert len(retried) == 1 and retried[0].params == after[killed].params
    assert retried[0].state.name in ("COMPLETE", "PRUNED")
    assert not [t for t in after if t.state.name == "RUNNING"]


SLOW_FIT = """
import sys
import automl
import pandas as pd
frame = pd.read_csv(sys.argv[1])
automl.fit(frame, target="class", models=["mlp"], n_trials=50, max_epochs=60,
           study_name="busy", verbose=False, report=False)
"""


@pytest.mark.slow
def test_a_second_process_cannot_fit_the_same_sqlite_study(tmp_path, adult):
    script = tmp_path / "run.py"
    script.write_text(SLOW_FIT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(DATA / "adult_sample.csv")], cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                _wait_for_study("busy")
                trials = optuna.load_study(study_name="busy", storage=DEFAULT_DB).trials
            except Exception:  # noqa: BLE001 - not created yet
                trials = []
            if any(t.state.name == "RUNNING" for t in trials):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the first fit never started a trial")
            time.sleep(0.3)
        with pytest.raises(automl.DataError, match="being fitted by another process"):
            automl.fit(adult, target="class", study_name="busy", models=["mlp"], **QUICK)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # once the first process is gone, the study resumes (its dead trial reclaimed)
    result = automl.fit(
        adult,
        target="class",
        study_name="busy",
        models=["mlp"],
        n_trials=1,
        max_epochs=60,
        verbose=False,
        report=False,
    )
    assert result.summary["resumed"]
