"""``fit(n_jobs=...)``: how many CPU cores a fit uses, for torch, the BLAS/OpenMP pools that
scikit-learn and numpy use (threadpoolctl) and joblib's process/thread pools (forests)."""

from __future__ import annotations

import contextlib
import contextvars
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


# Below this many training rows, scikit-learn's OpenMP loops (histogram gradient boosting) get
# one thread when n_jobs is not given: their parallel regions are too small to pay off, and
# OpenMP threads spin while they wait at each region's barrier, so on a machine whose other
# cores are busy a thread waits for a descheduled peer thousands of times. Measured on the
# 2-core machine, breast-cancer (569 rows, 200 iterations): idle 0.25 s with 2 threads, 0.32 s
# with 1; with two busy processes beside it 4.98 s with 2 threads, 0.51 s with 1.
SMALL_ROWS = 10_000
# BLAS (OpenBLAS's threads spin too) likewise: logistic regression's L-BFGS on 600 SMS texts'
# TF-IDF columns (24,118) at load 7.5 took 0.82 s with 2 BLAS threads, 0.11 s with one.
# The same holds on any table when other processes already keep every core busy (the 1-minute
# load average at the fit's start is at least the cores available): 50,000 rows of 27 columns,
# 50 iterations at load 7 on the 2-core machine took 9.3-11.8 s with 2 threads, 2.1 s with 1.


def busy() -> bool:
    """Whether other processes keep every core of this machine busy now."""
    try:
        return os.getloadavg()[0] >= available_cores()
    except OSError:  # no load average on this system
        return False


# whether the running fit left its cores to ``limit(None)``'s choice (a per-fit check may then
# take a busy machine's one thread)
_CHOSEN: contextvars.ContextVar[bool] = contextvars.ContextVar("automl_chosen", default=False)


@contextlib.contextmanager
def limit(n_jobs: int | None, rows: int | None = None) -> Iterator[None]:
    """Run the block on ``n_jobs`` cores. None: every core for torch and joblib (forests),
    and for OpenMP and BLAS too unless the training set has fewer than ``SMALL_ROWS`` ``rows``
    or the machine is ``busy()``. joblib prefers threads: a step that does not ask for processes
    (a FeatureUnion's TF-IDF vectorizers) would otherwise start a pool of worker processes,
    each importing scikit-learn (a 5-fold trial on 600 SMS texts spent 7 s waiting on them at
    load 7)."""
    from joblib import parallel_config

    if n_jobs is None:
        from threadpoolctl import threadpool_limits

        small = rows is not None and rows < SMALL_ROWS
        one = small or busy()
        token = _CHOSEN.set(True)
        try:
            with (
                parallel_config(n_jobs=-1, prefer="threads"),
                threadpool_limits(1 if one else None, "openmp"),
                threadpool_limits(1 if one else None, "blas"),
            ):
                yield
        finally:
            _CHOSEN.reset(token)
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    try:
        with threadpool_limits(limits=n_jobs), parallel_config(n_jobs=n_jobs, prefer="threads"):
            yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def one_if_busy() -> Iterator[None]:
    """One OpenMP and BLAS thread for a model fit that starts while the machine is ``busy()``,
    inside a fit whose cores ``limit(None)`` chose (a fit given ``n_jobs`` keeps them): the
    load is checked again at every fit, as it changes during a search. Measured on the 2-core
    machine with three busy processes beside it, histogram gradient boosting on 50,000 rows
    took 3.7-7.1 s with 2 threads (spinning 0-3,000), 1.8 s with one."""
    if not (_CHOSEN.get() and busy()):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "openmp"), threadpool_limits(1, "blas"):
        yield


@contextlib.contextmanager
def small_batches() -> Iterator[None]:
    """One OpenMP thread for a block that predicts batch after small batch (explanations), for
    the reason of ``SMALL_ROWS``: measured on the 2-core machine at load 6, a histogram gradient
    boosting model predicting 300 rows took 0.457 s with its OpenMP threads, 0.001 s with one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "openmp"):
        yield
