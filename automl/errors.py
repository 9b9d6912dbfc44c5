"""Errors a user of automl can catch.

Every error automl raises on purpose is an ``AutomlError``; each also keeps the builtin base it
always had (ValueError, TypeError, RuntimeError), so ``except ValueError`` code keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class AutomlError(Exception):
    """The base of every error automl raises on purpose: ``except automl.AutomlError`` catches
    what automl refuses, and lets bugs (a KeyError, say) through."""


class DataError(AutomlError, ValueError):
    """The input data (a table, images, texts, a file to read, a saved model folder, a request
    body) cannot be used as given; the message names the problem and the fix."""


class StorageError(DataError):
    """A study storage or a study in it cannot be used: the storage cannot be opened or written,
    the study is missing, locked by another process, not made by automl, or was started with
    other settings or data than a call resuming it. A DataError too, as it was before it had a
    class of its own."""


class StudyMismatch(StorageError):
    """A stored study refuses to be resumed by a call of other settings or data than it started
    with (the message names them); the command line adds how to start a new study instead."""


class PluginError(AutomlError, ValueError):
    """A plugin, task or model family was asked for that is not loaded."""


class SearchError(AutomlError, RuntimeError):
    """The search ended without any usable trial; the message summarises why trials failed."""


class ParameterError(AutomlError, ValueError, TypeError):
    """A keyword argument of ``fit`` (or another call, or a command-line option) has a wrong type
    or value; the message names the keyword, what it got and what it takes. Both a ValueError and
    a TypeError, as scikit-learn's InvalidParameterError is."""


class ExportError(AutomlError, ValueError):
    """A model (or one of its steps) cannot be exported faithfully; the message names it. No
    file is written."""


def close_spelling(word: str, known: Iterable[str], *, cutoff: float = 0.75) -> str | None:
    """The name in ``known`` that ``word`` most likely misspells (``time_budjet``:
    ``time_budget``), or None. Case and ``-`` / ``_`` do not count, so a command-line spelling
    (``time-budget``) finds a keyword's."""
    names = {_plain_name(k): k for k in known}
    found = difflib.get_close_matches(_plain_name(word), list(names), n=1, cutoff=cutoff)
    return names[found[0]] if found else None


def did_you_mean(unknown: Iterable[str], known: Iterable[str], spelling: str = "{!r}") -> str:
    """``"; 'x': did you mean 'y'?"`` for each name of ``unknown`` close to one of ``known``
    (each written as ``spelling`` formats it), to end an unknown-name error with; "" if none."""
    known = list(known)
    hints = ((k, close_spelling(k, known)) for k in unknown)
    return "".join(
        f"; {spelling.format(k)}: did you mean {spelling.format(c)}?" for k, c in hints if c
    )


def check_keywords(fn: Any, options: Iterable[str], what: str) -> None:
    """Refuse keywords that ``fn`` does not take as keyword-only arguments, before any work:
    a ``ParameterError`` naming them, the closest spelling of each (``explain_budget``:
    ``explain_budget_s``) and what ``what`` takes."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    known = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ParameterError(
            f"{what} takes no option(s) {unknown}{did_you_mean(unknown, known, '{}=')}; it "
            f"takes: {', '.join(k + '=' for k in known)}"
        )


def _plain_name(word: str) -> str:
    return word.lower().replace("-", "_").lstrip("_")
