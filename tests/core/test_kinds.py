"""Model kinds are strategy objects: the built-in ones by name, and a plugin's own ModelKind
(here a nearest-centroid model saved as .npz) searched, saved, loaded and described without a
change to the core."""

from __future__ import annotations

import time

import numpy as np
import pytest

import automl
from automl import kinds
from automl.errors import PluginError
from automl.kinds import ModelKind
from automl.predictors import Predictor
from automl.training import TrainOutcome


class CentroidPredictor(Predictor):
    kind = "centroid"

    def __init__(self, centroids, temperature, problem_type, n_outputs):
        super().__init__(problem_type, n_outputs)
        self.centroids, self.temperature = centroids, temperature

    def output(self, x):
        d = ((np.asarray(x)[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        z = -d / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


class CentroidKind(ModelKind):
    name = "centroid"

    def train(self, family, model, params, data, metric, split, options):
        started = time.perf_counter()
        x, y = np.asarray(split.x_train, dtype=np.float64), split.y_train
        n = data.spec.n_outputs
        centroids = np.stack([x[y == k].mean(axis=0) for k in range(n)])
        predictor = CentroidPredictor(centroids, model["temperature"], data.problem_type, n)
        score = float("nan")
        if split.x_valid is not None:
            score = metric(split.y_valid, predictor.output(split.x_valid))
        seconds = time.perf_counter() - started
        return TrainOutcome(predictor, score, 1, 1, "fit", seconds)

    def check_build(self, model):
        return None if isinstance(model, dict) else "is not a dict of settings"

    def stoppable(self, family, build):
        return False  # one pass, which reads no clock: planned from its cost

    def nbytes(self, predictor):
        return predictor.centroids.nbytes

    def save(self, predictor, folder):
        np.savez(folder / "centroids.npz", centroids=predictor.centroids)
        return {"temperature": predictor.temperature}, ["centroids.npz"]

    def load(self, family, params, spec, entry, path, device, trusted):
        with np.load(path("centroids.npz"), allow_pickle=False) as saved:
            centroids = saved["centroids"]
        return CentroidPredictor(
            centroids, entry["temperature"], spec.problem_type, spec.n_outputs
        )

    def describe(self, family, predictor):
        return f"{len(predictor.centroids)} class centroids", predictor.centroids.size, "numbers"


class CentroidFamily(automl.ModelFamily):
    name, task, kind = "centroid", "tabular", CentroidKind()
    problem_types = ("binary", "multiclass")

    def suggest(self, trial, data):
        trial.suggest_float("centroid.temperature", 0.1, 10.0, log=True)

    def build(self, params, spec):
        return {"temperature": params["centroid.temperature"]}


class CentroidPlugin:
    @automl.hookimpl
    def automl_register_models(self, register):
        register(CentroidFamily())


def test_built_in_kinds_by_name_and_an_unknown_one_refused():
    assert kinds.get("torch").name == "torch" and kinds.get("sklearn").name == "sklearn"
    with pytest.raises(PluginError, match="unknown model kind 'xgb'"):
        kinds.get("xgb")


def test_a_plugin_kind_may_not_take_a_built_in_name():
    class Shadow(CentroidKind):
        name = "sklearn"

    class ShadowFamily(CentroidFamily):
        name, kind = "shadow", Shadow()

    with pytest.raises(PluginError, match="takes the name 'sklearn' of a built-in kind"):
        kinds.of(ShadowFamily())
    assert type(kinds.get("sklearn")).__name__ == "SklearnKind"


def test_a_plugin_kind_is_searched_saved_loaded_and_described(iris_frame, tmp_path):
    plugins = ["tabular", CentroidPlugin()]
    result = automl.fit(
        iris_frame,
        "target",
        models=["centroid"],
        plugins=plugins,
        n_trials=3,
        storage=":memory:",
        verbose=False,
        report=False,
    )
    assert {m.family.name for m in result.members} == {"centroid"}
    assert (result.predict(iris_frame) == iris_frame["target"]).mean() > 0.85
    path = result.save(str(tmp_path / "model"))
    loaded = automl.load(path, plugins=plugins)
    assert np.allclose(loaded.predict_proba(iris_frame), result.predict_proba(iris_frame))
    from automl.report.sections.model import _architecture

    member = loaded.members[0]
    part = _architecture(member.predictor, member.family, member.params)
    assert part["kind"] == "centroid" and part["summary"] == "3 class centroids"


def test_the_conformance_kit_accepts_a_plugin_kind(iris_frame):
    from automl.plugins import load_registry
    from automl.testing import check_family, check_kind

    data = load_registry(["tabular"]).tasks["tabular"].adapt(iris_frame, "target", seed=0)
    assert check_family(CentroidFamily(), data) == ["suggest", "build", "train"]
    assert check_kind(CentroidFamily.kind, CentroidFamily(), data) == [
        "name",
        "build",
        "train",
        "refit",
        "to host",
        "save and load",
        "describe",
    ]
