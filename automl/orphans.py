"""Trials whose process died: failed, and their configuration retried once, by whichever
process of the study sees it first.

Every trial records the process that runs it (``worker``: host, pid, the process's start time,
and the machine's boot and pid namespace, so a reused pid, a reboot or a container that shares
the host's name is not mistaken for the same process). A RUNNING trial of this host whose
process is gone (or is a zombie) is failed at once, whatever the storage: when a process opens
the study, and, while a search runs on a shared storage (a journal file, PostgreSQL), every
heartbeat interval by each worker's watcher thread (``Watch``). A trial of another host is
failed once its heartbeat has been silent for ``automl.search.GRACE_PERIOD`` seconds (RDB
storages: Optuna's heartbeat, which the watcher checks as often; Optuna itself checks only when
a trial starts). Only the process whose update failed the trial queues its retry, and a retry
is not retried again.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.trial import TrialState

WORKER = "worker"  # trial user attribute: "host:pid:start:namespace"
RETRY_OF = "retry_of"  # user attribute of a queued retry: the number of the dead trial
DIED = "process_died"  # user attribute of the retry: why the trial it repeats failed
JOIN_SECONDS = 30.0  # the longest a search waits for its watcher's last sweep to end


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (its state first); None where
    there is no such file (the process is gone, or the system has no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux); "" where unknown."""
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else ""  # field 22 of the file


def _namespace() -> str:
    """This boot and pid namespace: a pid names the same process only within both."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = ""
    try:
        pids = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
    except OSError:
        pids = ""
    return f"{boot}-{pids}" if boot or pids else ""


def this_worker() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}:{_namespace()}"


def _alive(worker: str) -> bool | None:
    """Whether the recorded process still runs; None when that cannot be told from here (it
    ran on another host, in another container, or before a reboot)."""
    host, _, rest = worker.partition(":")
    pid_text, start, namespace = [*rest.split(":"), "", ""][:3]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    if namespace and namespace != _namespace():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a process of another user holds the pid: its start time tells whose it is
    fields = _stat(pid)
    if fields is None:
        return True  # no /proc to read: the pid exists, take it as the same process
    if fields[0] == "Z":
        return False  # ended, not yet reaped by its parent
    return not start or (len(fields) > 19 and fields[19] == start)


def _fail(study: Any, number: int) -> bool:
    """Fail a RUNNING trial; False when another process finished or failed it first (the
    storage refuses the second update), so that one process alone queues the retry."""
    try:
        study.tell(number, state=TrialState.FAIL)
    except (UpdateFinishedTrialError, ValueError):  # ValueError: seen finished already
        return False
    return True


def reclaim(study: Any) -> list[int]:
    """Fail the RUNNING trials of this host whose process is gone and queue each one's
    configuration again (once); returns the numbers of the trials failed."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER)
        if not worker or _alive(worker) is not False or not _fail(study, trial.number):
            continue
        failed.append(trial.number)
        already_retry = RETRY_OF in trial.user_attrs or "failed_trial" in trial.system_attrs
        if trial.params and not already_retry:
            study.enqueue_trial(
                dict(trial.params),
                user_attrs={
                    RETRY_OF: trial.number,
                    DIED: f"trial {trial.number}'s process ({worker}) ended while it ran",
                },
            )
    return failed


def beat_own(study: Any) -> None:
    """Record a heartbeat for this process's own RUNNING trials (RDB storages): a trial whose
    process is this one is alive, even when its heartbeat thread was starved past the grace
    period on a busy machine, so the sweep that follows never fails it (Optuna would, and the
    worker would then end on 'Cannot tell a FAIL trial')."""
    storage = study._storage
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if interval is None:  # no heartbeat: nothing fails a trial as stale
        return
    me = this_worker()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(WORKER) == me:
            storage.record_heartbeat(trial._trial_id)


def sweep(study: Any) -> list[int]:
    """Fail and retry the dead trials: those of any host whose heartbeat is older than the
    grace period (RDB storages; Optuna's callback retries them), then those of this host whose
    process is gone. Returns the numbers of the latter. This process's own trials are beaten
    for first (``beat_own``)."""
    beat_own(study)
    with warnings.catch_warnings():  # the heartbeat is marked experimental; we rely on it
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    return reclaim(study)


class Watch:
    """While a search runs: ``sweep`` the study every ``interval`` seconds in a thread, so a
    worker killed mid-trial has its trial failed and retried while the others run, not when
    the next process opens the study. No thread when ``interval`` is None (a storage that
    only this process uses)."""

    def __init__(self, study_name: str, storage: Any, interval: float | None) -> None:
        self.study_name, self.storage, self.interval = study_name, storage, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def __enter__(self) -> Watch:
        if self.interval and self.storage is not None:
            # its own Study object: the search's sampler is not touched from this thread
            study = optuna.load_study(
                study_name=self.study_name,
                storage=self.storage,
                sampler=optuna.samplers.RandomSampler(),
                pruner=optuna.pruners.NopPruner(),
            )
            self._thread = threading.Thread(
                target=self._run, args=(study,), name="automl-dead-trials", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=JOIN_SECONDS)  # a daemon: a hung storage call ends with us

    def _run(self, study: Any) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep(study)
            except Exception as exc:  # noqa: BLE001 - a storage hiccup: the next sweep retries
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"could not check study {self.study_name!r} for the trials of dead "
                        f"workers ({type(exc).__name__}: {exc}); retrying every "
                        f"{self.interval} s",
                        stacklevel=1,
                    )


def died_notes(trials: list[Any]) -> dict[int, str]:
    """For the leaderboard: why each dead trial failed, read off its retry (or its state)."""
    notes = {}
    for t in trials:
        if RETRY_OF in t.user_attrs:
            notes[t.user_attrs[RETRY_OF]] = (
                f"its process ended while it ran; retried as trial {t.number}"
            )
        elif "failed_trial" in t.system_attrs:  # Optuna's heartbeat retry
            notes[t.system_attrs["failed_trial"]] = (
                f"its process stopped answering; retried as trial {t.number}"
            )
    return notes
