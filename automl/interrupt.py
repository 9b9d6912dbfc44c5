"""Ctrl-C during a search: the first press ends the search, and ``fit`` goes on with what it
found (choose, refit what fits, report, save); a second press aborts.

The first press is raised as a KeyboardInterrupt only inside a trial's own code, so that
Optuna fails that trial (it is never left RUNNING) and no storage update of Optuna's is cut
short; pressed anywhere else (between trials, in a callback), it stops the study after the
step under way. Python's own handler is replaced only where it is in place (the main thread, no
handler of the caller's); elsewhere a KeyboardInterrupt still ends the search (``search.run``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from automl.trial_attrs import REASON

# Optuna logs a failed trial with its stack; for the trial Ctrl-C ended, the progress bar's
# line says it instead
OPTUNA_TRIAL_LOG = "optuna.study._optimize"


class Aborted(KeyboardInterrupt):
    """The second Ctrl-C of a search: the fit stops there."""


class SearchInterrupt:
    """The Ctrl-C handler of one search (a context manager around ``study.optimize``)."""

    def __init__(self, study: Any) -> None:
        self.study = study
        self.presses = 0
        self.in_trial = False
        self.cut: int | None = None  # the number of the trial the press ended
        self._previous: Any = None
        self._log_filter = _DropTrialLog(self)

    def __enter__(self) -> SearchInterrupt:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._press)
        logging.getLogger(OPTUNA_TRIAL_LOG).addFilter(self._log_filter)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # from here on Ctrl-C aborts
            self._previous = None
        logging.getLogger(OPTUNA_TRIAL_LOG).removeFilter(self._log_filter)

    def _press(self, signum: int, frame: Any) -> None:
        self.presses += 1
        if self.presses > 1:
            raise Aborted("Ctrl-C pressed a second time: the fit is aborted")
        with contextlib.suppress(RuntimeError):  # outside the optimize loop: nothing to stop
            self.study.stop()
        if self.in_trial:
            raise KeyboardInterrupt

    def guard(self, objective: Callable[[Any], float]) -> Callable[[Any], float]:
        """``objective``, run with the press raised inside it; a trial asked for after the
        press (it was pressed while Optuna created it) fails at once."""

        def guarded(trial: Any) -> float:
            try:
                if self.presses:
                    trial.set_user_attr(REASON, "interrupted (Ctrl-C) before it started")
                    raise KeyboardInterrupt
                self.in_trial = True
                try:
                    return objective(trial)
                finally:
                    self.in_trial = False
            except KeyboardInterrupt:
                self.cut = trial.number
                raise

        return guarded


class _DropTrialLog(logging.Filter):
    """Leaves out Optuna's "Trial N failed ..." records of the trial a press ended."""

    def __init__(self, interrupt: SearchInterrupt) -> None:
        super().__init__()
        self.interrupt = interrupt

    def filter(self, record: logging.LogRecord) -> bool:
        cut = self.interrupt.cut
        return cut is None or not record.getMessage().startswith(f"Trial {cut} failed")
