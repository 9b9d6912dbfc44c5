"""Model families for tables: a torch MLP and scikit-learn's gradient boosting, forests and
linear models, so one search ranges over neural and classical models."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.plugin import DataSpec, Featurizer, ModelFamily, ParameterError, TaskData, space
from automl_tabular import interactions
from automl_tabular.catboost_kind import CatBoostKind, estimator_class

N_JOBS = None  # joblib's: the cores fit(n_jobs=...) gives (automl.threads)
SCREENED_MIN_ROWS = 5000  # the boosting families' screened starting configurations
BLOCK_ROWS = 65_536  # rows converted at a time (float64_rows)


class MLPFamily(ModelFamily):
    """Fully connected network: depth, width, dropout, batch-norm plus the shared space."""

    name = "mlp"
    task = "tabular"
    kind = "torch"

    def suggest(self, trial, data: TaskData) -> None:
        trial.suggest_int("mlp.depth", 1, 4)
        trial.suggest_categorical("mlp.width", (64, 128, 256, 512))
        trial.suggest_float("mlp.dropout", 0.0, 0.5)
        trial.suggest_categorical("mlp.batch_norm", (True, False))
        space.suggest_activation(trial)
        space.suggest_init(trial)

    def build(self, params: dict[str, Any], spec: DataSpec):
        from torch import nn

        layers: list[nn.Module] = []
        width_in = spec.input_shape[0]
        for _ in range(params["mlp.depth"]):
            layers.append(nn.Linear(width_in, params["mlp.width"]))
            if params["mlp.batch_norm"]:
                layers.append(nn.BatchNorm1d(params["mlp.width"]))
            layers.append(space.make_activation(params["activation"]))
            if params["mlp.dropout"] > 0:
                layers.append(nn.Dropout(params["mlp.dropout"]))
            width_in = params["mlp.width"]
        layers.append(nn.Linear(width_in, spec.n_outputs))
        return nn.Sequential(*layers)

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {
            "mlp.depth": 2,
            "mlp.width": 256,
            "mlp.dropout": 0.1,
            "mlp.batch_norm": True,
            **space.default_training(
                optimizer="adamw",
                lr=1e-3,
                weight_decay=1e-5,
                batch_size=space.batch_size_for(data.n_train, {0: 64, 2001: 256}),
            ),
        }


class _TreeFamily(ModelFamily):
    """Tree ensembles may add pairwise columns of the continuous columns
    (``<family>.pair_columns``: ``"none"``, ``"differences"``, ``"both"``, sums and differences,
    or ``"screened"``, the most important of the sums, differences and ratios; searched where
    the table has 2 to 16 continuous columns; see ``automl_tabular.interactions``)."""

    default_pair_columns = "none"  # in the family's default configuration

    def suggest_pairs(self, trial, data: TaskData) -> None:
        """The pair-column choices whose columns fit the memory they may take
        (``interactions.affordable``: on 1,000,000 rows of 10 continuous columns, "none" and
        "screened")."""
        choices = interactions.affordable(data)
        if len(choices) > 1:
            trial.suggest_categorical(f"{self.name}.pair_columns", choices)

    def featurizer(self, params: dict[str, Any], data: TaskData) -> Featurizer | None:
        choice = params.get(f"{self.name}.pair_columns")
        if choice in (None, "none"):
            return None
        if choice not in interactions.CHOICES:
            raise ParameterError(
                f"{self.name}.pair_columns is {choice!r}: one of {interactions.CHOICES}"
            )
        if choice == "screened":
            regression = data.problem_type == "regression"
            return interactions.ScreenedPairs(data.features, regression=regression)
        return interactions.PairwiseFeatures(data.features, sums=choice == "both")

    def screened_start(self, data: TaskData) -> bool:
        """Whether a starting configuration on screened pair columns is worth a trial: the
        table has pair columns and ``SCREENED_MIN_ROWS`` training rows (on a few hundred
        rows the screen is noise)."""
        return "screened" in interactions.affordable(data) and data.n_train >= SCREENED_MIN_ROWS

    def default_pairs(self, data: TaskData) -> dict[str, Any]:
        """The family's default choice, or "none" where its columns would not fit
        (``interactions.affordable``)."""
        choices = interactions.affordable(data)
        if len(choices) <= 1:
            return {}
        chosen = self.default_pair_columns if self.default_pair_columns in choices else "none"
        return {f"{self.name}.pair_columns": chosen}


def float64_rows(x: Any, rows: np.ndarray | None) -> np.ndarray:
    """``x[rows]`` (all rows: None) as one C-ordered float64 array, written ``BLOCK_ROWS`` rows
    at a time: no float64 copy of the whole matrix on the way (``x`` itself, when it is one)."""
    x = np.asarray(x)
    if rows is None and x.dtype == np.float64 and x.flags.c_contiguous:
        return x
    n = x.shape[0] if rows is None else len(rows)
    out = np.empty((n, *x.shape[1:]), dtype=np.float64)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(n, start + BLOCK_ROWS)
        out[start:stop] = x[start:stop] if rows is None else x[rows[start:stop]]
    return out


class HistGradientBoostingFamily(_TreeFamily):
    """scikit-learn's histogram gradient boosting, with its own early stopping."""

    name = "hist_gb"
    fast = True  # searched by preset="fast"
    task = "tabular"
    kind = "sklearn"
    growth = ("max_iter", "paced")  # a trial stops near its deadline (train_sklearn)

    def model_size(self, model: Any) -> tuple[int, str] | None:
        """Tree nodes over the boosting iterations (one tree per class and iteration)."""
        stages = getattr(model, "_predictors", None)
        if stages is None:
            return None
        trees = [tree for stage in stages for tree in stage]
        return sum(len(tree.nodes) for tree in trees), f"tree nodes in {len(trees)} trees"

    def suggest(self, trial, data: TaskData) -> None:
        trial.suggest_float("hist_gb.learning_rate", 0.01, 0.3, log=True)
        trial.suggest_int("hist_gb.max_leaf_nodes", 8, 256, log=True)
        trial.suggest_int("hist_gb.min_samples_leaf", 2, 200, log=True)
        trial.suggest_float("hist_gb.l2_regularization", 1e-8, 10.0, log=True)
        trial.suggest_float("hist_gb.max_features", 0.3, 1.0)
        self.suggest_pairs(trial, data)

    def build(self, params: dict[str, Any], spec: DataSpec):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = (
            HistGradientBoostingRegressor
            if spec.problem_type == "regression"
            else HistGradientBoostingClassifier
        )
        return cls(
            learning_rate=params["hist_gb.learning_rate"],
            max_leaf_nodes=params["hist_gb.max_leaf_nodes"],
            min_samples_leaf=params["hist_gb.min_samples_leaf"],
            l2_regularization=params["hist_gb.l2_regularization"],
            max_features=params["hist_gb.max_features"],
            max_iter=3000,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=30,
            random_state=0,
        )

    def fit_inputs(self, model: Any, x: Any, y: np.ndarray, w: np.ndarray | None) -> tuple:
        """scikit-learn's histogram gradient boosting bins a float64 copy of its input, and
        with early stopping splits that copy again (``train_test_split``): on 800,000 rows of
        27 float32 columns, 173 MB, then 155 + 17 MB more, at every fit of a warm start. Here
        its early-stopping rows are drawn as it draws them (``validation_fraction`` of the
        rows, stratified for a classifier, its ``random_state``) and both parts are written
        once as float64, a block of rows at a time, and passed as ``X`` and ``X_val``: the
        estimator uses them as they are (``float64_rows``)."""
        fraction = model.get_params(deep=False).get("validation_fraction")
        if model.get_params(deep=False).get("early_stopping") is not True or fraction is None:
            return float64_rows(x, None), y, w, {}
        from sklearn.model_selection import train_test_split

        stratify = y if hasattr(model, "predict_proba") else None
        fit, stop = train_test_split(
            np.arange(len(y)),
            test_size=fraction,
            stratify=stratify,
            random_state=model.get_params(deep=False).get("random_state"),
        )
        fit, stop = np.sort(fit), np.sort(stop)
        extra = {"X_val": float64_rows(x, stop), "y_val": y[stop]}
        if w is not None:
            extra["sample_weight_val"] = w[stop]
        return float64_rows(x, fit), y[fit], None if w is None else w[fit], extra

    def more_defaults(self, data: TaskData) -> list[dict[str, Any]]:
        """Where the table has pair columns and ``SCREENED_MIN_ROWS`` training rows: a finer
        model (half the learning rate, twice the leaves) on the screened pair columns. 3-fold
        CV on the benchmarks' 75% splits against the default: California R² 0.8388 vs 0.8275,
        forest cover 0.8592 vs 0.8516, bank 0.9078 vs 0.9075, adult 0.8704 vs 0.8713 (15,000
        to 20,000 rows); credit-g (750 rows) 0.7440 vs 0.7720, where a screen on a few hundred
        rows is noise (see automl_tabular.interactions)."""
        if not self.screened_start(data):
            return []
        return [
            {
                "hist_gb.learning_rate": 0.05,
                "hist_gb.max_leaf_nodes": 63,
                "hist_gb.min_samples_leaf": 10,
                "hist_gb.l2_regularization": 1.0,
                "hist_gb.max_features": 1.0,
                "hist_gb.pair_columns": "screened",
            }
        ]

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {
            "hist_gb.learning_rate": 0.1,
            "hist_gb.max_leaf_nodes": 31,
            "hist_gb.min_samples_leaf": 20,
            "hist_gb.l2_regularization": 1e-8,
            "hist_gb.max_features": 1.0,
            **self.default_pairs(data),
        }


class CatBoostFamily(_TreeFamily):
    """CatBoost: gradient boosting of symmetric (oblivious) trees with ordered boosting, a
    strong default on small and mid-sized tables. Its default configuration is CatBoost's own
    (1,000 iterations at the learning rate CatBoost derives from the rows and iterations:
    0.009 on credit-g's 750 training rows). Each family's default on credit-g's 75/25 splits of
    seeds 0-7 (the probe ``studies/probe_families.py`` of commit 7243d27): test accuracy 0.7665
    on average, random forest 0.7575, extra trees 0.7525, logistic regression 0.7500, hist_gb
    0.7470."""

    name = "catboost"
    task = "tabular"
    kind = CatBoostKind()
    requires = ("catboost", "catboost")

    def suggest(self, trial, data: TaskData) -> None:
        trial.suggest_int("catboost.iterations", 200, 2000, step=100)
        if not trial.suggest_categorical("catboost.learning_rate_auto", (True, False)):
            trial.suggest_float("catboost.learning_rate", 0.01, 0.3, log=True)
        trial.suggest_int("catboost.depth", 4, 8)
        trial.suggest_float("catboost.l2_leaf_reg", 1.0, 30.0, log=True)
        self.suggest_pairs(trial, data)

    def build(self, params: dict[str, Any], spec: DataSpec):
        chosen = {}
        if not params.get("catboost.learning_rate_auto", True):
            chosen["learning_rate"] = params["catboost.learning_rate"]
        return estimator_class(spec.problem_type)(
            iterations=params["catboost.iterations"],
            depth=params["catboost.depth"],
            l2_leaf_reg=params["catboost.l2_leaf_reg"],
            random_seed=0,
            verbose=False,
            allow_writing_files=False,  # no catboost_info/ folder in the user's directory
            **chosen,
        )

    def more_defaults(self, data: TaskData) -> list[dict[str, Any]]:
        """On a regression table with pair columns and ``SCREENED_MIN_ROWS`` training rows:
        the screened pair columns at a learning rate of 0.1. 3-fold CV on California's 75%
        split: R² 0.8445 against the default's 0.8356 (hist_gb's screened configuration:
        0.8388). Not on classification tables, where it was mixed: forest cover accuracy
        0.8469 vs 0.8418 (hist_gb's screened configuration: 0.8592), adult 0.8683 vs 0.8738,
        bank 0.9077 vs 0.9082, at up to 10 s a trial on forest cover's seven classes
        (docs/benchmarks.md)."""
        if data.problem_type != "regression" or not self.screened_start(data):
            return []
        return [
            {
                **self.default_params(data),
                "catboost.learning_rate_auto": False,
                "catboost.learning_rate": 0.1,
                "catboost.pair_columns": "screened",
            }
        ]

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {
            "catboost.iterations": 1000,
            "catboost.learning_rate_auto": True,
            "catboost.depth": 6,
            "catboost.l2_leaf_reg": 3.0,
            **self.default_pairs(data),
        }


class _ForestFamily(_TreeFamily):
    task = "tabular"
    kind = "sklearn"
    _classes: tuple[str, str]

    def suggest(self, trial, data: TaskData) -> None:
        trial.suggest_int(f"{self.name}.n_estimators", 100, 500, step=50)
        trial.suggest_categorical(f"{self.name}.max_features", ("sqrt", 0.3, 0.5, 0.8, 1.0))
        trial.suggest_int(f"{self.name}.min_samples_leaf", 1, 20, log=True)
        self.suggest_pairs(trial, data)

    def build(self, params: dict[str, Any], spec: DataSpec):
        from sklearn import ensemble

        regressor, classifier = self._classes
        cls = getattr(ensemble, regressor if spec.problem_type == "regression" else classifier)
        return cls(
            n_estimators=params[f"{self.name}.n_estimators"],
            max_features=params[f"{self.name}.max_features"],
            min_samples_leaf=params[f"{self.name}.min_samples_leaf"],
            n_jobs=N_JOBS,
            random_state=0,
        )

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {
            f"{self.name}.n_estimators": 300,
            f"{self.name}.max_features": "sqrt",
            f"{self.name}.min_samples_leaf": 1,
            **self.default_pairs(data),
        }


class RandomForestFamily(_ForestFamily):
    """Random forest (bootstrap samples, best splits)."""

    name = "random_forest"
    _classes = ("RandomForestRegressor", "RandomForestClassifier")


class ExtraTreesFamily(_ForestFamily):
    """Extremely randomised trees (random splits): often the better forest on noisy tables."""

    name = "extra_trees"
    _classes = ("ExtraTreesRegressor", "ExtraTreesClassifier")
    default_pair_columns = "differences"


class LinearFamily(ModelFamily):
    """Logistic regression (classification) or ridge regression: the fast, calibrated floor."""

    name = "linear"
    fast = True  # searched by preset="fast"
    task = "tabular"
    kind = "sklearn"
    # logistic regression's lbfgs stops near a trial's deadline and continues (train_sklearn);
    # ridge regression fits once
    growth = ("max_iter", "iterations")

    def suggest(self, trial, data: TaskData) -> None:
        trial.suggest_float("linear.C", 1e-4, 1e3, log=True)

    def build(self, params: dict[str, Any], spec: DataSpec):
        return space.linear_model(spec.problem_type, params["linear.C"])

    def default_params(self, data: TaskData) -> dict[str, Any]:
        return {"linear.C": 1.0}


FAMILIES = (
    LinearFamily,
    HistGradientBoostingFamily,
    CatBoostFamily,
    ExtraTreesFamily,
    RandomForestFamily,
    MLPFamily,
)
