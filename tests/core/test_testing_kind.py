"""check_kind, the conformance kit's contract for a model kind: the built-in kinds and the tabular
plugin's CatBoost kind pass it, and kinds broken in one way each fail it with that way named."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from automl import kinds
from automl.kinds.sklearn import SklearnKind
from automl.plugins import load_registry
from automl.testing import check_kind


@pytest.fixture(scope="module")
def registry():
    return load_registry(["tabular"])


@pytest.fixture(scope="module")
def data(registry):
    task = registry.tasks["tabular"]
    iris = load_iris(as_frame=True).frame
    diabetes = load_diabetes(as_frame=True).frame.iloc[:200]
    return {
        "multiclass": task.adapt(iris, "target", valid_fraction=0.25, seed=0),
        "regression": task.adapt(diabetes, "target", valid_fraction=0.25, seed=0),
    }


@pytest.mark.parametrize(
    ("family", "problem", "checks"),
    [
        ("linear", "multiclass", ["train", "refit", "deadline", "to host"]),
        ("hist_gb", "regression", ["train", "refit", "deadline", "to host"]),
        ("mlp", "regression", ["train", "refit", "deadline", "to host"]),
        ("mlp", "multiclass", ["train", "refit", "deadline", "to host"]),
        ("catboost", "regression", ["train", "refit", "deadline", "to host"]),
        ("catboost", "multiclass", ["train", "refit", "deadline", "to host"]),
    ],
)
def test_builtin_and_plugin_kinds_pass_check_kind(registry, data, family, problem, checks):
    model = registry.models[family]
    done = check_kind(kinds.of(model), model, data[problem])
    assert done == ["name", "build", *checks, "save and load", "describe"]


class _Plain(SklearnKind):
    """A plugin's own kind done right: scikit-learn models, saved through skops, whose trained
    models name it."""

    name = "plain"

    def train(self, family, model, params, data, metric, split, options):
        outcome = super().train(family, model, params, data, metric, split, options)
        outcome.predictor.kind = self.name
        return outcome

    def load(self, family, params, spec, entry, path, device, trusted):
        predictor = super().load(family, params, spec, entry, path, device, trusted)
        predictor.kind = self.name
        return predictor


class _LoadsOther(_Plain):
    name = "loads_other"

    def load(self, *args):
        predictor = super().load(*args)
        predictor.estimator.intercept_ = predictor.estimator.intercept_ + 1e-3
        return predictor


class _WrongShape(_Plain):
    name = "wrong_shape"

    def train(self, *args):
        outcome = super().train(*args)
        outcome.predictor.output = lambda x, p=outcome.predictor: type(p).output(p, x)[:, None]
        return outcome


class _Pickles(_Plain):
    name = "pickles"

    def save(self, predictor, folder):
        with (folder / "model.pkl").open("wb") as fh:
            pickle.dump(predictor.estimator, fh)
        return {}, ["model.pkl"]

    def load(self, family, params, spec, entry, path, device, trusted):
        from automl.predictors import SklearnPredictor

        with path("model.pkl").open("rb") as fh:
            predictor = SklearnPredictor(pickle.load(fh), spec.problem_type, spec.n_outputs)
        predictor.kind = self.name
        return predictor


class _Joblib(_Plain):
    """Pickles too, behind joblib's compression (the file does not start as a pickle)."""

    name = "joblib_compressed"

    def save(self, predictor, folder):
        joblib.dump(predictor.estimator, folder / "model.joblib", compress=3)
        return {}, ["model.joblib"]

    def load(self, family, params, spec, entry, path, device, trusted):
        from automl.predictors import SklearnPredictor

        estimator = joblib.load(path("model.joblib"))
        predictor = SklearnPredictor(estimator, spec.problem_type, spec.n_outputs)
        predictor.kind = self.name
        return predictor


class _Unlisted(_Plain):
    name = "unlisted"

    def save(self, predictor, folder):
        kept, files = super().save(predictor, folder)
        (folder / "notes.txt").write_text("written, not listed")
        return kept, files


class _NotJson(_Plain):
    name = "not_json"

    def save(self, predictor, folder):
        kept, files = super().save(predictor, folder)
        return {**kept, "scale": np.float32(2.0)}, files


class _StopsLate(_Plain):
    """Says it stops at a deadline, and does not."""

    name = "stops_late"

    def stoppable(self, family, build):
        return True


class _OtherName(_Plain):
    """Its trained models name the built-in scikit-learn kind instead of it."""

    name = "other_name"

    def train(self, *args):
        outcome = super().train(*args)
        outcome.predictor.kind = "sklearn"
        return outcome


class _UnknownName(_Plain):
    """Its trained models name a kind nobody registered."""

    name = "unknown_name"

    def train(self, *args):
        outcome = super().train(*args)
        outcome.predictor.kind = "nowhere"
        return outcome


class _TakesSklearn(_Plain):
    name = "sklearn"


class _RefusesNothing(_Plain):
    name = "refuses_nothing"

    def check_build(self, model):
        return None


def _family_of(registry, kind):
    class Linear(type(registry.models["linear"])):
        pass

    Linear.kind = kind
    return Linear()


def test_a_plugin_kind_done_right_passes(registry, data):
    kind = _Plain()
    done = check_kind(kind, _family_of(registry, kind), data["regression"])
    assert done == ["name", "build", "train", "refit", "to host", "save and load", "describe"]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        (_LoadsOther(), "saved and loaded model gives other outputs .largest difference 0.001"),
        (_WrongShape(), r"regression output shape \(50, 1\), expected \(50,\)"),
        (_Pickles(), "wrote model.pkl as a pickle"),
        (_Joblib(), r"load\(\) unpickles \[.*'joblib.numpy_pickle.NumpyArrayWrapper'"),
        (_Unlisted(), "does not list.*notes.txt"),
        (_NotJson(), "JSON"),
        (_StopsLate(), r"never read time.monotonic\(\)"),
        (_OtherName(), "Predictor.kind 'sklearn' names another kind"),
        (_UnknownName(), "Predictor.kind 'nowhere'.* unknown model kind"),
        (_TakesSklearn(), "takes the name 'sklearn' of a built-in kind"),
        (_RefusesNothing(), r"check_build accepts an object\(\)"),
    ],
    ids=lambda v: v.name if isinstance(v, SklearnKind) else None,
)
def test_check_kind_fails_a_broken_kind(registry, data, kind, error):
    with pytest.raises(AssertionError, match=error):
        check_kind(kind, _family_of(registry, kind), data["regression"])
    assert kinds.get("sklearn") is not kind  # a kind that takes a built-in name shadows nothing


def test_check_kind_wants_the_family_of_the_kind(registry, data):
    with pytest.raises(AssertionError, match="is not the kind of"):
        check_kind(_Plain(), registry.models["linear"], data["regression"])
