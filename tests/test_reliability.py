"""Long searches survive: kill -9 and resume, many workers on PostgreSQL and on a journal file,
determinism, and model folders that refuse crafted pickles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import torch
from sklearn.datasets import load_iris

import automl
from automl.cli import build_parser

HERE = Path(__file__).parent
POSTGRES = os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

CRASHING_RUN = """
import sys
import automl
import pandas as pd
frame = pd.read_csv(sys.argv[1])
automl.fit(frame, target="class", models=["mlp"], n_trials=6, max_epochs=40,
           study_name="crash", verbose=False)
"""


def _study(name: str, storage: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def _mid_trial_after_two_finished(db: Path) -> bool:
    """Read the study's SQLite file read-only (never racing its creation by the run)."""
    import sqlite3

    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            rows = con.execute("SELECT trial_id, state FROM trials ORDER BY number").fetchall()
            if not rows or rows[-1][1] != "RUNNING":
                return False
            finished = sum(state in ("COMPLETE", "PRUNED") for _, state in rows)
            reported = con.execute(
                "SELECT COUNT(*) FROM trial_intermediate_values WHERE trial_id = ?",
                (rows[-1][0],),
            ).fetchone()[0]
    except sqlite3.Error:
        return False
    return finished >= 2 and reported > 0


def test_resume_after_kill_minus_9(tmp_path):
    """SIGKILL mid-trial, then the same call again: no complete trial lost or re-run, the
    killed trial ends failed and its configuration runs once more."""
    env = {**os.environ, "AUTOML_HEARTBEAT_INTERVAL": "1", "AUTOML_GRACE_PERIOD": "2"}
    script = tmp_path / "run.py"
    script.write_text(CRASHING_RUN)
    argv = [sys.executable, str(script), str(HERE / "data" / "adult_sample.csv")]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env)
    db = tmp_path / "studies" / "crash" / "study.db"
    url = f"sqlite:///{db}"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            time.sleep(0.3)
            if _mid_trial_after_two_finished(db):
                break
        else:
            pytest.fail("the search never reached a running trial after two finished ones")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = {t.number: (t.state.name, t.value) for t in _study("crash", url).trials}
    killed = max(before)
    assert before[killed][0] == "RUNNING"
    time.sleep(3)  # longer than the grace period: the dead trial's heartbeat is stale
    out = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    after = _study("crash", url).trials
    for number, (state, value) in before.items():
        if number != killed:
            assert (after[number].state.name, after[number].value) == (state, value)
    assert after[killed].state.name == "FAIL"
    retried = [t for t in after if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].params == after[killed].params
    assert retried[0].state.name in ("COMPLETE", "PRUNED")
    assert len([t for t in after if t.state.name != "WAITING"]) == 6


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
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )


def _run_workers(storage: str, name: str, n_workers: int = 4, n_trials: int = 5) -> None:
    script = Path(sys.executable).with_name("automl")
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


def test_four_workers_on_postgresql(iris_csv):
    """4 worker processes x 5 trials against the real PostgreSQL server (database `test`)."""
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        message = f"PostgreSQL at {POSTGRES} is not reachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"workers-{uuid.uuid4().hex[:8]}"
    try:
        _worker_study(POSTGRES, name, iris_csv)
        _run_workers(POSTGRES, name)
        _check_twenty_more(_study(name, POSTGRES))
    finally:
        optuna.delete_study(study_name=name, storage=POSTGRES)


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
        )
        for _ in range(2)
    ]
    assert runs[0].best_params == runs[1].best_params
    assert runs[0].valid_score == runs[1].valid_score
    assert [t.value for t in runs[0].study.trials] == [t.value for t in runs[1].study.trials]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_crafted_pickle_in_weights_is_refused(tmp_path, iris_frame):
    import hashlib
    import json

    result = automl.fit(
        iris_frame,
        target="target",
        models=["mlp"],
        n_trials=1,
        storage=":memory:",
        verbose=False,
        max_epochs=2,
    )
    folder = Path(result.save(str(tmp_path / "model")))
    weights = folder / "member_0" / "weights.pt"
    torch.save({"0.weight": _Evil()}, weights)
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["member_0/weights.pt"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))  # the checksum even matches
    with pytest.raises(automl.DataError, match="refusing to load"):
        automl.load(str(folder))
    assert not Path("pwned.txt").exists()


def test_dashboard_binds_to_localhost_by_default():
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1" and args.path == "studies"
