"""A family may bring its own input transform (a Featurizer), fitted on the rows its model
trains on, saved with the model and applied before it at predict time."""

from __future__ import annotations

import numpy as np

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
    assert (tmp_path / "m" / "member_0" / "featurizer.joblib").is_file()
    loaded = automl.load(saved, plugins=[_Plugin()])
    assert np.allclose(loaded.predict_proba(x), result.predict_proba(x), atol=1e-6)
    assert loaded.members[0].predictor.featurizer.n == member.predictor.featurizer.n
