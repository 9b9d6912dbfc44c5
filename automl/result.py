"""The fitted result of a search: predict, score, leaderboard, and the search itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.metrics import METRICS, Metric, report_metrics
from automl.objective import NOTE, REASON

if TYPE_CHECKING:
    import optuna

    from automl.predictors import Predictor
    from automl.targets import TargetEncoder
    from automl.task import DataSpec, FeatureEncoder, ModelFamily


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


class FittedResult:
    """The model a search found, ready to predict; ``study`` is the Optuna study behind it.

    ``members`` holds the trained model(s): one (the best trial's configuration) or several with
    weights (a greedy ensemble of trials that beat the best single model on validation).
    ``model_name`` is the best trial's family (or "ensemble"), ``best_params`` the best trial's
    parameters, ``valid_score`` the validation score of what is returned, ``refit`` whether the
    model(s) were retrained on train+valid (the default) or are the best trial's own model.
    """

    def __init__(
        self,
        *,
        task: str,
        members: list[Member],
        spec: DataSpec,
        features: FeatureEncoder,
        target: TargetEncoder,
        metric: Metric,
        problem_type_reason: str,
        study: optuna.Study | None,
        best_trial: int | None,
        valid_score: float,
        refit: bool,
        timings: dict[str, float],
        summary: dict[str, Any],
        study_name: str | None = None,
        storage: str | None = None,
        holdout: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        from automl.ensemble import EnsemblePredictor

        self.task = task
        self.members = members
        best = next((m for m in members if m.trial == best_trial), members[0])
        self.family = best.family
        self.best_params = dict(best.params)
        self.epochs = best.epochs
        self.model_name = best.family.name if len(members) == 1 else "ensemble"
        self.predictor = (
            members[0].predictor
            if len(members) == 1
            else EnsemblePredictor([(m.predictor, m.weight) for m in members])
        )
        self.spec = spec
        self.features = features
        self.target = target
        self.metric = metric.name
        self.problem_type = spec.problem_type
        self.problem_type_reason = problem_type_reason
        self._study = study
        self.best_trial = best_trial
        self.valid_score = valid_score
        self.refit = refit
        self.timings = timings
        self.summary = summary
        self.study_name = study_name
        self.storage = storage
        self.holdout = holdout  # (model-ready x_valid, encoded y_valid) of this search, if known
        self.budget: dict[str, Any] = {}  # what the search was given, for reports
        # validation output of the returned configuration before any refit (None if unknown)
        self.holdout_output: np.ndarray | None = None
        self.report_path: str | None = None
        # drift monitoring (automl.drift): the task's fitted InputProfile and the reference
        # statistics of the training rows and held-out predictions; None for a task without
        self.profile: Any = None
        self.drift: Any = None
        self.holdout_raw: Any = None  # the held-out rows as predict takes them, if known

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

    def _output(self, data: Any) -> np.ndarray:
        x = self.features.transform(data)
        if x.shape[0] == 0:  # no rows (an empty DataFrame, say): no predictions, no error
            k = self.spec.n_outputs
            return np.zeros((0,) if self.problem_type == "regression" else (0, k))
        return self.predictor.output(x)

    def _labelled(self, data: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """(encoded y, model output) of labelled rows, refusing counts that differ."""
        out = self._output(data)
        y_enc = self.target.encode(y)
        if len(y_enc) != len(out):
            raise DataError(f"X has {len(out)} rows but y has {len(y_enc)}: they must match")
        if len(y_enc) == 0:
            raise DataError("no rows to score: pass at least one labelled row")
        return y_enc, out

    def predict(self, data: Any) -> np.ndarray:
        """Class labels (as given in training) or regression values."""
        out = self._output(data)
        if self.problem_type == "regression":
            return out
        return self.target.decode(out.argmax(axis=1))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        if self.problem_type == "regression":
            raise AttributeError("predict_proba is for classification; this model is a regressor")
        if not self.predictor.has_proba:
            raise AttributeError(f"model family {self.model_name!r} gives no probabilities")
        return self._output(data)

    def evaluate(self, data: Any, y: Any) -> dict[str, float]:
        """Every metric that applies to the problem type, on data the search did not see."""
        return report_metrics(self.problem_type, *self._labelled(data, y))

    def score(self, data: Any, y: Any, metric: str | None = None) -> float:
        """The search metric (or ``metric``) on labelled data."""
        if metric is not None and metric not in METRICS:
            raise DataError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
        return METRICS[metric or self.metric](*self._labelled(data, y))

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

    def leaderboard(self) -> pd.DataFrame:
        """Every trial: number, model family, key params, score, seconds, epochs, state, note."""
        study = self.study
        columns = ["trial", "model", "params", self.metric, "seconds", "epochs", "state", "note"]
        if study is None:
            return pd.DataFrame(columns=columns)
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
                    "state": t.state.name.lower(),
                    "note": t.user_attrs.get(REASON)
                    or died.get(t.number)
                    or t.user_attrs.get(NOTE, ""),
                }
            )
        board = pd.DataFrame(rows, columns=columns)
        ascending = METRICS[self.metric].direction == "minimize"
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
        """Drift of ``data`` (and metrics, given labels ``y``) against the training data: a
        ``automl.monitor.DriftReport`` (``summary``, ``write_html``, ``write_json``)."""
        from automl.monitor import monitor

        return monitor(self, data, y)

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
