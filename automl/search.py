"""The Optuna side: storage, sampler, pruner, resuming and the budget (the progress bar:
``automl.progress``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
from optuna.trial import TrialState

from automl import orphans
from automl.errors import StorageError, StudyMismatch
from automl.interrupt import Aborted, SearchInterrupt
from automl.progress import Progress
from automl.urls import check_unambiguous, redact, scrub

DEFAULT_STUDIES_DIR = "studies"
DEFAULT_DB = "studies.db"  # the default SQLite storage, shared by the studies of the folder
# Seconds between a running trial's heartbeats (RDB storages), and the silence after which a
# trial counts as dead (its process was killed): it is failed and its configuration retried once.
HEARTBEAT_INTERVAL = int(os.environ.get("AUTOML_HEARTBEAT_INTERVAL", "5"))
GRACE_PERIOD = int(os.environ.get("AUTOML_GRACE_PERIOD", "20"))
MEMORY = ":memory:"
FINGERPRINT = "data_fingerprint"  # study user attribute: a hash of the split data
SETTINGS = "settings"  # study user attribute: the fit settings a resumed study must keep
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


def shared(url: str | None) -> bool:
    """Whether several processes may run trials into this storage (a journal file,
    PostgreSQL and other RDB servers); SQLite is held by one (``lock_study``)."""
    return isinstance(url, str) and not url.startswith("sqlite")


def resolve_storage(study_name: str, storage: Any) -> tuple[Any, str | None]:
    """The storage object and a URL to reopen it: None is SQLite at ``studies/studies.db``
    (relative to the working directory; one file holds every study of the folder, so
    optuna-dashboard shows them all), with the study's model and report in
    ``studies/<study_name>/`` (a study kept in ``studies/<study_name>/study.db`` by an earlier
    automl resumes there); ":memory:" keeps nothing; a path ending in ``.log`` is a journal file
    (several processes on one host); any other string is an RDB URL (``sqlite:///...``,
    ``postgresql://...``); a storage object is used as given. RDB storages get a heartbeat: a
    trial whose process died is failed after ``GRACE_PERIOD`` seconds and its configuration
    retried once."""
    if storage == MEMORY:
        return None, None
    if storage is None:
        folder = Path(DEFAULT_STUDIES_DIR) / study_name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the study folder {folder.resolve()}: {exc.strerror}; "
                "run from a writable directory or pass storage='sqlite:///path/to/study.db'"
            ) from None
        if not os.access(folder, os.W_OK):
            raise StorageError(f"the study folder {folder.resolve()} is not writable")
        legacy = folder / "study.db"
        storage = f"sqlite:///{legacy if legacy.is_file() else folder.parent / DEFAULT_DB}"
    if not isinstance(storage, str):
        return storage, None
    if "://" not in storage and storage.endswith(".log"):
        return journal_storage(storage), storage
    if storage.startswith("sqlite:///"):
        path = Path(storage[len("sqlite:///") :])
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise StorageError(
                f"the SQLite storage folder {path.parent} is missing or not writable"
            )
    return rdb_storage(storage), storage


class _Held:
    """An exclusive lock on a study, released when the fit ends (or its process dies)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def release(self) -> None:
        if not self.handle.closed:
            self.handle.close()  # closing the file drops its flock


def lock_study(url: str | None, study_name: str) -> contextlib.AbstractContextManager:
    """SQLite serves one process per study: hold an exclusive lock beside the database for the
    whole fit, and refuse a second process naming the holder. Other storages (a journal file,
    PostgreSQL) take several processes (``automl worker``) and need none."""
    if not (isinstance(url, str) and url.startswith("sqlite:///")):
        return contextlib.nullcontext()
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one process per study is the user's to keep
        return contextlib.nullcontext()
    db = Path(url[len("sqlite:///") :].split("?", 1)[0])
    handle = open(db.parent / f".{db.name}.{study_name}.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StorageError(
            f"study {study_name!r} is being fitted by another process ({holder}): SQLite "
            "serves one process per study. Wait for it to end, pass another study_name, or, "
            "for several processes, use a journal file (storage='studies/NAME.log') or "
            "PostgreSQL and `automl worker`"
        ) from None
    handle.truncate(0)
    handle.write(orphans.this_worker())
    handle.flush()
    return _Held(handle)


def rdb_storage(url: str) -> optuna.storages.RDBStorage:
    check_unambiguous(url)
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
        raise StorageError(
            f"storage {redact(url)!r} needs a database driver: {exc}; for PostgreSQL install "
            "automl-nn[postgres]"
        ) from None
    except Exception as exc:  # sqlalchemy's OperationalError and friends
        why = scrub(str(exc).splitlines()[0], url)
        raise StorageError(f"cannot open storage {redact(url)!r}: {why}") from None


def journal_storage(path: str) -> optuna.storages.JournalStorage:
    from optuna.storages.journal import JournalFileBackend

    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise StorageError(f"the journal storage folder {folder} is missing or not writable")
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
            digest.update(np.ascontiguousarray(arr).data)  # no bytes copy of the table
    return digest.hexdigest()


class SeededHyperband(optuna.pruners.HyperbandPruner):
    """Hyperband whose bracket for a trial follows the seed and the trial's number. Optuna's
    follows the study's name and the number (its docs: name the study for reproducible
    pruning), and ``fit``'s default study names carry the time, so two fits with one seed
    pruned different trials and returned different models."""

    def __init__(self, seed: int | None, **options: Any) -> None:
        super().__init__(**options)
        self._named = _Named(f"seed-{seed}")

    def _get_bracket_id(self, study: optuna.Study, trial: Any) -> int:
        return super()._get_bracket_id(self._named, trial)  # it reads only study_name


class _Named:
    def __init__(self, study_name: str) -> None:
        self.study_name = study_name


def open_study(  # noqa: PLR0913
    study_name: str,
    storage: Any,
    *,
    direction: str,
    seed: int,
    max_epochs: int,
    meta: dict[str, Any],
    settings: dict[str, Any] | None = None,
    reports_per_epoch: int = 1,
    extra: dict[str, Any] | None = None,
    metric_name: str | None = None,
    sampler_seed: int | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study in ``storage`` (see ``resolve_storage``), or load it when it exists
    (resume); returns (study, resumed).

    A stored study that automl did not create, or made for other data, task, metric or
    ``settings`` (the model families searched, seed, split ...), is refused with the setting
    named, and left untouched. On resume, trials of this host whose process died are failed and
    retried once (``automl.orphans``).

    The pruner is Hyperband over the trial's steps: parts of epochs (``reports_per_epoch`` per
    epoch, ``automl.training.reports_per_epoch``), so on a large training set a first rung
    costs a fraction of an epoch and a short budget still compares many configurations.

    ``sampler_seed`` (default ``seed``) seeds the sampler alone: a worker passes its own, or
    workers started together would sample the same configurations.
    """
    with warnings.catch_warnings():  # `group` is marked experimental; we rely on it knowingly
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=seed if sampler_seed is None else sampler_seed,
            multivariate=True,
            group=True,
            n_startup_trials=8,
            constant_liar=True,
        )
    pruner = SeededHyperband(
        seed,
        min_resource=1,
        max_resource=max_epochs * max(1, reports_per_epoch),
        reduction_factor=3,
    )
    settings = json.loads(json.dumps(settings or {}, default=str))  # as the storage keeps it
    existing = _load_existing(study_name, storage)
    if existing is not None:
        _check_meta(study_name, existing.user_attrs, meta, settings)
        orphans.sweep(existing)  # dead trials (killed runs, workers): failed and retried
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=direction,
        load_if_exists=True,
    )
    if existing is None:
        for key, value in {**(extra or {}), **meta, SETTINGS: settings}.items():
            study.set_user_attr(key, value)
        if metric_name:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([metric_name])  # the dashboard names the objective
    return study, existing is not None


def _load_existing(study_name: str, storage: Any) -> optuna.Study | None:
    if storage is None:
        return None
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return None


def _check_meta(
    study_name: str, stored: dict[str, Any], meta: dict[str, Any], settings: dict[str, Any]
) -> None:
    """Refuse a stored study that automl did not make, or that was made with other settings
    (named, one by one) or on other data."""
    if FINGERPRINT not in stored:
        raise StudyMismatch(
            f"study {study_name!r} exists in its storage but was not created by automl (it "
            "holds no automl settings): automl resumes only its own studies. Pass a new "
            "study_name, or another storage"
        )
    first = {k: v for k, v in meta.items() if k in ("task", "problem_type", "metric")}
    for key, now, before in [
        *((k, v, stored.get(SETTINGS, {})) for k, v in settings.items()),
        *((k, v, stored) for k, v in first.items()),
    ]:
        if key in before and before[key] != now:
            raise StudyMismatch(
                f"study {study_name!r} was started with {key}={before[key]!r}; this call has "
                f"{key}={now!r}. A study keeps the settings it started with (its trials were "
                f"searched and scored under them): pass {key}={before[key]!r} to resume it, "
                "or a new study_name to start another"
            )
    if stored[FINGERPRINT] != meta.get(FINGERPRINT):
        raise StudyMismatch(
            f"study {study_name!r} was started on other data (its rows, columns or labels "
            "differ from these): pass the same data to resume it, or a new study_name"
        )
    rest = {k: v for k, v in meta.items() if k not in first and k != FINGERPRINT}
    differ = [k for k, v in rest.items() if k in stored and stored[k] != v]
    if differ:
        what = "; ".join(f"{k}: stored {stored[k]!r}, now {rest[k]!r}" for k in differ)
        raise StudyMismatch(
            f"study {study_name!r} was started with other settings ({what}); pass a new "
            "study_name, or the same data and settings to resume it"
        )


def best_trial(study: optuna.Study, tiebreak: str) -> optuna.trial.FrozenTrial | None:
    """The best complete trial; ties (common for accuracy on small validation splits) go to
    the lower ``tiebreak`` user attribute (validation log-loss or RMSE, recorded per trial)."""
    top = top_trials(study, tiebreak, 1)
    return top[0] if top else None


def top_trials(study: optuna.Study, tiebreak: str, k: int) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` best complete trials, best first (ties as in ``best_trial``)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1
    ranked = sorted(
        complete,
        key=lambda t: (sign * t.value, -t.user_attrs.get(tiebreak, float("inf")), -t.number),
        reverse=True,
    )
    return ranked[:k]


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete, pruned and failed trials, less those that failed because their process died
    and have a retry: the retry takes their place (``n_trials`` counts it, not them)."""
    trials = study.get_trials(deepcopy=False)
    replaced = set(orphans.died_notes(trials))
    return [t for t in trials if t.state in FINISHED and t.number not in replaced]


class Searched(NamedTuple):
    """What ``run`` did: seconds spent, trials this call finished, whether Ctrl-C ended it,
    and why it stopped (``STOPPED``)."""

    seconds: float
    ran: int
    interrupted: bool
    stopped: str = ""


# why a search stopped, as ``result.summary["stopped"]`` says it
STOPPED_TRIALS = "n_trials reached"
STOPPED_TIME = "time budget"
STOPPED_CTRL_C = "interrupted (Ctrl-C)"
STOPPED_OTHER = "study.stop() was called (a callback stopped the study)"


def run(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    n_trials: int | None,
    progress: Progress | None,
    stop_at: Callable[[], float | None] = lambda: None,
    count_existing: bool = True,
    callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] | None = None,
) -> Searched:
    """Run trials until the time ``stop_at()`` returns (a ``time.monotonic`` value, asked after
    every trial: the caller's plan may move it) or until the study holds ``n_trials`` finished
    trials (``count_existing=False``: until this call ran ``n_trials``), whichever comes first.
    The first Ctrl-C ends the search early, keeping what it found (``automl.interrupt``); a
    second one raises ``interrupt.Aborted``."""
    done = len(finished_trials(study)) if count_existing else 0
    remaining = None if n_trials is None else max(0, n_trials - done)
    started = time.monotonic()
    if remaining == 0:
        return Searched(0.0, 0, False, STOPPED_TRIALS)
    if _past(stop_at()) and search_has_result(study):
        return Searched(0.0, 0, False, STOPPED_TIME)
    ran: list[int] = []
    timed_out: list[bool] = []

    def count_and_stop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        ran.append(trial.number)
        if progress is not None:
            progress.trial_done(study, trial)
        if _past(stop_at()):
            timed_out.append(True)
            study.stop()

    interrupted = False
    with SearchInterrupt(study) as ctrl_c:
        try:
            study.optimize(
                ctrl_c.guard(objective),
                n_trials=remaining,
                catch=(Exception,),
                callbacks=[*(callbacks or []), count_and_stop],
                gc_after_trial=True,
            )
        except Aborted:
            raise
        except KeyboardInterrupt:
            interrupted = True
        interrupted = interrupted or ctrl_c.presses > 0
    if interrupted and progress is not None:
        progress.write(
            f"search interrupted (Ctrl-C) after {len(ran)} trial(s): going on with what it "
            "found (choosing, refitting, saving); Ctrl-C again aborts"
        )
    stopped = _why_stopped(
        interrupted, bool(timed_out), remaining is not None and len(ran) >= remaining
    )
    return Searched(time.monotonic() - started, len(ran), interrupted, stopped)


def _why_stopped(interrupted: bool, timed_out: bool, all_ran: bool) -> str:
    if interrupted:
        return STOPPED_CTRL_C
    if timed_out:
        return STOPPED_TIME
    return STOPPED_TRIALS if all_ran else STOPPED_OTHER


def _past(moment: float | None) -> bool:
    return moment is not None and time.monotonic() >= moment


def search_has_result(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
