"""A third-party plugin: adds a k-nearest-neighbours family to the tabular task."""

from __future__ import annotations

from automl import DataSpec, ModelFamily, hookimpl


class KNNFamily(ModelFamily):
    name = "knn"
    task = "tabular"
    kind = "sklearn"
    # what a fitted KNeighbors model holds beyond skops' trusted defaults: automl.load may
    # rebuild these for this family's saved members
    trusted_types = (
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
    )

    def suggest(self, trial, data) -> None:
        trial.suggest_int("knn.n_neighbors", 1, 30, log=True)
        trial.suggest_categorical("knn.weights", ("uniform", "distance"))

    def build(self, params, spec: DataSpec):
        from sklearn import neighbors

        cls = (
            neighbors.KNeighborsRegressor
            if spec.problem_type == "regression"
            else neighbors.KNeighborsClassifier
        )
        return cls(n_neighbors=params["knn.n_neighbors"], weights=params["knn.weights"])


@hookimpl
def automl_register_models(register):
    register(KNNFamily())
