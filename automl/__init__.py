"""automl: a pruned Optuna search over neural (and classical) models, extended by plugins.

``import automl`` stays light: torch, optuna and scikit-learn load when first needed.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

# Idle OpenMP threads sleep instead of spinning (read when an OpenMP runtime loads: torch's and
# scikit-learn's load after this unless the program imported them first). Two runtimes spinning
# against each other on a busy machine: the README's digits fit took 17.3 s (once 59.6 s) with
# the default policy, 11.7-11.9 s passive, at load 2.8-3.1 on the 2-core machine. A value the
# user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# ... after a short spin (GNU OpenMP: libgomp reads this count over the policy's zero). Waiting
# passive from the first moment made every parallel region a wake-up: scikit-learn's histogram
# gradient boosting, 200 iterations on 50,000 rows, took 5.3-5.6 s with 2 threads on the idle
# 2-core machine, 0.82 s with a 3,000 spin, 0.70 s with the default (300,000); 800,000 rows
# 4.6 s, 3.4 s, 3.3 s. A busy machine gets one OpenMP thread (``automl.threads``), where no
# thread waits for another.
os.environ.setdefault("GOMP_SPINCOUNT", "3000")

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
