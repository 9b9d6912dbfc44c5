"""The Optuna side: storage, sampler, pruner, resuming, the budget and the progress bar."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from automl.errors import DataError

DEFAULT_STUDIES_DIR = "studies"
# Seconds between a running trial's heartbeats (RDB storages), and the silence after which a
# trial counts as dead (its process was killed): it is failed and its configuration retried once.
HEARTBEAT_INTERVAL = int(os.environ.get("AUTOML_HEARTBEAT_INTERVAL", "5"))
GRACE_PERIOD = int(os.environ.get("AUTOML_GRACE_PERIOD", "20"))
MEMORY = ":memory:"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial INFO lines off (our progress bar says it); warnings stay."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def default_study_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def resolve_storage(study_name: str, storage: Any) -> tuple[Any, str | None]:
    """The storage object and a URL to reopen it: None is SQLite at
    ``studies/<study_name>/study.db`` (relative to the working directory); ":memory:" keeps
    nothing; a path ending in ``.log`` is a journal file (several processes on one host); any
    other string is an RDB URL (``sqlite:///...``, ``postgresql://...``); a storage object is used
    as given. RDB storages get a heartbeat: a trial whose process died is failed after
    ``GRACE_PERIOD`` seconds and its configuration retried once."""
    if storage == MEMORY:
        return None, None
    if storage is None:
        folder = Path(DEFAULT_STUDIES_DIR) / study_name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"cannot create the study folder {folder.resolve()}: {exc.strerror}; "
                "run from a writable directory or pass storage='sqlite:///path/to/study.db'"
            ) from None
        if not os.access(folder, os.W_OK):
            raise DataError(f"the study folder {folder.resolve()} is not writable")
        storage = f"sqlite:///{folder / 'study.db'}"
    if not isinstance(storage, str):
        return storage, None
    if "://" not in storage and storage.endswith(".log"):
        return journal_storage(storage), storage
    if storage.startswith("sqlite:///"):
        path = Path(storage[len("sqlite:///") :])
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise DataError(f"the SQLite storage folder {path.parent} is missing or not writable")
    return rdb_storage(storage), storage


def rdb_storage(url: str) -> optuna.storages.RDBStorage:
    engine: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():  # the heartbeat is marked experimental; we rely on it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=retry,
            )
    except ImportError as exc:
        raise DataError(
            f"storage {url!r} needs a database driver: {exc}; for PostgreSQL install "
            "automl[postgres]"
        ) from None
    except Exception as exc:  # sqlalchemy's OperationalError and friends
        raise DataError(f"cannot open storage {url!r}: {exc}".splitlines()[0]) from None


def journal_storage(path: str) -> optuna.storages.JournalStorage:
    from optuna.storages.journal import JournalFileBackend

    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise DataError(f"the journal storage folder {folder} is missing or not writable")
    return optuna.storages.JournalStorage(JournalFileBackend(path))


def fingerprint(*arrays: Any) -> str:
    """A short hash of the data, so that resuming a study on other data is refused."""
    digest = hashlib.blake2b(digest_size=12)
    for arr in arrays:
        arr = np.asarray(arr)
        digest.update(str((arr.shape, arr.dtype.str)).encode())
        if arr.dtype.kind == "O":
            digest.update("\x00".join(map(str, arr.ravel().tolist())).encode())
        else:
            digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def open_study(
    study_name: str,
    storage: Any,
    *,
    direction: str,
    seed: int,
    max_epochs: int,
    meta: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study in ``storage`` (see ``resolve_storage``), or load it when it exists
    (resume); returns (study, resumed).

    A stored study made for other data, task or metric is refused, and left untouched.
    """
    with warnings.catch_warnings():  # `group` is marked experimental; we rely on it knowingly
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=8, constant_liar=True
        )
    pruner = optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=max_epochs, reduction_factor=3
    )
    existing = _load_existing(study_name, storage)
    if existing is not None:
        _check_meta(study_name, existing.user_attrs, meta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(existing)  # a killed run's trial: failed, retried
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=direction,
        load_if_exists=True,
    )
    if existing is None:
        for key, value in {**(extra or {}), **meta}.items():
            study.set_user_attr(key, value)
    return study, existing is not None


def _load_existing(study_name: str, storage: Any) -> optuna.Study | None:
    if storage is None:
        return None
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return None


def _check_meta(study_name: str, stored: dict[str, Any], meta: dict[str, Any]) -> None:
    differ = [k for k, v in meta.items() if k in stored and stored[k] != v]
    if differ:
        what = "; ".join(f"{k}: stored {stored[k]!r}, now {meta[k]!r}" for k in differ)
        raise DataError(
            f"study {study_name!r} exists in its storage for other data or settings ({what}); "
            "pass a new study_name, or the same data and settings to resume it"
        )


def best_trial(study: optuna.Study, tiebreak: str) -> optuna.trial.FrozenTrial | None:
    """The best complete trial; ties (common for accuracy on small validation splits) go to
    the lower ``tiebreak`` user attribute (validation log-loss or RMSE, recorded per trial)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    sign = 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1
    return max(
        complete,
        key=lambda t: (sign * t.value, -t.user_attrs.get(tiebreak, float("inf")), -t.number),
    )


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=FINISHED)


def run(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    time_budget: float | None,
    n_trials: int | None,
    verbose: bool,
    metric_name: str,
    count_existing: bool = True,
    callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] | None = None,
) -> tuple[float, int]:
    """Run trials until ``time_budget`` seconds pass or the study holds ``n_trials`` finished
    trials (``count_existing=False``: until this call ran ``n_trials``), whichever comes first;
    Ctrl-C ends the search early but keeps what it found. Returns (seconds, trials finished
    by this call)."""
    done = len(finished_trials(study)) if count_existing else 0
    remaining = None if n_trials is None else max(0, n_trials - done)
    started = time.monotonic()
    if remaining == 0:
        return 0.0, 0
    bar = _ProgressBar(remaining, time_budget, metric_name) if verbose else None
    ran: list[int] = []
    callbacks = [lambda _study, trial: ran.append(trial.number), *(callbacks or [])]
    if bar:
        callbacks.append(bar.update)
    try:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=time_budget,
            catch=(Exception,),
            callbacks=callbacks,
            gc_after_trial=True,
        )
    except KeyboardInterrupt:
        if bar:
            bar.write("search interrupted: keeping the trials finished so far")
    finally:
        if bar:
            bar.close()
    return time.monotonic() - started, len(ran)


class _ProgressBar:
    """One tick per finished trial, with the best score so far and the last trial's family."""

    def __init__(self, total: int | None, time_budget: float | None, metric_name: str) -> None:
        from tqdm.auto import tqdm

        budget = f" (budget {time_budget:.0f}s)" if time_budget else ""
        self.metric_name = metric_name
        self.bar = tqdm(total=total, desc=f"search{budget}", unit="trial", dynamic_ncols=True)

    def update(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        try:
            best = f"{study.best_value:.4f}"
        except ValueError:
            best = "-"
        last = f"{trial.params.get('model', '?')}:{trial.state.name.lower()}"
        self.bar.set_postfix_str(f"best {self.metric_name}={best} last={last}")
        self.bar.update(1)

    def write(self, text: str) -> None:
        self.bar.write(text)

    def close(self) -> None:
        self.bar.close()
