"""``automl worker``: join a running study from another process or host.

The study must have been started from a data path (``automl fit DATA`` or ``automl run``): its
``recipe`` user attribute says how to load and split the same data, and the stored fingerprint
refuses anything else. SQLite cannot serve several workers: use a journal file (one host) or
PostgreSQL (several hosts).
"""

from __future__ import annotations

import logging
from typing import Any

from automl.errors import StorageError

log = logging.getLogger(__name__)


def check_shared_storage(storage: Any) -> None:
    if storage is None or (isinstance(storage, str) and storage.startswith("sqlite")):
        raise StorageError(
            "SQLite cannot serve several workers at once; use a journal file (a path ending in "
            ".log, processes on one host) or PostgreSQL (postgresql://..., several hosts)"
        )


def run_worker(
    storage: str, study: str, *, n_trials: int | None = None, time_budget: float | None = None
) -> int:
    import optuna

    from automl import search, studyfile, urls
    from automl.api import run_trials
    from automl.settings import SETTINGS

    check_shared_storage(storage)
    store, _ = search.resolve_storage(study, storage)
    try:
        existing = optuna.load_study(study_name=study, storage=store)
    except KeyError:
        raise StorageError(f"no study {study!r} in {urls.redact(storage)}") from None
    recipe = existing.user_attrs.get("recipe")
    if not recipe:
        raise StorageError(
            f"study {study!r} was not started from a data path, so a worker cannot load its "
            "data; start it with `automl fit DATA --storage ...` or `automl run`"
        )
    log.info("worker: joining study %r in %s", study, urls.redact(storage))
    spec = studyfile.StudySpec(name=study, **recipe)
    train, _, _ = studyfile.split(spec, studyfile.load_dataset(spec.data))
    target = spec.target if not isinstance(train, (tuple, str)) else None
    if n_trials is None and time_budget is None:
        n_trials = 1
    stored = existing.user_attrs.get(search.SETTINGS, {})
    kept = {s.name: stored[s.name] for s in SETTINGS if s.kept and s.name in stored}
    kept.setdefault("seed", spec.seed)
    return run_trials(
        train,
        target,
        study_name=study,
        storage=storage,
        n_trials=n_trials,
        time_budget=time_budget,
        task=spec.task,
        metric=spec.metric,
        task_options=spec.options,
        **kept,
    )
