"""The tabular ONNX graph on tables with missing numbers: the preprocessing's quantile transform
is computed as ``np.interp`` computes it (a hist_gb bin threshold often sits exactly at the
transformed fill value, so a graph off by 1e-16 there sent whole rows down the other branch),
and hist_gb's own graph routes NaN as each node's ``missing_go_to_left`` says."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

import automl
from automl.export import TOLERANCE
from automl.onnx_parts import GraphBuilder, model_of


def _breast_cancer_with_gaps(fraction: float = 0.10) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    rng = np.random.default_rng(0)
    x = data.data.mask(rng.random(data.data.shape) < fraction)
    return x.assign(target=data.target)


def test_hist_gb_on_a_table_with_missing_numbers_exports(tmp_path):
    frame = _breast_cancer_with_gaps()
    result = automl.fit(
        frame,
        target="target",
        n_trials=1,
        models=["hist_gb"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    meta = result.export(str(tmp_path / "gaps.onnx"))
    assert meta["check"]["passed"], meta["check"]
    rows = frame.drop(columns="target")  # every row, most with a missing number
    exporter = automl.plugins.load_registry().task("tabular").exporter()
    session = ort.InferenceSession(str(tmp_path / "gaps.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, exporter.feed(result, rows))[0]
    assert np.abs(got - result.predict_proba(rows)).max() <= TOLERANCE


@pytest.mark.parametrize("ties", [False, True])
def test_graph_interp_is_numpys_to_the_last_bit(ties):
    rng = np.random.default_rng(1)
    xp = np.sort(rng.normal(size=300))
    if ties:
        xp[100:110] = xp[100]  # a repeated training value: a zero-width segment
        xp[-3:] = xp[-3]
    from scipy.stats import norm

    fp = norm.ppf(np.clip(np.linspace(0, 1, len(xp)), 1e-4, 1 - 1e-4))  # 0 near the middle
    v = np.concatenate([xp, rng.normal(size=500) * 2, [np.median(xp), xp[0] - 1, xp[-1] + 1]])
    g = GraphBuilder("t__")
    out = g.interp("v", xp, fp)
    from onnx import TensorProto, helper

    model = model_of(
        [*g.nodes, helper.make_node("Identity", [out], ["y"])],
        [helper.make_tensor_value_info("v", TensorProto.DOUBLE, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])],
        g.inits,
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"v": v.reshape(-1, 1)})[0].reshape(-1)
    np.testing.assert_array_equal(got, np.interp(v, xp, fp))


def test_hist_gb_graph_routes_nan_as_each_node_says():
    from automl_tabular.export import hist_gb_graph
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    x = np.where(rng.random(x.shape) < 0.1, np.nan, x).astype(np.float32)
    x[:, 0] = np.nan_to_num(x[:, 0], nan=1.0)  # no gap in training: NaN goes the larger way
    est = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(x, y)
    new = x.copy()
    new[::3, 0] = np.nan
    model = hist_gb_graph(est, "x", x.shape[1], regression=False)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": new})[0]
    assert np.abs(got - est.predict_proba(new)).max() <= TOLERANCE
