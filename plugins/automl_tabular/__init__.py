"""Built-in tabular plugin: loaded through the ``automl.plugins`` entry point like any other."""

from __future__ import annotations

from automl.plugin import hookimpl


@hookimpl
def automl_register_tasks(register):
    from automl_tabular.task import TabularTask

    register(TabularTask())


@hookimpl
def automl_register_models(register):
    from automl_tabular.families import FAMILIES

    for family in FAMILIES:
        register(family())
