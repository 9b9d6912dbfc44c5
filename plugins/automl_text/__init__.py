"""Built-in text plugin: a text task (lists of strings, text columns, CSV files, class folders)
and its model families (TF-IDF + linear, fastText, CNN, GRU/LSTM, Transformer, and the Hugging
Face backbones named by ``pretrained=``: ``automl_text.backbone_family``), registered
through the ``automl.plugins`` entry point like any other plugin."""

from __future__ import annotations

from automl.plugin import hookimpl


@hookimpl
def automl_register_tasks(register):
    from automl_text.task import TextTask

    register(TextTask())


@hookimpl
def automl_register_models(register):
    from automl_text.backbone_family import TextBackboneFamily
    from automl_text.families import FAMILIES

    for family in FAMILIES:
        register(family())
    register(TextBackboneFamily())  # searched only where pretrained= names backbones
