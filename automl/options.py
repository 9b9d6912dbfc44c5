"""Checks of ``fit``'s keyword arguments, run before any data is read or any study is touched.

Each check names the keyword, what it got and what it takes, so a wrong call never surfaces as a
TypeError from deep inside scikit-learn, torch or Optuna.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from automl.errors import ParameterError

STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_SEED = 2**32 - 1


def _show(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ParameterError(
            f"{name} must be a number; got {_show(value)} ({type(value).__name__})"
        )
    return float(value)


def check_budget(time_budget: Any, n_trials: Any) -> None:
    if time_budget is not None:
        seconds = _number("time_budget", time_budget)
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ParameterError(
                f"time_budget must be a positive number of seconds; got {time_budget}"
            )
    bad_count = isinstance(n_trials, bool) or not isinstance(n_trials, Integral) or n_trials < 1
    if n_trials is not None and bad_count:
        raise ParameterError(f"n_trials must be a positive integer; got {_show(n_trials)}")


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(
            f"seed must be an integer from 0 to 2**32 - 1 (it seeds numpy, torch and "
            f"scikit-learn); got {_show(seed)}"
        )
    return int(seed)


def check_max_epochs(max_epochs: Any) -> int | None:
    if max_epochs is None:
        return None
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, Integral) or max_epochs < 1:
        raise ParameterError(
            f"max_epochs must be a positive integer (epochs a network may train); got "
            f"{_show(max_epochs)}"
        )
    return int(max_epochs)


def check_valid_fraction(valid_fraction: Any) -> float:
    value = _number("valid_fraction", valid_fraction)
    if not 0.0 < value < 1.0:
        raise ParameterError(f"valid_fraction must lie in (0, 1); got {valid_fraction}")
    return value


def names(keyword: str, value: Any) -> list[str] | None:
    """``models=`` / ``plugins=`` names: one name or an iterable of names (never letters)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable):
        raise ParameterError(
            f"{keyword} must be a name or a list of names; got {type(value).__name__}"
        )
    return list(value)


def check_study_name(study_name: Any) -> str | None:
    """A study name is a name, not a path: it names the folder ``studies/<name>/``."""
    if study_name is None:
        return None
    if not isinstance(study_name, str) or not STUDY_NAME.fullmatch(study_name):
        raise ParameterError(
            f"study_name must be 1-128 letters, digits, '_', '.' or '-', starting with a "
            f"letter or digit (it names the folder studies/<name>/); got {_show(study_name)}"
        )
    return study_name


def check_device(device: Any) -> None:
    """Resolve the device now: a CUDA device without CUDA, or a device torch does not know,
    is refused before the data is read, not after a search."""
    from automl.training import resolve_device

    try:
        resolve_device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"device={device!r} cannot be used here: {str(exc).splitlines()[0]}. Use "
            "device='auto' (CUDA when present, else CPU), 'cpu' or 'cuda'"
        ) from None


def check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False; got {_show(value)}")


def check_task_options(
    task: str, options: Mapping[str, Any], known: Mapping[str, tuple[Any, ...] | None]
) -> None:
    """A task's ``adapt(**options)``: each option is one of ``known`` (a name and its allowed
    values, None: any value), else a ParameterError that names what the task takes."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(f"{name}=" for name in known) or "no options"
        raise ParameterError(f"the {task} task takes no option(s) {unknown}; it takes {takes}")
    for name, allowed in known.items():
        if allowed is not None and name in options and options[name] not in allowed:
            raise ParameterError(f"{name} must be one of {allowed}; got {_show(options[name])}")
