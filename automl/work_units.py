"""The work a time-bounded explanation runs whatever the clock says: each sized loop's timed
first unit (a row, a permutation), which it needs to learn its pace. The report records them
(``recording``) so that the time it spent can be held to its allowance plus these units, a
margin that does not depend on the machine's speed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_UNITS: ContextVar[list[float] | None] = ContextVar("automl_work_units", default=None)


@contextmanager
def recording() -> Iterator[list[float]]:
    """The seconds of each unit recorded (``record``) while the block runs."""
    units: list[float] = []
    token = _UNITS.set(units)
    try:
        yield units
    finally:
        _UNITS.reset(token)


def record(seconds: float) -> None:
    """Note a timed unit's seconds, where someone is recording."""
    units = _UNITS.get()
    if units is not None:
        units.append(float(seconds))
