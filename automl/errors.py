"""Errors a user of automl can catch."""

from __future__ import annotations


class DataError(ValueError):
    """The input data cannot be used as given; the message names the problem and the fix."""


class PluginError(ValueError):
    """A plugin, task or model family was asked for that is not loaded."""


class SearchError(RuntimeError):
    """The search ended without any usable trial; the message summarises why trials failed."""
