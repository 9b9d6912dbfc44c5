"""automl's logger tree: every module logs to ``logging.getLogger(__name__)`` under ``automl``,
which a NullHandler keeps silent (library style) until the application configures logging, the
``automl`` command shows it, or ``fit(verbose=True)`` does for a script that configured none."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

ROOT = "automl"
FORMAT = "%(message)s"  # plain lines, as the CLI printed them before it logged

F = TypeVar("F", bound=Callable[..., Any])


def configured() -> bool:
    """Whether the application set up logging that reaches automl's records: a handler of its
    own on the ``automl`` logger, or any on the root logger."""
    own = [h for h in logging.getLogger(ROOT).handlers if not isinstance(h, logging.NullHandler)]
    return bool(own or logging.getLogger().handlers)


@contextmanager
def shown(level: int = logging.INFO) -> Iterator[None]:
    """Write automl's log records of ``level`` and above to standard error, one plain line each,
    for the duration; the logger's handlers and level are as before afterwards."""
    logger = logging.getLogger(ROOT)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    before = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def shown_when_verbose(fn: F) -> F:
    """Wrap a call taking ``verbose=`` (default True): when verbose and the application
    configured no logging, show automl's INFO lines on standard error while it runs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("verbose", True) or configured():
            return fn(*args, **kwargs)
        with shown(logging.INFO):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
