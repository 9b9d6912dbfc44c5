"""What every kind's training shares: a fit's outcome (``TrainOutcome``), the two ways a trial
ends unscored (``NonFiniteLoss``, ``StoppedUnscored``), how often an epoch reports to the pruner,
and which device a fit runs on. The training loops themselves belong to their kinds
(``automl.kinds.torch_training``, ``automl.kinds.sklearn_training``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.errors import ParameterError
from automl.predictors import Predictor

# multi-fidelity: a large training set reports to the pruner several times per epoch, so a
# trial's first rung costs part of an epoch (the torch loop scores a part on at most
# ``automl.kinds.torch_training.REPORT_ROWS`` validation rows, the epoch's end on all of them)
ROWS_PER_REPORT = 5000
MAX_REPORTS_PER_EPOCH = 8


class StoppedUnscored(RuntimeError):
    """The deadline came before the first epoch ended, and scoring the model as it was then
    was not wanted (``score_partial=False``: the search has a finished trial already)."""


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the trial is pruned with this reason."""


@dataclass
class TrainOutcome:
    predictor: Predictor
    score: float  # best validation score (nan when trained without validation)
    best_epoch: int  # epochs that gave the best score (the model holds those weights)
    epochs_run: int
    stopped_by: str  # "max_epochs", "early_stopping", "time_budget" or "fit"
    seconds: float
    note: str = ""  # what a reader of the leaderboard should know (a forest cut short, say)
    batches: int = 0  # optimizer steps taken (torch)
    batches_per_epoch: int = 0  # (torch) what one whole epoch takes
    valid_output: np.ndarray | None = None  # the kept model's output on the validation rows
    # (torch) the epochs the LR schedule ran over, when a deadline shortened it (a refit
    # replays that schedule); None: the schedule's own length
    schedule_epochs: float | None = None
    # (scikit-learn, grown in chunks) the share of its trees the deadline let the model grow:
    # a refit grows all of them, so it is planned at seconds / grown_share
    grown_share: float = 1.0
    # the seconds of ``seconds`` spent predicting the validation rows: they do not grow with
    # the training rows (a fit on more rows of one split), and a refit makes none
    scoring_seconds: float = 0.0


def reports_per_epoch(n_train: int) -> int:
    """How many times an epoch reports to the pruner: once per ``ROWS_PER_REPORT`` training
    rows, 1 to ``MAX_REPORTS_PER_EPOCH`` (the pruner's resource unit is one such part)."""
    return int(min(MAX_REPORTS_PER_EPOCH, max(1, n_train // ROWS_PER_REPORT)))


def resolve_device(device: str | Any = "auto") -> Any:
    """ "auto" is CUDA when present, else CPU; anything else is handed to torch.device."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            f"device={device!r} but no CUDA device is available; use device='auto'"
        )
    return dev
