"""The plugin contract: a Task turns raw input into TaskData; a ModelFamily searches and builds.

The core knows nothing of images, text or tables: everything modality-specific lives behind these
two abstract classes, which plugins register through the hooks in ``automl.hookspecs``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from automl.errors import PluginError
from automl.targets import PROBLEM_TYPES, Split

if TYPE_CHECKING:
    import optuna

    from automl.drift import InputProfile
    from automl.explain import Explainer
    from automl.export import Exporter
    from automl.kinds import ModelKind
    from automl.targets import TargetEncoder


@dataclass
class DataSpec:
    """What a model builder needs to know of the data; JSON-serialisable so a saved model rebuilds.

    ``input_shape`` is the shape of one example as the model receives it, ``n_outputs`` the number
    of classes (classification) or 1 (regression); ``extra`` holds plugin-specific facts.
    """

    input_shape: tuple[int, ...]
    n_outputs: int
    problem_type: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "n_outputs": self.n_outputs,
            "problem_type": self.problem_type,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> DataSpec:
        return cls(tuple(obj["input_shape"]), obj["n_outputs"], obj["problem_type"], obj["extra"])


JSON_TYPES = ("number", "integer", "string", "boolean")


@dataclass(frozen=True)
class RowField:
    """One field of a row that ``automl serve`` reads, in JSON terms, for its OpenAPI docs:
    ``type`` one of JSON_TYPES (None: any JSON value), ``nullable`` when null is read (as
    missing), ``format`` JSON Schema's (``"date"``, ``"byte"`` for base64), ``examples`` values
    shown in ``/docs`` (the first one goes into the example request)."""

    name: str
    type: str | None
    description: str = ""
    nullable: bool = False
    format: str | None = None
    examples: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in JSON_TYPES:
            raise PluginError(
                f"RowField {self.name!r} has the type {self.type!r}: use one of {JSON_TYPES} "
                "or None for any JSON value"
            )


@dataclass(frozen=True)
class RowFormat:
    """How one row of a ``POST /predict`` body ``{"rows": [...]}`` looks (``Task.row_format``):
    a JSON object of ``fields`` when ``record``, else the value of its one field (a string of
    text, a base64 image); ``by_columns``: ``{"columns": {field: [values]}}`` is read too."""

    fields: tuple[RowField, ...]
    record: bool = True
    by_columns: bool = False

    def __post_init__(self) -> None:
        if not self.fields:
            raise PluginError("a RowFormat needs at least one RowField")
        if not self.record and (len(self.fields) != 1 or self.by_columns):
            raise PluginError(
                "a RowFormat whose rows are plain values (record=False) has exactly one field "
                f"and no by_columns form; got {len(self.fields)} field(s), "
                f"by_columns={self.by_columns}"
            )
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise PluginError(f"the RowFormat's field names repeat: {names}")


class FeatureEncoder(ABC):
    """Turns raw predict-time input into model-ready features; fitted on the training split."""

    @abstractmethod
    def transform(self, raw: Any) -> np.ndarray:
        """Validate raw input (raise DataError naming what is wrong) and return model input."""

    def describe_missing(self) -> dict[str, str]:
        """How the missing values of each input column are handled, for reports ({}: unknown)."""
        return {}

    def get_state(self) -> dict[str, Any] | None:
        """This fitted encoder as JSON values and numpy arrays, so a model folder holds no
        pickle (``from_state`` rebuilds it). None (the default): it is saved with skops, and
        ``automl.load`` refuses it unless the caller trusts its type (``trusted=[...]``)."""
        return None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureEncoder:
        """Rebuild the encoder from what ``get_state`` returned."""
        raise NotImplementedError(f"{cls.__name__} defines get_state but not from_state")

    def readable(self, raw: Any) -> Any:
        """Raw rows as a person reads them, a DataFrame column per input feature (for the
        values shown beside explanations), or None where the model-ready rows read as well."""
        return None


class Featurizer(ABC):
    """A family's own input transform, fitted on the rows its model trains on (e.g. a tokenizer
    whose vocabulary size the trial chose). Saved with the model: as its ``get_state()``
    (JSON values and arrays, no pickle), or else with skops (see ``FeatureEncoder.get_state``)."""

    def get_state(self) -> dict[str, Any] | None:
        """See ``FeatureEncoder.get_state``."""
        return None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Featurizer:
        """Rebuild the featurizer from what ``get_state`` returned."""
        raise NotImplementedError(f"{cls.__name__} defines get_state but not from_state")

    @abstractmethod
    def fit(self, x: Any, y: np.ndarray) -> Featurizer:
        """Learn from the training rows only."""

    @abstractmethod
    def transform(self, x: Any) -> Any:
        """Task features in, this family's model input out."""

    def spec(self, spec: DataSpec) -> DataSpec:
        """The data spec the model is built for (e.g. with the vocabulary size in ``extra``)."""
        return spec


@dataclass
class TaskData:
    """A validated, split, model-ready dataset: what a Task's ``adapt`` returns."""

    problem_type: str
    problem_type_reason: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    spec: DataSpec
    features: FeatureEncoder
    target: TargetEncoder
    summary: dict[str, Any] = field(default_factory=dict)
    max_epochs: int = 50
    # a group id per row (train rows, then valid rows) that must stay on one side of every
    # split: cross-validation folds keep groups whole, as the task's own split did (or None)
    groups: np.ndarray | None = None
    # positions of the train and valid rows in the input as the task read it (what
    # ``automl.targets.split_target`` returns): the core takes per-row inputs such as
    # ``sample_weight`` through them; None when the task does not say
    train_rows: np.ndarray | None = None
    valid_rows: np.ndarray | None = None
    # per-row weights of the train and valid rows (``fit(sample_weight=...)``), or None
    w_train: np.ndarray | None = None
    w_valid: np.ndarray | None = None
    # how training weighs classes (``fit(class_weight=...)``; an ``automl.imbalance.ClassWeight``
    # set by the core after ``adapt``): None weighs none
    class_weight: Any = None
    # whether the validation rows were the caller's own (``fit(valid=...)``): no split made
    given_valid: bool = False
    # drift monitoring: the task's InputProfile fitted on the training rows, and those rows'
    # statistics as new rows would show them (its measure(); text cross-fits the
    # out-of-vocabulary rate), from which the core builds the reference kept with the model
    profile: InputProfile | None = None
    profile_rows: Any = None
    # the validation rows as given, as ``predict`` takes them, when x_valid is not that (a
    # table's raw DataFrame rows): what reports show beside explanations
    # (FeatureEncoder.readable) and export checks run on
    raw_valid: Any = None
    # families this data wants tried first, in this order (the backbones a caller named with
    # pretrained=): their default configurations are the study's first trials
    first_families: tuple[str, ...] = ()
    # rows as a fidelity (``automl.row_rungs``): the rows of the first rung on which trials
    # start, where the training split is large enough for two rungs; None: all rows
    row_rungs_from: int | None = None

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_valid(self) -> int:
        return len(self.y_valid)

    @classmethod
    def from_split(
        cls,
        split: Split,
        x_train: Any,
        x_valid: Any,
        *,
        input_shape: tuple[int, ...],
        features: FeatureEncoder,
        summary: dict[str, Any] | None = None,
        spec_extra: dict[str, Any] | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> TaskData:
        """The TaskData of a task's model-ready rows split as ``split`` (``split_target``) split
        their labels: ``x_train`` and ``x_valid`` are the rows at ``train`` and ``valid``; the
        labels, target encoder, data spec (``input_shape`` and ``spec_extra`` of one example),
        row positions, groups and the caller's validation rows come from the split.
        ``summary`` (the task's own facts) gains the row counts, the class counts and the
        split's note; ``reason``, when given, replaces the split's why-this-problem-type;
        ``fields`` are further TaskData fields (``max_epochs``, ``profile`` ...)."""
        summary = dict(summary or {})
        summary.update(rows=len(split.y), train_rows=len(split.train), valid_rows=len(split.valid))
        if split.problem_type != "regression":
            summary["class_counts"] = split.class_counts()
        if split.note:
            summary["notes"] = [*summary.get("notes", []), split.note]
        groups = None
        if split.groups is not None:  # train rows, then valid rows, as x_train and x_valid
            groups = np.concatenate([split.groups[split.train], split.groups[split.valid]])
        return cls(
            problem_type=split.problem_type,
            problem_type_reason=split.reason if reason is None else reason,
            x_train=x_train,
            y_train=split.y[split.train],
            x_valid=x_valid,
            y_valid=split.y[split.valid],
            spec=DataSpec(input_shape, split.n_outputs, split.problem_type, spec_extra or {}),
            features=features,
            target=split.encoder,
            summary=summary,
            groups=groups,
            train_rows=split.train,
            valid_rows=split.valid,
            given_valid=bool(split.n_given),
            **fields,
        )


class Task(ABC):
    """A kind of input a plugin handles (tables, images, text ...)."""

    name: ClassVar[str]
    # fit(cv_folds="auto") cross-validates data sets of at most this many rows (0: never)
    cv_max_rows: ClassVar[int] = 0

    @abstractmethod
    def accepts(self, dataset: Any, target: Any = None) -> float:
        """How well this task fits the raw input, on one scale shared by every plugin (the
        highest score wins): 1.0 an input only this task reads (its own container type), 0.95
        an input plainly of this task's kind (image arrays, a table whose only feature is
        text), 0.9 a table with its target (tables), 0.8 a file path the task reads, 0.5-0.6 a
        plausible but ambiguous input, 0 not at all."""

    @abstractmethod
    def adapt(
        self,
        dataset: Any,
        target: Any = None,
        *,
        problem_type: str | None = None,
        valid_fraction: float = 0.2,
        seed: int = 0,
        **options: Any,
    ) -> TaskData:
        """Validate and split the input; raise DataError before any training if it is unusable."""

    def describe_input(self) -> str:
        """One line for error messages: which inputs this task accepts."""
        return self.name

    def read_path(self, path: Path, split: str = "train") -> Any:
        """Read a data path given to ``automl run`` / a study file / ``automl predict`` that this
        task knows how to read (the vision task: a folder of MNIST-style IDX files) into what
        ``adapt`` takes, for ``split`` ("train" or "test"); None (the default): not such a
        path. Tables (CSV, TSV, Parquet) and ``.npz`` arrays are read by the core."""
        return None

    def explainer(self) -> Explainer | None:
        """How this modality's models are explained (SHAP, LIME) in reports and
        ``automl.explain``; None: the task offers no explanations (the report says so)."""
        return None

    def feature_importance(self, result: Any, data: Any, y: Any, **options: Any) -> Any:
        """Permutation importance of this task's input features on labelled raw rows (a
        DataFrame indexed by feature: importance, stddev, n), for ``result.feature_importance``;
        a task without input features of its own (pixels, tokens) says so. Its cost should be
        bounded (rows, repeats, a time allowance) and said in the table's ``attrs``."""
        from automl.errors import DataError

        raise DataError(
            f"task {self.name!r} has no permutation importance of its own inputs; use "
            "result.explain(...) for attributions"
        )

    def parse_rows(self, payload: Any, features: FeatureEncoder) -> Any:
        """The rows of a JSON request body (``automl serve``'s ``POST /predict``) as
        ``predict`` takes them; raise DataError naming what is wrong. The default: this task
        takes no JSON rows."""
        from automl.errors import DataError

        raise DataError(f"the {self.name} task does not read rows from JSON requests")

    def describe_features(self, features: FeatureEncoder) -> list[dict[str, Any]]:
        """The model's inputs with their types (``GET /metadata``): name, type, detail."""
        return []

    def row_format(self, features: FeatureEncoder) -> RowFormat | None:
        """What one row of a ``POST /predict`` body holds, for ``automl serve``'s ``/docs``
        and ``/openapi.json`` (``parse_rows`` still reads and checks the rows). None (the
        default): the body is documented as a JSON object."""
        return None

    def exporter(self) -> Exporter | None:
        """How this modality's models become one ONNX graph (``automl.export``); None: the
        task's models cannot be exported."""
        return None


class ModelFamily(ABC):
    """One searchable kind of model for a task: its own conditional space and a builder.

    ``kind`` is "torch" (``build`` returns an ``nn.Module`` trained by ``automl.kinds.torch``),
    "sklearn" (``build`` returns an unfitted scikit-learn estimator), or a plugin's own
    ``automl.kinds.ModelKind`` object (how its models train, save, load). Parameter names a family
    suggests are prefixed with its name (``"mlp.depth"``) so families never clash, except the
    core's shared space (``automl.space.SHARED_PARAMS``) and the ``shared_prefixes`` a plugin
    declares; torch families also receive the shared training space (optimizer, lr, batch size
    ...) from ``automl.space``.
    """

    name: ClassVar[str]
    task: ClassVar[str]
    kind: ClassVar[str | ModelKind]
    problem_types: ClassVar[tuple[str, ...]] = PROBLEM_TYPES
    # fit(cv_folds="auto") cross-validates this family's trials on data sets of at most this
    # many rows even where its task does not (a fast classical family beside slow networks)
    cv_max_rows: ClassVar[int] = 0
    # a family that trains in seconds on typical data: searched by preset="fast"
    fast: ClassVar[bool] = False
    # types beyond skops' defaults that this family's fitted estimators hold (e.g. a KD-tree),
    # which ``automl.load`` may rebuild for this family's members ("module.QualName")
    trusted_types: ClassVar[tuple[str, ...]] = ()
    # prefixes of parameters a plugin's families share on purpose (vision's "aug." for the
    # augmentation every image family searches), beside the core's shared training space
    shared_prefixes: ClassVar[tuple[str, ...]] = ()
    # how a fit of this family's scikit-learn estimator is continued (warm_start) into the very
    # model one fit gives, so that a trial stops near a deadline keeping what it grew:
    # ("n_estimators", "chunks") grows trees 50 at a time; ("max_iter", "paced") times 50
    # boosting iterations, then continues once as far as that pace reaches. None: guessed
    # (an estimator with n_estimators and warm_start grows in chunks; others fit once)
    growth: ClassVar[tuple[str, str] | None] = None
    # (module, extra): a package this family needs that is an optional extra of its
    # distribution; without it the family is left out of a default search (with a warning) and
    # naming it in ``models=`` is an error that says what to install
    requires: ClassVar[tuple[str, str] | None] = None

    def missing(self) -> str | None:
        """What to install before this family can run, or None when it can."""
        if self.requires is None:
            return None
        import importlib.util

        module, extra = self.requires
        if importlib.util.find_spec(module) is not None:
            return None
        return (
            f"the model family {self.name!r} needs the package {module!r}: "
            f"pip install 'automl-nn[{extra}]'"
        )

    def supports(self, data: TaskData) -> bool:
        """Whether this family can be searched on this data (e.g. by problem type or size)."""
        return data.problem_type in self.problem_types

    def why_unsupported(self, data: TaskData) -> str:
        """Why ``supports(data)`` is False, for the error when ``models=`` names this family."""
        if data.problem_type not in self.problem_types:
            return (
                f"{self.name} does not take {data.problem_type} problems (it takes "
                f"{', '.join(self.problem_types)})"
            )
        return f"{self.name} does not support this data"

    @abstractmethod
    def suggest(self, trial: optuna.Trial, data: TaskData) -> None:
        """Sample this family's own hyper-parameters from the trial (``trial.suggest_*``)."""

    @abstractmethod
    def build(self, params: dict[str, Any], spec: DataSpec) -> Any:
        """An untrained model for ``trial.params`` (the shared training ones included)."""

    def featurizer(self, params: dict[str, Any], data: TaskData) -> Featurizer | None:
        """An unfitted input transform of this family's own, or None (use the task features)."""
        return None

    def fit_inputs(
        self, model: Any, x: Any, y: np.ndarray, w: np.ndarray | None
    ) -> tuple[Any, np.ndarray, np.ndarray | None, dict[str, Any]]:
        """The rows a scikit-learn ``model.fit`` of this family takes (kind "sklearn"): its
        ``X``, ``y``, ``sample_weight`` and further ``fit`` keywords. By default the rows as
        given (the task's shared matrix, no copy); a family whose estimator copies its input
        (to float64, say, and again for its own early-stopping split) hands it that input
        once, already in the form it keeps (``automl_tabular``'s ``hist_gb``)."""
        return x, y, w, {}

    def default_params(self, data: TaskData) -> dict[str, Any] | None:
        """A strong starting configuration (this family's params, prefixed), tried first."""
        return None

    def more_defaults(self, data: TaskData) -> list[dict[str, Any]]:
        """Further starting configurations, tried right after ``default_params`` (when the
        search has no ``n_trials`` below the number of starting configurations)."""
        return []

    def model_size(self, model: Any) -> tuple[int, str] | None:
        """The size of a trained model of this family for the report, as (count, what is
        counted), e.g. ``(5120, "tree nodes in 40 trees")``; None: the core counts torch
        parameters, linear coefficients and scikit-learn trees (``tree_`` / ``estimators_``)."""
        return None

    def describe(self, params: dict[str, Any]) -> str:
        """A short human summary of the architecture for leaderboards and reports."""
        own = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(self.name + ".")}
        return ", ".join(f"{k}={_short(v)}" for k, v in own.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
