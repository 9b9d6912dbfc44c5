"""Errors a user of automl can catch."""

from __future__ import annotations


class DataError(ValueError):
    """The input data cannot be used as given; the message names the problem and the fix."""


class PluginError(ValueError):
    """A plugin, task or model family was asked for that is not loaded."""


class SearchError(RuntimeError):
    """The search ended without any usable trial; the message summarises why trials failed."""


class ParameterError(ValueError, TypeError):
    """A keyword argument of ``fit`` (or another call) has a wrong type or value; the message
    names the keyword, what it got and what it takes. Both a ValueError and a TypeError, as
    scikit-learn's InvalidParameterError is."""


class ExportError(ValueError):
    """A model (or one of its steps) cannot be exported faithfully; the message names it. No
    file is written."""
