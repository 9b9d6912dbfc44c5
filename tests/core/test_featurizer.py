"""A family may bring its own input transform (a Featurizer), fitted on the rows its model
trains on, saved with the model and applied before it at predict time."""

from __future__ import annotations

import numpy as np
import pytest

import automl


class _PCA(automl.Featurizer):
    def __init__(self, n):
        self.n = n

    def fit(self, x, y):
        from sklearn.decomposition import PCA

        self.pca = PCA(self.n, random_state=0).fit(x)
        self.rows_seen = len(x)
        return self

    def transform(self, x):
        return self.pca.transform(x).astype(np.float32)

    def spec(self, spec):
        return automl.DataSpec((self.n,), spec.n_outputs, spec.problem_type, {"pca": self.n})


class _PCALinear(automl.ModelFamily):
    name = "pca_linear"
    task = "tabular"
    kind = "torch"

    def suggest(self, trial, data):
        trial.suggest_int("pca_linear.n", 1, 3)

    def featurizer(self, params, data):
        return _PCA(params["pca_linear.n"])

    def build(self, params, spec):
        import torch

        assert spec.extra["pca"] == params["pca_linear.n"] == spec.input_shape[0]
        return torch.nn.Linear(spec.input_shape[0], spec.n_outputs)


class _Plugin:
    __name__ = "pca_plugin"

    @automl.hookimpl
    def automl_register_models(self, register):
        register(_PCALinear())


def test_family_featurizer_is_fitted_saved_and_applied(tmp_path, iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        models=["pca_linear"],
        plugins=["tabular", _Plugin()],
        n_trials=3,
        storage=":memory:",
        verbose=False,
        max_epochs=15,
    )
    member = result.members[0]
    assert member.predictor.featurizer.rows_seen == len(iris_frame)  # refit: train + valid
    x = iris_frame.drop(columns="target")
    assert result.score(x, iris_frame["target"]) > 0.6
    saved = result.save(str(tmp_path / "m"))
    # no get_state: saved with skops, and its type must be trusted by name to load
    assert (tmp_path / "m" / "member_0" / "featurizer.skops").is_file()
    with pytest.raises(automl.DataError, match=r"_PCA.*trusted=") as refused:
        automl.load(saved, plugins=[_Plugin()])
    name = f"{_PCA.__module__}.{_PCA.__qualname__}"  # tests.core.test_featurizer._PCA
    assert name in str(refused.value)
    loaded = automl.load(saved, plugins=[_Plugin()], trusted=[name])
    assert np.allclose(loaded.predict_proba(x), result.predict_proba(x), atol=1e-6)
    assert loaded.members[0].predictor.featurizer.n == member.predictor.featurizer.n


class _Scaler(automl.Featurizer):
    """A featurizer that saves its state (JSON and arrays): it loads with no trust asked."""

    def fit(self, x, y):
        self.mean, self.scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        return self

    def transform(self, x):
        return ((x - self.mean) / self.scale).astype(np.float32)

    def get_state(self):
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_state(cls, state):
        self = cls()
        self.mean, self.scale = state["mean"], state["scale"]
        return self


class _ScaledLinear(_PCALinear):
    name = "scaled_linear"

    def suggest(self, trial, data):
        trial.suggest_int("scaled_linear.unused", 1, 1)

    def featurizer(self, params, data):
        return _Scaler()

    def build(self, params, spec):
        import torch

        return torch.nn.Linear(spec.input_shape[0], spec.n_outputs)


class _StatePlugin:
    __name__ = "state_plugin"

    @automl.hookimpl
    def automl_register_models(self, register):
        register(_ScaledLinear())


def test_a_featurizer_with_state_is_saved_as_json_and_arrays(tmp_path, iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        models=["scaled_linear"],
        plugins=["tabular", _StatePlugin()],
        n_trials=1,
        storage=":memory:",
        verbose=False,
        max_epochs=5,
    )
    saved = result.save(str(tmp_path / "m"))
    files = sorted(p.name for p in (tmp_path / "m" / "member_0").iterdir())
    assert files == ["featurizer.json", "featurizer.npz", "weights.pt"]
    x = iris_frame.drop(columns="target")
    loaded = automl.load(saved, plugins=[_StatePlugin()])
    assert np.allclose(loaded.predict_proba(x), result.predict_proba(x), atol=1e-6)
