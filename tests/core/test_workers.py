"""A worker killed mid-trial on PostgreSQL does not leave its trial RUNNING for the rest of
the study: a surviving worker on the same host fails it and retries it at once (its owner's
process is known to be gone), and a worker of any host does after the heartbeat's grace period
(the owner is elsewhere). Both while the survivor is in its search, not only when a process
opens the study."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest

from automl.cli import main
from automl.orphans import RETRY_OF, WORKER
from tests import DATA
from tests.postgres import POSTGRES, postgres_or_skip

AUTOML = str(Path(sys.executable).with_name("automl"))
WAIT = 240  # seconds: generous bounds for a loaded machine, never a measure of speed


def _env(grace: int) -> dict[str, str]:
    """A one-second heartbeat (and sweep), the given grace period, one thread per process."""
    return {
        **os.environ,
        "AUTOML_HEARTBEAT_INTERVAL": "1",
        "AUTOML_GRACE_PERIOD": str(grace),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _worker(name: str, env: dict[str, str]) -> subprocess.Popen:
    argv = [AUTOML, "worker", "--storage", POSTGRES, "--study", name, "--n-trials", "500"]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@functools.cache
def _store() -> optuna.storages.RDBStorage:
    """One storage (one connection pool) for the test's polling: a storage made per poll held
    its connections until collected, and a slow run ran the server out of them ("too many
    clients already")."""
    return optuna.storages.RDBStorage(POSTGRES)


def _trials(name: str) -> list[optuna.trial.FrozenTrial]:
    store = _store()
    return store.get_all_trials(store.get_study_id_from_name(name), deepcopy=False)


def _of(pid: int, trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials if f":{pid}:" in t.user_attrs.get(WORKER, "")]


def _until(check, what: str, *procs: subprocess.Popen):
    deadline = time.monotonic() + WAIT
    while True:
        found = check()
        if found:
            return found
        ended = [p for p in procs if p.poll() is not None]
        if ended:
            pytest.fail(f"{what}: a worker ended first: {ended[0].stderr.read()[-2000:]!r}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT} s")
        time.sleep(0.2)


@pytest.fixture()
def study(tmp_path):
    """A PostgreSQL study of MLP trials on a table (the Adult sample twice: a trial lasts
    long enough to be seen running and killed), started from a data path as workers need."""
    postgres_or_skip()
    data = tmp_path / "adult.csv"
    pd.concat([pd.read_csv(DATA / "adult_sample.csv")] * 2).to_csv(data, index=False)
    name = f"killed-{uuid.uuid4().hex[:8]}"
    argv = ["fit", str(data), "--target", "class", "--study", name, "--storage", POSTGRES]
    argv += ["--n-trials", "1", "--models", "mlp", "--cv-folds", "0", "--quiet", "--no-report"]
    assert main(argv) == 0
    yield name
    optuna.delete_study(study_name=name, storage=POSTGRES)


def _kill_mid_trial(name: str, env: dict[str, str], survivor: subprocess.Popen, elsewhere: bool):
    """Start a worker, SIGKILL it while a trial of its runs (after a report to the pruner) and
    the survivor is in its search; returns that trial. ``elsewhere``: first make the trial
    read as another host's (what a trial of a worker on another machine looks like)."""
    for _attempt in range(3):  # a kill that lands between two trials kills none: again
        victim = _worker(name, env)
        try:

            def running(victim=victim):
                trials = _trials(name)
                mine = [t for t in _of(victim.pid, trials) if t.state.name == "RUNNING"]
                mine = [t for t in mine if t.intermediate_values]
                return mine if mine and _of(survivor.pid, trials) else None

            trial = _until(running, "a running trial of the worker", victim, survivor)[-1]
            if elsewhere:
                store = _store()
                store.set_trial_user_attr(trial._trial_id, WORKER, "elsewhere.example:1:1")
            victim.kill()
            victim.wait(timeout=60)
        finally:
            if victim.poll() is None:
                victim.kill()
                victim.wait(timeout=60)
        if _trials(name)[trial.number].state.name in ("RUNNING", "FAIL"):
            return trial
    pytest.fail("three kills in a row landed between trials")


def _retries(name: str, number: int) -> tuple[list, list] | None:
    """The retries of trial ``number`` (queued by its owner's death, by the heartbeat), once
    there is one."""
    trials = _trials(name)
    by_owner = [t for t in trials if t.user_attrs.get(RETRY_OF) == number]
    by_heartbeat = [t for t in trials if t.system_attrs.get("failed_trial") == number]
    return (by_owner, by_heartbeat) if by_owner or by_heartbeat else None


@pytest.mark.slow  # subprocesses
@pytest.mark.xdist_group("postgresql")  # one at a time: a fresh database creates its tables once
@pytest.mark.parametrize("owner", ["this host", "another host"])
def test_a_killed_workers_trial_is_failed_and_retried_by_a_surviving_worker(study, owner):
    """Same host: the grace period is an hour, so only the dead owner's known pid can fail the
    trial while the survivor runs. Another host: a three-second grace period; Optuna's
    heartbeat fails it and its callback retries it."""
    elsewhere = owner == "another host"
    env = _env(grace=3 if elsewhere else 3600)
    survivor = _worker(study, env)
    try:
        trial = _kill_mid_trial(study, env, survivor, elsewhere)
        failed = _until(
            lambda: _trials(study)[trial.number].state.name == "FAIL",
            "the killed trial failed by the surviving worker",
            survivor,
        )
        assert failed and survivor.poll() is None
        by_owner, by_heartbeat = _until(
            lambda: _retries(study, trial.number), "the killed trial's retry", survivor
        )
        retries = by_heartbeat if elsewhere else by_owner
        assert len(retries) == 1 and not (by_owner if elsewhere else by_heartbeat)
        # the survivor runs the retry: the killed trial's configuration, once more
        retried = _until(
            lambda: (
                ((t := _trials(study)[retries[0].number]).intermediate_values and t)
                or (t.state.is_finished() and t)
            ),
            "the retry run",
            survivor,
        )
        assert retried.params == trial.params
    finally:
        survivor.kill()
        survivor.wait(timeout=60)


def test_a_zombie_or_a_process_of_another_namespace_is_not_taken_for_the_owner():
    """A killed worker its parent has not reaped yet is dead; a pid recorded in another
    container (same host name, other pid namespace) or before a reboot cannot be judged here."""
    import socket

    from automl import orphans

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        pid = child.pid
        here = f"{socket.gethostname()}:{pid}:{orphans._start_time(pid)}:{orphans._namespace()}"
        assert orphans._alive(here) is True
        elsewhere = here.rsplit(":", 1)[0] + ":0-1"
        assert orphans._alive(elsewhere) is None
        child.kill()
        deadline = time.monotonic() + WAIT
        while orphans._stat(pid)[0] != "Z":  # killed, not yet reaped: a zombie
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert orphans._alive(here) is False
    finally:
        child.kill()
        child.wait(timeout=60)
    assert orphans._alive(here) is False
