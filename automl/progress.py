"""``fit``'s progress bar: every phase of the call (search, final choice or refit, the
report's explanations and page, saving) on one bar that ends at 100% when ``fit`` returns.

With a time budget the bar runs on the clock: elapsed of the budget the user gave (from the
start of ``fit``) and the time left. A clock thread moves it at least every ``TICK_SECONDS``
(a scikit-learn fit reports nothing while it runs), and trials move it at every report they
make to the pruner. Without a budget it counts trials. The trials run, the best score and the
last trial's family and state are shown beside it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

TICK_SECONDS = 1.0


class Progress:
    """The bar (see the module docstring). ``stage`` names the phase that runs now, ``finish``
    completes the bar (100%) and closes it, ``close`` closes it where it is (an error)."""

    def __init__(
        self,
        *,
        time_budget: float | None,
        started: float,
        n_trials: int | None,
        metric_name: str,
        file: Any = None,
    ) -> None:
        from tqdm.auto import tqdm

        class _Bar(tqdm):  # the text beside the bar, a field of its own: tqdm's {postfix}
            info = ""  # starts with ", " (made to follow tqdm's rate), shown as "[, 3 s left"

            @property
            def format_dict(self) -> dict[str, Any]:
                return {**super().format_dict, "info": self.info}

        self.metric_name, self.started, self.timed = metric_name, started, time_budget is not None
        self.trials, self.best, self.last, self.done = 0, "-", "", ""
        self.lock = threading.RLock()
        self.closed = False
        self._stop: threading.Event | None = None
        if self.timed:
            fmt = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{info}]"
            self.bar = _Bar(total=float(time_budget), desc="search", bar_format=fmt, file=file)
        else:
            fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} trials [{info}]"
            if n_trials is None:
                fmt = "{desc}: {n_fmt} trials [{info}]"
            self.bar = _Bar(total=n_trials, desc="search", bar_format=fmt, file=file)
        self.tick()

    def info(self) -> str:
        parts = [f"{self.trials} trials", f"best {self.metric_name}={self.best}"]
        if self.done:
            parts.insert(0, self.done)
        elif self.timed:  # the time left of the budget given (tqdm's own ETA assumes a rate)
            parts.insert(0, f"{max(0.0, self.bar.total - self.bar.n):.0f} s left")
        if self.last:
            parts.append(f"last {self.last}")
        return ", ".join(parts)

    def tick(self) -> None:
        """Move the bar to the clock (at every pruner report, trial end and clock tick)."""
        with self.lock:
            if self.closed:
                return
            if self.timed and not self.done:
                self.bar.n = min(self.bar.total, time.monotonic() - self.started)
            self.bar.info = self.info()
            self.bar.refresh()

    def trial_done(self, study: Any, trial: Any) -> None:
        from optuna.trial import TrialState

        with self.lock:
            self.trials += 1
            if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                self.best = f"{study.best_value:.4f}"
            self.last = f"{trial.params.get('model', '?')}:{trial.state.name.lower()}"
            if not self.timed:
                self.bar.n += 1
        self.tick()

    def stage(self, name: str) -> None:
        """Name what runs now (search, refit, explanations, report, saving), the clock still
        moving."""
        with self.lock:
            self.bar.set_description_str(name, refresh=False)
        self.tick()

    def write(self, text: str) -> None:
        self.bar.write(text)

    def finish(self) -> None:
        """``fit`` is done: the bar completes (100%), saying how long the call took."""
        with self.lock:
            took = time.monotonic() - self.started
            self.done = f"done in {took:.0f} s" + (
                f" of the {self.bar.total:.0f} s budget" if self.timed else ""
            )
            self.bar.set_description_str("done", refresh=False)
            if self.bar.total is not None:
                self.bar.n = self.bar.total
                self.bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{info}]"
        self.close()

    def close(self) -> None:
        self.stop_ticking()
        self.tick()
        with self.lock:
            if not self.closed:
                self.closed = True
                self.bar.close()

    def start_ticking(self) -> None:
        """A clock thread that moves the bar every ``TICK_SECONDS`` until ``stop_ticking``."""
        if self._stop is not None or not self.timed:
            return
        stop = self._stop = threading.Event()

        def run() -> None:
            while not stop.wait(TICK_SECONDS):
                self.tick()

        threading.Thread(target=run, name="automl-progress", daemon=True).start()

    def stop_ticking(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None


@contextlib.contextmanager
def ticking(progress: Progress | None) -> Iterator[None]:
    """The bar moves on the clock while the block runs; on an error it is closed where it is."""
    if progress is None:
        yield
        return
    progress.start_ticking()
    try:
        yield
    except BaseException:
        progress.close()
        raise
    finally:
        progress.stop_ticking()
