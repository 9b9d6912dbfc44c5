"""What a kind of model (torch, scikit-learn, or a plugin's own) does for the core: train under
a deadline, move to the host, weigh itself, save and load its trained state, describe its
architecture. A family names its kind (``ModelFamily.kind``): a built-in kind's name or a
``ModelKind`` object of its plugin's own; the core asks the kind instead of switching on names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import optuna

    from automl.metrics import Metric
    from automl.predictors import Predictor
    from automl.task import DataSpec, ModelFamily, TaskData
    from automl.training import TrainOutcome


@dataclass
class Split:
    """The rows one fit trains on (and scores on: no validation rows in a refit)."""

    x_train: Any
    y_train: np.ndarray
    x_valid: Any = None
    y_valid: np.ndarray | None = None
    w_train: np.ndarray | None = None


@dataclass
class FitOptions:
    """How one fit may run: device and seed, the pruner's callback (``reports`` times an
    epoch), the deadline, and for a refit its epochs and the LR schedule's length."""

    device: Any = "cpu"
    seed: int = 0
    on_epoch: Callable[[int, float], None] | None = None
    deadline: float | None = None
    refit_epochs: int | None = None
    reports: int = 1
    score_partial: bool = True
    schedule_epochs: float | None = None


@dataclass
class Retry:
    """A failed fit's second try (``ModelKind.retry``): the params it trains with (the trial
    records each one changed as ``<name>_used``) and why (recorded as ``oom_retry``)."""

    params: dict[str, Any]
    why: str


class ModelKind(ABC):
    """One kind of model. ``name`` is written in model folders (``automl.load`` checks it
    against the family's kind)."""

    name: str
    # the share of a fold's fit rows that early stopping holds out under cross-validation
    # (0: the kind does not stop early on held-out rows)
    early_stopping_share: float = 0.0

    def suggest_training(self, trial: optuna.Trial) -> None:  # noqa: B027 (optional hook)
        """Suggest the parameters every family of this kind shares (none by default)."""

    @abstractmethod
    def train(
        self,
        family: ModelFamily,
        model: Any,
        params: dict[str, Any],
        data: TaskData,
        metric: Metric,
        split: Split,
        options: FitOptions,
    ) -> TrainOutcome:
        """Fit ``model`` (the family's ``build``) on ``split``, stopping near the deadline."""

    @abstractmethod
    def check_build(self, model: Any) -> str | None:
        """What is wrong with a family's built model for this kind (None: nothing)."""

    def stoppable(self, family: ModelFamily, build: Callable[[], Any]) -> bool:
        """Whether a fit stops near a deadline keeping what it trained (else it is planned
        from its expected cost, on a subsample of a large table first). ``build()`` gives the
        model when the answer depends on it (it is built on the task's data spec: a family
        whose featurizer changes the spec, a text network's vocabulary, must not need it)."""
        return True

    def cut_is_sound(self, family: ModelFamily, build: Callable[[], Any]) -> bool:
        """Whether a fit its deadline stopped is a sound model of its configuration, only less
        grown: boosting that early-stops, a forest's trees, a network whose schedule is paced
        to the deadline (by default, any fit that is ``stoppable``). Not so for boosting whose
        learning rate was set for all its iterations (CatBoost's). Such a fit may be given
        less time than the whole of it would take (``automl.last_rung``)."""
        return self.stoppable(family, build)

    def seed(self, seed: int) -> None:  # noqa: B027 (optional hook)
        """Seed the randomness the family's ``build`` draws from (a network's initial
        weights), just before it runs: a trial's model then depends on its seed alone.
        (``train`` gets the seed too, in ``options.seed``, for what the fit draws.)"""

    def release(self) -> None:  # noqa: B027 (optional hook)
        """Give back what this kind's fits left cached on the device (after every trial, and
        before an out-of-memory retry)."""

    def out_of_memory(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the device running out of memory (see ``retry``)."""
        return False

    def retry(self, exc: BaseException, params: dict[str, Any]) -> Retry | None:
        """How a fit that raised ``exc`` is tried again, once (None: the error stands). By
        default: a fit that ran out of memory (``out_of_memory``) whose params hold a
        ``batch_size``, at half that batch size, after ``release()``."""
        if not self.out_of_memory(exc) or "batch_size" not in params:
            return None
        self.release()
        batch = int(params["batch_size"])
        return Retry(
            {**params, "batch_size": max(1, batch // 2)}, f"out of memory at batch size {batch}"
        )

    def torch_module(self, predictor: Predictor) -> Any:
        """The trained ``torch.nn.Module`` behind ``predictor``, for the exports that go
        through torch (TorchScript; a torch network's ONNX graph); None (the default): this
        kind's models are no torch modules."""
        return None

    def to_host(self, predictor: Predictor) -> None:  # noqa: B027 (optional hook)
        """Move a trained model's state to host memory (between trials)."""

    @abstractmethod
    def nbytes(self, predictor: Predictor) -> int:
        """About how much memory the trained model holds."""

    @abstractmethod
    def save(self, predictor: Predictor, folder: Path) -> tuple[dict[str, Any], list[str]]:
        """Write the trained state into ``folder``; returns what the model folder's config
        keeps of it and the file names written (relative to ``folder``)."""

    @abstractmethod
    def load(
        self,
        family: ModelFamily,
        params: dict[str, Any],
        spec: DataSpec,
        entry: dict[str, Any],
        path: Callable[[str], Path],
        device: Any,
        trusted: tuple[str, ...],
    ) -> Predictor:
        """Rebuild a trained model from what ``save`` wrote (``path(name)``: a listed file of
        the verified model folder)."""

    @abstractmethod
    def describe(self, family: ModelFamily, predictor: Predictor) -> tuple[str, int | None, str]:
        """The architecture as text, and its size with the size's unit ("parameters", ...)."""


def object_nbytes(obj: Any, seen: set[int] | None = None, depth: int = 0) -> int:
    """Bytes of the numpy arrays and strings reachable from ``obj`` (an estimate)."""
    import sys

    seen = set() if seen is None else seen
    if obj is None or id(obj) in seen or depth > 8:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (str, bytes)):
        return sys.getsizeof(obj)
    if isinstance(obj, (list, tuple, set)):
        return sum(object_nbytes(o, seen, depth + 1) for o in obj)
    if isinstance(obj, dict):
        return sum(
            object_nbytes(k, seen, depth + 1) + object_nbytes(v, seen, depth + 1)
            for k, v in obj.items()
        )
    state = getattr(obj, "__dict__", None)
    if state is None and hasattr(obj, "__getstate__"):  # compiled types (scikit-learn's Tree)
        try:
            state = obj.__getstate__()
        except TypeError:
            state = None
        if not isinstance(state, dict):
            return 0
        # a copy made for this count, freed before the next tree's: its objects' ids are
        # reused by the next copy's, so they are not remembered in ``seen`` (which counted
        # one tree of a forest in 50)
        return object_nbytes(state, set(), depth + 1)
    return object_nbytes(state, seen, depth + 1) if isinstance(state, dict) else 0
