"""scikit-learn models: ``build`` returns an unfitted estimator; a forest or boosting model
grows under a deadline (``ModelFamily.growth``), other fits are planned from their expected
cost. Saved through skops (no pickle) with an allow-list of types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl import artifacts, threads
from automl.kinds._base import ModelKind, Split, object_nbytes

ESTIMATOR = "estimator.skops"


class SklearnKind(ModelKind):
    name = "sklearn"

    def train(self, family, model, params, data, metric, split, options):
        from automl.kinds.sklearn_training import train_sklearn

        if "random_state" in model.get_params(deep=False):
            # each trial its own seed, like torch's initial weights: trials of one family that
            # differ in a size only (trees 300 vs 400) then also differ in their randomness,
            # which is what an ensemble of them needs
            model.set_params(random_state=options.seed)
        problem = (data.problem_type, data.spec.n_outputs)
        x, y, w, fit_kwargs = family.fit_inputs(model, split.x_train, split.y_train, split.w_train)
        split = Split(x, y, split.x_valid, split.y_valid, w)
        with threads.one_if_busy():
            return train_sklearn(model, split, options, problem, metric, family.growth, fit_kwargs)

    def check_build(self, model) -> str | None:
        return None if hasattr(model, "fit") else "has no fit()"

    def stoppable(self, family, build) -> bool:
        from automl.kinds.sklearn_training import usable_growth

        return usable_growth(build(), family.growth) is not None

    def nbytes(self, predictor) -> int:
        return object_nbytes(predictor.estimator)

    def save(self, predictor, folder: Path) -> tuple[dict[str, Any], list[str]]:
        artifacts.save_skops(predictor.estimator, folder / ESTIMATOR)
        return {}, [ESTIMATOR]

    def load(self, family, params, spec, entry, path, device, trusted):
        from automl.predictors import SklearnPredictor

        estimator = artifacts.load_skops(path(ESTIMATOR), trusted)
        return SklearnPredictor(estimator, spec.problem_type, spec.n_outputs)

    def describe(self, family, predictor) -> tuple[str, int | None, str]:
        estimator = predictor.estimator
        count, unit = family.model_size(estimator) or _size(estimator)
        return repr(estimator), count, unit


def _size(estimator: Any) -> tuple[int | None, str]:
    """Parameters of a linear model; tree nodes of a tree model; None when unknown."""
    if hasattr(estimator, "coef_"):
        size = np.size(estimator.coef_) + np.size(getattr(estimator, "intercept_", 0))
        return int(size), "parameters (coefficients and intercepts)"
    trees = getattr(estimator, "estimators_", None)
    if trees is not None:
        flat = np.ravel(np.asarray(trees, dtype=object))
        nodes = sum(int(t.tree_.node_count) for t in flat if hasattr(t, "tree_"))
        return nodes, f"tree nodes in {len(flat)} trees"
    if hasattr(estimator, "tree_"):
        return int(estimator.tree_.node_count), "tree nodes"
    return None, ""
