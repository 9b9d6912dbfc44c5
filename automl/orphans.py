"""Trials whose process died: found when a study is resumed, failed, and retried once.

Every trial records the process that runs it (``worker``: host, pid and the process's start
time, so a reused pid is not mistaken for the same process). On resume, a RUNNING trial of this
host whose process is gone is failed at once, whatever the storage (SQLite, a journal file, or
PostgreSQL from the same host) and however recently it was killed; its configuration is queued
once more (a retry is not retried again). Trials of other hosts are left to the heartbeat of RDB
storages (``automl.search.GRACE_PERIOD``).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from optuna.trial import TrialState

WORKER = "worker"  # trial user attribute: "host:pid:start"
RETRY_OF = "retry_of"  # user attribute of a queued retry: the number of the dead trial
DIED = "process_died"  # user attribute of the retry: why the trial it repeats failed


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux); "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, counted after the command name


def this_worker() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _alive(worker: str) -> bool | None:
    """Whether the recorded process still runs; None when it ran on another host."""
    host, _, rest = worker.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user holds that pid
    return not start or _start_time(pid) == start


def reclaim(study: Any) -> list[int]:
    """Fail the RUNNING trials of this host whose process is gone and queue each one's
    configuration again (once); returns the numbers of the trials failed."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER)
        if not worker or _alive(worker) is not False:
            continue
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
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
