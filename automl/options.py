"""Checks of ``fit``'s keyword arguments, run before any data is read or any study is touched.

Each check names the keyword, what it got and what it takes, so a wrong call never surfaces as a
TypeError from deep inside scikit-learn, torch or Optuna.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from automl.errors import ParameterError, did_you_mean
from automl.targets import PROBLEM_TYPES

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


def check_time_budget(time_budget: Any) -> float | None:
    if time_budget is None:
        return None
    seconds = _number("time_budget", time_budget)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ParameterError(
            f"time_budget must be a positive number of seconds; got {time_budget}"
        )
    return seconds


def check_n_trials(n_trials: Any) -> int | None:
    bad_count = isinstance(n_trials, bool) or not isinstance(n_trials, Integral) or n_trials < 1
    if n_trials is not None and bad_count:
        raise ParameterError(f"n_trials must be a positive integer; got {_show(n_trials)}")
    return None if n_trials is None else int(n_trials)


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


def names(keyword: str, value: Any) -> tuple[Any, ...] | None:
    """``models=`` / ``plugins=`` names: one name or an iterable of names (never letters)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise ParameterError(
            f"{keyword} must be a name or a list of names; got {type(value).__name__}"
        )
    return tuple(value)


def check_models(models: Any) -> tuple[str, ...] | None:
    found = names("models", models)
    odd = [m for m in found or () if not isinstance(m, str)]
    if odd:
        raise ParameterError(f"models must name model families (strings); got {_show(odd[0])}")
    return found


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


def check_pretrained(pretrained: Any) -> tuple[tuple[str, str | None], ...] | None:
    """``pretrained=``: backbones to fine-tune, as (name, weights file or None) pairs. A name
    (an architecture, a model id or a local folder), a list of names, or ``{name: file}`` (an
    architecture and the local file holding its weights). What a name means is the task's to
    say (``Task.adapt`` receives the pairs as its ``pretrained`` option)."""
    if pretrained is None:
        return None
    if isinstance(pretrained, (str, os.PathLike)):
        pretrained = [pretrained]
    if isinstance(pretrained, Mapping):
        pairs = list(pretrained.items())
    elif isinstance(pretrained, Iterable):
        pairs = [p if isinstance(p, (tuple, list)) else (p, None) for p in pretrained]
    else:
        pairs = None
    bad = (
        pairs is None
        or not pairs
        or any(
            len(p) != 2
            or not isinstance(p[0], (str, os.PathLike))
            or not str(p[0]).strip()
            or not (p[1] is None or isinstance(p[1], (str, os.PathLike)))
            for p in pairs
        )
    )
    if bad:
        raise ParameterError(
            "pretrained must name backbones: a name or local folder ('resnet18', "
            "'distilbert-base-uncased', 'models/my-bert'), a list of them, or a dict of "
            f"architecture to weights file ({{'resnet18': 'r18.pth'}}); got {_show(pretrained)}"
        )
    out = tuple((os.fspath(n), None if w is None else os.fspath(w)) for n, w in pairs)
    names = [n for n, _ in out]
    if len(set(names)) < len(names):
        raise ParameterError(f"pretrained names a backbone twice: {names}; name each once")
    return out


def pretrained_flag(text: str) -> list[tuple[str, str | None]]:
    """``--pretrained``: names separated by commas, each ``NAME`` or ``NAME=FILE``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [(n, w or None) for n, _, w in (t.partition("=") for t in items)]


def check_device(device: Any) -> None:
    """Resolve the device now: a CUDA device without CUDA, or a device torch does not know,
    is refused before the data is read, not after a search. "auto" and "cpu" need no check:
    torch (some 300 MB of memory) is then imported only by a fit that trains a network."""
    if device in (None, "auto", "cpu"):
        return
    from automl.training import resolve_device

    try:
        resolve_device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"device={device!r} cannot be used here: {str(exc).splitlines()[0]}. Use "
            "device='auto' (CUDA when present, else CPU), 'cpu' or 'cuda'"
        ) from None


def flag(name: str, *, unset: bool = False) -> Callable[[Any], bool | None]:
    """The check of a True/False setting (``unset``: None too, meaning "the preset's")."""

    def check(value: Any) -> bool | None:
        if value is None and unset:
            return None
        if not isinstance(value, bool):
            allowed = "True, False or None" if unset else "True or False"
            raise ParameterError(f"{name} must be {allowed}; got {_show(value)}")
        return value

    return check


def optional_text(name: str, what: str) -> Callable[[Any], str | None]:
    """The check of a setting that takes a string or None."""

    def check(value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ParameterError(f"{name} must be {what} (a string) or None; got {_show(value)}")
        return value

    return check


def check_problem_type(problem_type: Any) -> str | None:
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise ParameterError(
            f"unknown problem_type {_show(problem_type)}; use one of {list(PROBLEM_TYPES)} or "
            "None (inferred from the target)"
        )
    return problem_type


def check_metric(metric: Any) -> Any:
    """A name, a ``Metric`` or a callable; which names fit the problem is checked with the data."""
    if metric is None or isinstance(metric, str) or callable(metric):
        return metric
    from automl.metrics import Metric

    if not isinstance(metric, Metric):
        raise ParameterError(
            f"metric must be a metric name, a callable or automl.make_metric(...); got "
            f"{_show(metric)}"
        )
    return metric


def check_storage(storage: Any) -> Any:
    if storage is None or isinstance(storage, str):
        return storage
    from optuna.storages import BaseStorage

    if not isinstance(storage, BaseStorage):
        raise ParameterError(
            "storage must be None (SQLite under studies/), ':memory:', a journal path ending in "
            f".log, a database URL or an Optuna storage object; got {_show(storage)}"
        )
    return storage


def check_cv_folds(cv_folds: Any) -> int | str | None:
    """Checked here, before the data is read; whether the data has rows enough for k folds
    is checked with it (``automl.crossval``)."""
    if cv_folds is None or cv_folds == "auto":
        return cv_folds
    if (
        isinstance(cv_folds, bool)
        or not isinstance(cv_folds, Integral)
        or cv_folds in (1,)
        or cv_folds < 0
    ):
        raise ParameterError(
            f"cv_folds must be 'auto', 0 (one holdout split) or an integer >= 2; got "
            f"{_show(cv_folds)}"
        )
    return int(cv_folds)


def check_callbacks(callbacks: Any) -> tuple[Any, ...]:
    found = names("callbacks", callbacks) or ()
    odd = [c for c in found if not callable(c)]
    if odd:
        raise ParameterError(
            f"callbacks must be callables f(study, trial) (Optuna's); got {_show(odd[0])}"
        )
    return found


def check_study_attrs(study_attrs: Any) -> dict[str, Any]:
    if study_attrs is None:
        return {}
    if not isinstance(study_attrs, Mapping) or not all(isinstance(k, str) for k in study_attrs):
        raise ParameterError(
            f"study_attrs must be a dict of name -> JSON value (the study's user attributes); "
            f"got {_show(study_attrs)}"
        )
    return dict(study_attrs)


def not_a_number(name: str, what: str) -> Callable[[Any], Any]:
    """The check of a setting that holds data (``valid``, ``sample_weight``): a lone number
    there is a mix-up with another setting."""

    def check(value: Any) -> Any:
        if isinstance(value, (bool, Real)):
            raise ParameterError(f"{name} takes {what}; got the number {_show(value)}")
        return value

    return check


def check_positive_class(positive_class: Any) -> Any:
    try:
        hash(positive_class)
    except TypeError:
        raise ParameterError(
            f"positive_class must be one class label; got {_show(positive_class)}"
        ) from None
    return positive_class


def check_task_options(
    task: str, options: Mapping[str, Any], known: Mapping[str, tuple[Any, ...] | None]
) -> None:
    """A task's ``adapt(**options)``: each option is one of ``known`` (a name and its allowed
    values, None: any value), else a ParameterError that names what the task takes."""
    unknown = sorted(set(options) - set(known))
    if unknown == ["pretrained"]:
        raise ParameterError(
            f"the {task} task has no pretrained backbones: drop pretrained= (it names backbones "
            "for the tasks that have them, listed by `automl plugins`)"
        )
    if unknown:
        takes = ", ".join(f"{name}=" for name in known) or "no options"
        hints = did_you_mean(unknown, known, "{}=")
        raise ParameterError(
            f"the {task} task takes no option(s) {unknown}{hints}; it takes {takes}"
        )
    for name, allowed in known.items():
        if allowed is not None and name in options and options[name] not in allowed:
            raise ParameterError(f"{name} must be one of {allowed}; got {_show(options[name])}")
