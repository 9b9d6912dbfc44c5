"""The plugin API: everything a plugin may use from the core, in one module.

A plugin imports from here only (``from automl.plugin import Task, hookimpl, DataError``); the
rest of ``automl`` is the core's own and may change without notice. The names, by purpose:

- registration: ``hookimpl`` marks a plugin's ``automl_tasks`` / ``automl_families`` hooks.
- the contract: ``Task`` (reads one modality's input), ``TaskData`` (what ``adapt`` returns),
  ``DataSpec``, ``FeatureEncoder``, ``Featurizer``, ``ModelFamily`` (one searched model).
- input helpers: ``check_task_options`` (adapt's ``**options``), ``split_target``,
  ``unpack_pair`` (an ``(X, y)`` tuple checked: two items, no ``target=`` beside it),
  ``read_table`` / ``is_table_path`` (CSV, Parquet ... files).
- the search space and training: ``space`` (shared hyperparameters, activations, schedules),
  ``SklearnKind`` / ``SklearnPredictor`` / ``FeaturizedPredictor`` (how a scikit-learn model
  is fitted, saved and predicts), ``fitted_outcome`` (a fitted estimator's trial outcome).
- errors: ``AutomlError`` (the base), ``DataError``, ``ParameterError``, ``PluginError``,
  ``ExportError``, ``ExplainError``.
- explanations: ``Explainer``, ``Explanation``, ``ExplainBounds``, ``Drawing``,
  ``explained_class``, ``output_label``, ``sample_rows``, ``run_chunks`` (rows until a
  deadline), ``lime_rows`` / ``lime_row`` / ``LimeRow`` (the LIME loop), ``deletion_check``
  (faithfulness).
- figures: ``new_figure``, ``to_uri`` (matplotlib figures for the report, as data URIs).
- export to ONNX: ``Exporter``, ``GraphInput``, ``EdgeRows``, ``GraphBuilder``, ``chain``,
  ``model_of``, ``only_output``, ``to_all_classes``, ``sklearn_to_onnx``, ``torch_to_onnx``.
- drift: ``InputProfile`` (what a fitted model's training inputs looked like).

Importing it stays light (numpy and pandas, no torch, shap, lime or onnx: those load when first
used); ``fitted_outcome`` loads scikit-learn's side of training when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl import space
from automl.drift import InputProfile
from automl.errors import AutomlError, DataError, ExportError, ParameterError, PluginError
from automl.explain import (
    Drawing,
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    LimeRow,
    explained_class,
    lime_row,
    lime_rows,
    output_label,
    run_chunks,
    sample_rows,
)
from automl.export import EdgeRows, Exporter, GraphInput
from automl.faithfulness import deletion_check
from automl.hookspecs import hookimpl
from automl.kinds.sklearn import SklearnKind
from automl.onnx_parts import (
    GraphBuilder,
    chain,
    model_of,
    only_output,
    sklearn_to_onnx,
    to_all_classes,
    torch_to_onnx,
)
from automl.options import check_task_options
from automl.predictors import FeaturizedPredictor, SklearnPredictor
from automl.report.figures import new_figure, to_uri
from automl.tables import is_table_path, read_table
from automl.targets import split_target, unpack_pair
from automl.task import DataSpec, FeatureEncoder, Featurizer, ModelFamily, Task, TaskData

if TYPE_CHECKING:
    from automl.training import fitted_outcome

__all__ = [
    # registration and the contract
    "hookimpl",
    "Task",
    "TaskData",
    "DataSpec",
    "FeatureEncoder",
    "Featurizer",
    "ModelFamily",
    # input helpers
    "check_task_options",
    "split_target",
    "unpack_pair",
    "read_table",
    "is_table_path",
    # search space and training
    "space",
    "SklearnKind",
    "SklearnPredictor",
    "FeaturizedPredictor",
    "fitted_outcome",
    # errors
    "AutomlError",
    "DataError",
    "ParameterError",
    "PluginError",
    "ExportError",
    "ExplainError",
    # explanations and figures
    "Explainer",
    "Explanation",
    "ExplainBounds",
    "Drawing",
    "explained_class",
    "output_label",
    "sample_rows",
    "run_chunks",
    "lime_rows",
    "lime_row",
    "LimeRow",
    "deletion_check",
    "new_figure",
    "to_uri",
    # export to ONNX
    "Exporter",
    "GraphInput",
    "EdgeRows",
    "GraphBuilder",
    "chain",
    "model_of",
    "only_output",
    "to_all_classes",
    "sklearn_to_onnx",
    "torch_to_onnx",
    # drift
    "InputProfile",
]

_LAZY = ("fitted_outcome",)  # pulls in training's metrics, hence scikit-learn and scipy


def __getattr__(name: str) -> Any:
    """The names in ``_LAZY``, imported when first asked for (PEP 562)."""
    if name == "fitted_outcome":
        from automl.training import fitted_outcome

        globals()[name] = fitted_outcome
        return fitted_outcome
    raise AttributeError(f"module 'automl.plugin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
