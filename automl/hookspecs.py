"""Every hook a plugin can implement. Hooks only ever change by gaining arguments."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from automl.task import ModelFamily, Task

hookspec = pluggy.HookspecMarker("automl")
hookimpl = pluggy.HookimplMarker("automl")


@hookspec
def automl_register_tasks(register: Callable[[Task], None]) -> None:
    """Register Task objects: what input a plugin accepts and how it becomes TaskData."""


@hookspec
def automl_register_models(register: Callable[[ModelFamily], None]) -> None:
    """Register ModelFamily objects (a search space and a builder) for a task by its name."""
