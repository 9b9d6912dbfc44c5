"""Built-in text plugin: a text task (lists of strings, text columns, CSV files, class folders)
and its model families (TF-IDF + linear, fastText, CNN, GRU/LSTM, Transformer), registered
through the ``automl.plugins`` entry point like any other plugin."""

from __future__ import annotations

from automl.plugin import hookimpl


@hookimpl
def automl_register_tasks(register):
    from automl_text.task import TextTask

    register(TextTask())


@hookimpl
def automl_register_models(register):
    from automl_text.families import FAMILIES

    for family in FAMILIES:
        register(family())
