"""The plugin API: everything a plugin may use from the core, in one module.

A plugin imports from here only (``from automl.plugin import Task, hookimpl, DataError``); the
rest of ``automl`` is the core's own and may change without notice. The names, by purpose:

- registration: ``hookimpl`` marks a plugin's ``automl_tasks`` / ``automl_families`` hooks.
- the contract: ``Task`` (reads one modality's input), ``TaskData`` (what ``adapt`` returns),
  ``DataSpec``, ``FeatureEncoder``, ``Featurizer``, ``ModelFamily`` (one searched model),
  ``RowFormat`` / ``RowField`` (what ``Task.row_format`` returns: the fields of a served row,
  for ``automl serve``'s ``/docs``).
- input helpers: ``check_task_options`` (adapt's ``**options``), ``split_target``,
  ``unpack_pair`` (an ``(X, y)`` tuple checked: two items, no ``target=`` beside it),
  ``read_table`` / ``is_table_path`` (CSV, Parquet ... files).
- the search space and training: ``space`` (shared hyperparameters, activations, schedules);
  model kinds (how a family's models train, save and load; a plugin's own kind subclasses
  one): ``ModelKind`` (the base), ``TorchKind`` / ``TorchPredictor`` / ``train_torch`` (the
  torch loop: ``train_torch(module, params, split, options, (problem_type, n_outputs),
  metric, max_epochs=...)``), ``SklearnKind`` / ``SklearnPredictor`` / ``train_sklearn``,
  ``FeaturizedPredictor``, ``fitted_outcome`` (a fitted estimator's trial outcome), what
  ``ModelKind.train`` gets and gives (``Split``, ``FitOptions``, ``TrainOutcome``), a failed
  fit's second try (``Retry``), ``kind_of`` (a trained model's kind, and the model that
  kind handles), and ``StoppedUnscored`` (raised by a kind's ``train``: the trial could not
  reach its first report in its time, so it is pruned, not started, and its family gets no
  trial with as little time).
- errors: ``AutomlError`` (the base), ``DataError``, ``ParameterError``, ``PluginError``,
  ``ExportError``, ``ExplainError``; ``check_keywords`` (unknown keywords of a call refused
  with a did-you-mean).
- explanations: ``Explainer``, ``Explanation``, ``ExplainBounds``, ``Drawing``,
  ``explained_class``, ``output_label``, ``sample_rows``, ``run_chunks`` (rows until a
  deadline), ``sized_permutation_shap`` (model-agnostic SHAP sized to a deadline),
  ``lime_rows`` / ``lime_row`` / ``LimeRow`` (the LIME loop), ``deletion_check``
  (faithfulness), ``scored_rows`` (the rows that check scores).
- figures: ``new_figure``, ``to_uri`` (matplotlib figures for the report, as data URIs),
  ``pixels_uri`` (an RGB array as one).
- export to ONNX: ``Exporter``, ``GraphInput``, ``EdgeRows``, ``GraphBuilder``, ``chain``,
  ``model_of``, ``only_output``, ``to_all_classes``, ``sklearn_to_onnx``, ``torch_to_onnx``.
- drift: ``InputProfile`` (what a fitted model's training inputs looked like).

Importing it stays light (numpy and pandas, no torch, shap, lime or onnx: those load when first
used).
"""

from __future__ import annotations

from automl import space
from automl.drift import InputProfile
from automl.errors import (
    AutomlError,
    DataError,
    ExportError,
    ParameterError,
    PluginError,
    check_keywords,
)
from automl.explain import (
    Drawing,
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    explained_class,
    output_label,
    sample_rows,
)
from automl.explain_loops import LimeRow, lime_row, lime_rows, run_chunks
from automl.export import EdgeRows, Exporter, GraphInput
from automl.faithfulness import deletion_check, scored_rows
from automl.hookspecs import hookimpl
from automl.kinds import FitOptions, ModelKind, Retry, Split
from automl.kinds import of_predictor as kind_of
from automl.kinds.sklearn import SklearnKind
from automl.kinds.sklearn_training import fitted_outcome, train_sklearn
from automl.kinds.torch import TorchKind
from automl.kinds.torch_training import train_torch
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
from automl.permutation_shap import sized_permutation_shap
from automl.predictors import FeaturizedPredictor, SklearnPredictor, TorchPredictor
from automl.report.figures import new_figure, pixels_uri, to_uri
from automl.tables import is_table_path, read_table
from automl.targets import split_target, unpack_pair
from automl.task import (
    DataSpec,
    FeatureEncoder,
    Featurizer,
    ModelFamily,
    RowField,
    RowFormat,
    Task,
    TaskData,
)
from automl.training import StoppedUnscored, TrainOutcome

__all__ = [
    # registration and the contract
    "hookimpl",
    "Task",
    "TaskData",
    "DataSpec",
    "FeatureEncoder",
    "Featurizer",
    "ModelFamily",
    "RowFormat",
    "RowField",
    # input helpers
    "check_task_options",
    "split_target",
    "unpack_pair",
    "read_table",
    "is_table_path",
    # search space and training
    "space",
    "ModelKind",
    "TorchKind",
    "TorchPredictor",
    "train_torch",
    "SklearnKind",
    "SklearnPredictor",
    "train_sklearn",
    "FeaturizedPredictor",
    "fitted_outcome",
    "Split",
    "FitOptions",
    "TrainOutcome",
    "Retry",
    "kind_of",
    "StoppedUnscored",
    # errors
    "AutomlError",
    "DataError",
    "ParameterError",
    "PluginError",
    "ExportError",
    "ExplainError",
    "check_keywords",
    # explanations and figures
    "Explainer",
    "Explanation",
    "ExplainBounds",
    "Drawing",
    "explained_class",
    "sized_permutation_shap",
    "output_label",
    "sample_rows",
    "run_chunks",
    "lime_rows",
    "lime_row",
    "LimeRow",
    "deletion_check",
    "scored_rows",
    "new_figure",
    "pixels_uri",
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
