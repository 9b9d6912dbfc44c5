"""The fitted result of a search: predict, score, leaderboard, and the search itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.metrics import Metric, report_metrics
from automl.trial_attrs import NOTE, REASON

if TYPE_CHECKING:
    import optuna

    from automl.predictors import Predictor
    from automl.targets import TargetEncoder
    from automl.task import DataSpec, FeatureEncoder, ModelFamily, Task


@dataclass
class Member:
    """One trained model of the result: the best trial's, or one of an ensemble's."""

    trial: int | None
    family: ModelFamily
    params: dict[str, Any]
    predictor: Predictor
    weight: float = 1.0
    epochs: int | None = None

    def describe(self) -> str:
        return f"{self.family.name} ({self.family.describe(self.params)})"


def combined(members: list[Member]) -> Predictor:
    """The one predictor of a result's members: the member's own, or their weighted ensemble."""
    from automl.ensemble import EnsemblePredictor

    if len(members) == 1:
        return members[0].predictor
    return EnsemblePredictor([(m.predictor, m.weight) for m in members])


@dataclass
class Found:
    """What the search found: the trained member(s), the best trial, the validation score of
    what is returned and whether it was refitted, by the search metric (a ``Metric``, or its
    name for a loaded model whose custom callable was not saved, then with its direction)."""

    members: list[Member]
    best_trial: int | None
    valid_score: float
    refit: bool
    metric: Metric | str
    metric_direction: str | None = None
    # trained models of the best trials of this process (trained on the training split),
    # within a bound: predict(X, model=n), leaderboard(X, y). Not saved with the model.
    trial_models: dict[int, Predictor] = field(default_factory=dict)
    # validation output of the returned configuration before any refit (None if unknown)
    holdout_output: np.ndarray | None = None


@dataclass
class Seen:
    """What the result knows of its data: the task's spec and encoders, why the problem type
    was chosen, the held-out rows, and the drift reference (``automl.drift``: the task's fitted
    InputProfile and the statistics of the training rows and held-out predictions; None for a
    task without)."""

    spec: DataSpec
    features: FeatureEncoder
    target: TargetEncoder
    problem_type_reason: str
    # the target column's name (``fit(df, "class")``), so that labelled rows may hold it
    # (``evaluate(test_df)``); None: the target had no name
    target_name: str | int | None = None
    holdout: tuple[np.ndarray, np.ndarray] | None = None  # model-ready x_valid, encoded y_valid
    holdout_raw: Any = None  # the same rows as given (for display), if the task kept them
    profile: Any = None
    drift: Any = None


@dataclass
class Run:
    """The run behind the result: its study (where it is kept), timings, summary and the
    budget it was given."""

    study: optuna.Study | None
    timings: dict[str, float]
    summary: dict[str, Any]
    study_name: str | None = None
    storage: str | None = None
    budget: dict[str, Any] = field(default_factory=dict)


class FittedResult:
    """The model a search found, ready to predict; ``study`` is the Optuna study behind it.

    ``members`` holds the trained model(s): one (the best trial's configuration) or several with
    weights (a greedy ensemble of trials that beat the best single model on validation).
    ``model_name`` is the best trial's family (or "ensemble"), ``best_params`` the best trial's
    parameters, ``valid_score`` the validation score of what is returned, ``refit`` whether the
    model(s) were retrained on train+valid (the default) or are the best trial's own model.
    Built from ``Found``, ``Seen`` and ``Run``, whose attributes it keeps as its own.
    """

    def __init__(
        self, task: str, found: Found, seen: Seen, run: Run, task_plugin: Task | None = None
    ) -> None:
        self.task = task
        self.task_plugin = task_plugin  # the loaded plugin's Task (None: its plugin is not)
        self._found(found)
        self.spec = seen.spec
        self.features = seen.features
        self.target = seen.target
        self.target_name = seen.target_name
        self.problem_type = seen.spec.problem_type
        self.problem_type_reason = seen.problem_type_reason
        self.holdout = seen.holdout
        self.holdout_raw = seen.holdout_raw
        self.profile: Any = seen.profile
        self.drift: Any = seen.drift
        self._study = run.study
        self.timings = run.timings
        self.summary = run.summary
        self.study_name = run.study_name
        self.storage = run.storage
        self.budget = dict(run.budget)  # what the search was given, for reports
        self.report_path: str | None = None
        self.model_path: str | None = None

    def _found(self, found: Found) -> None:
        members = found.members
        self.members = members
        best = next((m for m in members if m.trial == found.best_trial), members[0])
        self.family = best.family
        self.best_params = dict(best.params)
        self.params_trial = best.trial  # whose best_params: the best trial's, or a member's
        self.epochs = best.epochs
        self.model_name = best.family.name if len(members) == 1 else "ensemble"
        self.predictor = combined(members)
        # the search metric: its name, and the Metric (None for a loaded model whose custom
        # metric callable was not saved: score() then needs metric=)
        metric = found.metric
        self.metric = metric if isinstance(metric, str) else metric.name
        self.metric_obj = None if isinstance(metric, str) else metric
        self._direction = found.metric_direction or (
            None if self.metric_obj is None else self.metric_obj.direction
        )
        self.best_trial = found.best_trial
        self.valid_score = found.valid_score
        self.refit = found.refit
        self.holdout_output = found.holdout_output
        self.trial_models = dict(found.trial_models)

    @property
    def ensemble(self) -> list[dict[str, Any]]:
        """The members with their trial numbers and normalised weights."""
        total = sum(m.weight for m in self.members)
        return [
            {"trial": m.trial, "model": m.family.name, "weight": m.weight / total}
            for m in self.members
        ]

    def describe(self) -> str:
        """The chosen model in one line."""
        if len(self.members) == 1:
            return self.members[0].describe()
        parts = [f"{e['model']} x{e['weight']:.2f} (trial {e['trial']})" for e in self.ensemble]
        return "ensemble of " + ", ".join(parts)

    # -- prediction -------------------------------------------------------------------------
    @property
    def classes_(self) -> list[Any] | None:
        """Class labels in the column order of ``predict_proba`` (None for regression)."""
        return self.target.classes

    def _predictor(self, model: int | None) -> Predictor:
        if model is None:
            return self.predictor
        if model not in self.trial_models:
            kept = sorted(self.trial_models) or "none (a loaded model keeps none)"
            raise DataError(
                f"trial {model}'s model is not kept; kept trial models: {kept} (the best "
                "trials of this search, within a size bound)"
            )
        return self.trial_models[model]

    def _output(self, data: Any, model: int | None = None) -> np.ndarray:
        predictor = self._predictor(model)
        x = self.features.transform(self._without_target(data))
        if x.shape[0] == 0:  # no rows (an empty DataFrame, say): no predictions, no error
            k = self.spec.n_outputs
            return np.zeros((0,) if self.problem_type == "regression" else (0, k))
        return predictor.output(x)

    def _holds_target(self, data: Any) -> bool:
        name = self.target_name
        return name is not None and isinstance(data, pd.DataFrame) and name in data.columns

    def _without_target(self, data: Any) -> Any:
        """``data`` without the target column, where it is a frame that holds it (AutoGluon's
        ``predict(test_df)``): the features never include it."""
        return data.drop(columns=[self.target_name]) if self._holds_target(data) else data

    def _rows_and_labels(
        self, data: Any, y: Any = None, call: str = "this call"
    ) -> tuple[Any, Any]:
        """``(rows, labels)``: ``(data, y)``, or, with ``y`` None, the rows of a DataFrame that
        holds the target column (``fit(df, "class")``'s "class") and that column, as AutoGluon's
        ``evaluate(test_df)`` takes them. ``call`` names the caller in the error."""
        if y is not None:
            return data, y
        if self._holds_target(data):
            return data.drop(columns=[self.target_name]), data[self.target_name]
        if self.target_name is None:
            raise DataError(
                f"{call} needs the true labels: pass y ({call}(X, y)); this model was fitted "
                "from (X, y) without a named target, so it knows no target column to take "
                "from the rows"
            )
        found = (
            f"the rows' columns: {list(data.columns)[:20]}"
            if isinstance(data, pd.DataFrame)
            else f"got a {type(data).__name__}"
        )
        raise DataError(
            f"{call} needs the true labels: pass y, or a DataFrame holding the target column "
            f"{self.target_name!r}; {found}"
        )

    def _labelled(
        self, data: Any, y: Any, model: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(encoded y, model output) of labelled rows, refusing counts that differ."""
        out = self._output(data, model)
        y_enc = self.target.encode(y)
        if len(y_enc) != len(out):
            raise DataError(f"X has {len(out)} rows but y has {len(y_enc)}: they must match")
        if len(y_enc) == 0:
            raise DataError("no rows to score: pass at least one labelled row")
        return y_enc, out

    def predict(self, data: Any, model: int | None = None) -> Any:
        """Class labels (of the type given in training) or regression values; ``model``: the
        number of a kept trial whose own model predicts instead (see ``trial_models``)."""
        out = self._output(data, model)
        if self.problem_type == "regression":
            return out
        return self.target.decode(out.argmax(axis=1))

    def predict_proba(self, data: Any, model: int | None = None) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        if self.problem_type == "regression":
            raise AttributeError("predict_proba is for classification; this model is a regressor")
        if not self._predictor(model).has_proba:
            raise AttributeError(f"model family {self.model_name!r} gives no probabilities")
        return self._output(data, model)

    @property
    def metric_direction(self) -> str:
        """ "maximize" or "minimize": how the search metric ranks (kept for a loaded model whose
        custom metric callable was not saved)."""
        return self._direction or "maximize"

    @property
    def positive(self) -> int:
        """The column of the positive class of binary metrics (``fit(positive_class=...)``)."""
        return 1 if self.metric_obj is None else self.metric_obj.positive

    @property
    def positive_class(self) -> Any:
        """The class binary metrics score (``fit(positive_class=...)``, by default the minority
        class); None for multiclass and regression."""
        if self.problem_type != "binary" or not self.classes_:
            return None
        label = self.classes_[self.positive]
        return label.item() if isinstance(label, np.generic) else label

    def evaluate(self, data: Any, y: Any = None, sample_weight: Any = None) -> dict[str, float]:
        """Every metric that applies to the problem type, on data the search did not see:
        ``evaluate(X, y)``, or ``evaluate(test_df)`` with the target column in the rows."""
        y_enc, out = self._labelled(*self._rows_and_labels(data, y, "evaluate"))
        return report_metrics(
            self.problem_type, y_enc, out, positive=self.positive, sample_weight=sample_weight
        )

    def score(
        self, data: Any, y: Any = None, metric: Any = None, sample_weight: Any = None
    ) -> float:
        """The search metric (or ``metric``: a name, a scikit-learn scorer name or a callable,
        as ``fit`` takes them) on labelled data: ``(X, y)``, or rows holding the target."""
        rows, labels = self._rows_and_labels(data, y, "score")
        return self._metric(metric)(*self._labelled(rows, labels), sample_weight)

    def _metric(self, metric: Any) -> Metric:
        from automl.metrics import resolve

        if metric is None:
            if self.metric_obj is None:
                raise DataError(
                    f"this model's search metric {self.metric!r} was a callable, which a saved "
                    "model does not keep: pass metric= (a name or a callable)"
                )
            return self.metric_obj
        return resolve(metric, self.problem_type, classes=self.classes_, positive=self.positive)

    @property
    def best_config(self) -> dict[str, Any]:
        """The best trial's configuration in the family's own parameter names (no
        ``family.`` prefix), with ``model`` naming the family, as FLAML's ``best_config``."""
        own = f"{self.family.name}."
        config: dict[str, Any] = {"model": self.family.name}
        for key, value in self.best_params.items():
            if key != "model":
                config[key[len(own) :] if key.startswith(own) else key] = value
        return config

    def feature_importance(self, data: Any, y: Any = None, **options: Any) -> pd.DataFrame:
        """Permutation importance of each input feature on labelled rows (AutoGluon's
        ``feature_importance``): how much the search metric drops when that feature's values
        are shuffled, over ``n_repeats`` shuffles; the task says what a feature is. Its cost is
        bounded (tables: at most ``max_rows=1000`` rows, ``n_repeats=5``, no new repeat past
        ``seconds=10``); the table's ``attrs`` say the rows and repeats used. ``y`` None: the
        labels are the target column the rows hold."""
        rows, labels = self._rows_and_labels(data, y, "feature_importance")
        return self.plugin().feature_importance(
            self, self._without_target(rows), labels, **options
        )

    def plugin(self) -> Task:
        """The Task object of this result's task; ``PluginError`` when its plugin is not loaded
        (a model folder loaded where the plugin is not installed predicts, but cannot explain,
        export or serve)."""
        if self.task_plugin is None:
            from automl.errors import PluginError

            raise PluginError(
                f"the plugin of task {self.task!r} is not loaded: install or unblock it"
            )
        return self.task_plugin

    # -- the search -------------------------------------------------------------------------
    @property
    def study(self) -> optuna.Study | None:
        """The Optuna study; reopened from its storage for a loaded model when it is reachable."""
        if self._study is None and self.storage and self.study_name:
            import optuna

            try:
                self._study = optuna.load_study(study_name=self.study_name, storage=self.storage)
            except (KeyError, ValueError, ImportError):
                return None
        return self._study

    def leaderboard(self, data: Any = None, y: Any = None) -> pd.DataFrame:
        """Every trial: number, model family, key params, score, seconds, epochs, the training
        rows it was fitted on (``rows``: fewer than the training split's on a row rung's
        subsample, ``automl.row_rungs``; a fold's under cross-validation), state, note;
        given labelled rows, also ``score_test``: the search metric of each kept trial model
        (``trial_models``) on them (AutoGluon's ``leaderboard(test_data)``)."""
        if data is not None:
            data, y = self._rows_and_labels(data, y, "leaderboard")
        study = self.study
        columns = [
            "trial",
            "model",
            "params",
            self.metric,
            "seconds",
            "epochs",
            "rows",
            "state",
            "note",
        ]
        if study is None:
            return pd.DataFrame(columns=columns)
        tested = {}
        if data is not None:
            metric = self._metric(None)
            for number in self.trial_models:
                tested[number] = metric(*self._labelled(data, y, number))
        from automl.orphans import died_notes

        rows = []
        trials = study.get_trials(deepcopy=False)
        died = died_notes(trials)
        for t in trials:
            if t.state.name == "WAITING":
                continue  # queued (a family's default configuration), not run yet
            seconds = t.duration.total_seconds() if t.duration else None
            rows.append(
                {
                    "trial": t.number,
                    "model": t.params.get("model"),
                    "params": t.user_attrs.get("summary", ""),
                    self.metric: t.value,
                    "seconds": None if seconds is None else round(seconds, 2),
                    "epochs": t.user_attrs.get("epochs_run"),
                    "rows": t.user_attrs.get("rows_trained"),
                    "state": t.state.name.lower(),
                    "note": t.user_attrs.get(REASON)
                    or died.get(t.number)
                    or t.user_attrs.get(NOTE, ""),
                }
            )
        board = pd.DataFrame(rows, columns=columns)
        if data is not None:
            board.insert(4, "score_test", board["trial"].map(tested))
        ascending = self.metric_direction == "minimize"
        board["_order"] = board["state"].map({"complete": 0, "pruned": 1}).fillna(2)
        board = board.sort_values(["_order", self.metric], ascending=[True, ascending])
        return board.drop(columns="_order").reset_index(drop=True)

    def __repr__(self) -> str:
        return (
            f"FittedResult(task={self.task!r}, problem_type={self.problem_type!r}, "
            f"model={self.model_name!r}, {self.metric}={self.valid_score:.4f} on validation)"
        )

    # -- explanations -----------------------------------------------------------------------
    def report(self, path: str = "report.html", **options: Any) -> str:
        """Write the self-contained HTML report (see ``automl.report.write_report``)."""
        from automl.report import write_report

        return write_report(self, path, **options)

    def explain(self, data: Any = None, method: str = "shap", **options: Any) -> Any:
        """SHAP or LIME numbers for raw rows (default: the validation rows); see
        ``automl.explain.explain``."""
        from automl.explain import explain

        return explain(self, data, method, **options)

    # -- deployment ---------------------------------------------------------------------------
    def monitor(self, data: Any, y: Any = None) -> Any:
        """Drift of ``data`` (and metrics, given labels ``y`` or rows holding the target
        column) against the training data: a ``automl.monitor.DriftReport`` (``summary``,
        ``write_html``, ``write_json``)."""
        from automl.monitor import monitor

        if y is None and self._holds_target(data):
            data, y = self._rows_and_labels(data)
        return monitor(self, self._without_target(data), y)

    def export(self, path: str, format: str = "onnx", data: Any = None) -> dict[str, Any]:
        """Write the predict path as one ONNX graph (or, for torch models, TorchScript),
        checked against ``predict_proba`` / ``predict`` on the held-out rows (or ``data``);
        returns the export's metadata (see ``automl.export.export``)."""
        from automl.export import export

        return export(self, path, format=format, data=data)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Write the model folder (see ``automl.persistence``); returns its path."""
        from automl.persistence import save_result

        return save_result(self, path)
