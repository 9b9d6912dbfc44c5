"""Each completed trial's validation outputs, kept beside its study so that a resumed fit
chooses its model (best trial, ensemble, refit) over all of the study's trials, not only over
those its own process ran.

A trial's outputs are what the ensemble is chosen from (``automl.ensemble``): its predicted
probabilities or values on the validation split (out-of-fold on every row under
cross-validation). They are written when the trial completes, one ``.npz`` per trial, to
``studies/<study_name>/trial_outputs/`` (beside the study's model and report, whatever its
storage), and read back by the next fit of the study. A file is used only for the trial that
wrote it (its start time is stored with it: a study deleted and started again under the same
name has other trials) and only when it has one row per validation row; any other is skipped.
A study the resumed search, its seed and its split are kept by the study's stored settings and
data fingerprint (``automl.search.open_study``), so the outputs of its trials are comparable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import TrialState

from automl.objective import SearchRecords

log = logging.getLogger(__name__)

FOLDER = "trial_outputs"


def _started(trial: Any) -> str:
    moment = getattr(trial, "datetime_start", None)
    return "" if moment is None else moment.isoformat()


class TrialOutputs:
    """The validation outputs of one study's trials in ``folder``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def path(self, number: int) -> Path:
        return self.folder / f"trial_{number}.npz"

    def write(self, trial: Any, output: np.ndarray) -> None:
        """Keep ``trial``'s outputs (whole or not at all: written aside, then renamed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(trial.number)
        tmp = final.with_name(f".{final.stem}.{os.getpid()}.npz")
        try:
            np.savez(tmp, output=np.asarray(output), started=np.array(_started(trial)))
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, trial: Any, rows: int) -> np.ndarray | None:
        """``trial``'s outputs, or None when none were kept for it (or they are another
        trial's, or not one row per validation row)."""
        path = self.path(trial.number)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as kept:
                if str(kept["started"]) != _started(trial) or len(kept["output"]) != rows:
                    return None
                return np.asarray(kept["output"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning(
                "skipping the unreadable outputs of trial %d (%s): %s", trial.number, path, exc
            )
            return None

    def recorder(self, records: SearchRecords) -> Callable[[Any, Any], None]:
        """An Optuna callback that keeps each completed trial's outputs (from ``records``); a
        file that cannot be written is a warning (the trial itself stands)."""

        def record(_study: Any, trial: Any) -> None:
            output = records.outputs.get(trial.number)
            if trial.state != TrialState.COMPLETE or output is None:
                return
            try:
                self.write(trial, output)
            except OSError as exc:
                log.warning(
                    "could not keep the validation outputs of trial %d in %s: %s; a resumed fit "
                    "will not ensemble it",
                    trial.number,
                    self.folder,
                    exc,
                )

        return record

    def read_back(self, study: Any, records: SearchRecords) -> list[int]:
        """Add to ``records.outputs`` the kept outputs of the study's completed trials that this
        process did not run; returns their numbers."""
        if records.y is None:
            return []
        added = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if trial.number in records.outputs:
                continue
            output = self.read(trial, len(records.y))
            if output is not None:
                records.outputs[trial.number] = output
                added.append(trial.number)
        return added
