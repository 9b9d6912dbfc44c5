"""automl: a pruned Optuna search over neural (and classical) models, extended by plugins.

``import automl`` stays light: torch, optuna and scikit-learn load when first needed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from automl.errors import (
    AutomlError,
    DataError,
    ExportError,
    ParameterError,
    PluginError,
    SearchError,
    StorageError,
)

__version__ = "0.2.0"

# library style: silent until the application (or the automl command) configures logging
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AutoMLClassifier",
    "AutoMLRegressor",
    "AutomlError",
    "DataError",
    "DataSpec",
    "ExportError",
    "FeatureEncoder",
    "Featurizer",
    "FittedResult",
    "ModelFamily",
    "ParameterError",
    "PluginError",
    "SearchError",
    "StorageError",
    "Task",
    "TaskData",
    "fit",
    "hookimpl",
    "list_plugins",
    "load",
    "make_metric",
]

_LAZY = {
    "fit": "automl.api",
    "load": "automl.loading",
    "make_metric": "automl.metrics",
    "list_plugins": "automl.plugins",
    "hookimpl": "automl.hookspecs",
    "Task": "automl.task",
    "TaskData": "automl.task",
    "DataSpec": "automl.task",
    "FeatureEncoder": "automl.task",
    "Featurizer": "automl.task",
    "ModelFamily": "automl.task",
    "FittedResult": "automl.result",
    "AutoMLClassifier": "automl.estimators",
    "AutoMLRegressor": "automl.estimators",
}

if TYPE_CHECKING:
    from automl.api import fit
    from automl.estimators import AutoMLClassifier, AutoMLRegressor
    from automl.hookspecs import hookimpl
    from automl.loading import load
    from automl.metrics import make_metric
    from automl.plugins import list_plugins
    from automl.result import FittedResult
    from automl.task import DataSpec, FeatureEncoder, Featurizer, ModelFamily, Task, TaskData


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazy names too, so ``dir(automl)`` and tab completion show ``load``, ``fit``..."""
    return sorted(set(globals()) | set(__all__))
