"""``fit(n_jobs=...)``: how many CPU cores a fit uses, for torch, the BLAS/OpenMP pools that
scikit-learn and numpy use (threadpoolctl) and joblib's process/thread pools (forests)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from numbers import Integral
from typing import Any

from automl.errors import ParameterError


def available_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system
        return os.cpu_count() or 1


def resolve(n_jobs: Any) -> int | None:
    """None (leave the libraries' own defaults), -1 (every available core) or a positive
    count, at most the available cores."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0 or n_jobs < -1:
        raise ParameterError(
            f"n_jobs must be a positive number of cores or -1 (all of them); got {n_jobs!r}"
        )
    cores = available_cores()
    return cores if n_jobs == -1 else min(int(n_jobs), cores)


@contextlib.contextmanager
def limit(n_jobs: int | None) -> Iterator[None]:
    """Run the block on ``n_jobs`` cores (None: torch's and the pools' defaults, forests on
    every core)."""
    from joblib import parallel_config

    if n_jobs is None:
        with parallel_config(n_jobs=-1):
            yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    try:
        with threadpool_limits(limits=n_jobs), parallel_config(n_jobs=n_jobs):
            yield
    finally:
        torch.set_num_threads(before)
