"""Tables to ONNX: the fitted preprocessing rebuilt from its column plan, then each member.

Graph inputs: one per column the model uses, shape (n, 1): numbers as double (NaN or inf for
missing), categories as strings (missing as ``"__missing__"``). The preprocessing is written
with plain ONNX ops from the plan (median fill, missing indicators, the normal-quantile
transform with np.interp's own arithmetic, standardisation; one-hot and ordinal codes with
``ai.onnx.ml`` OneHotEncoder / LabelEncoder), so it computes what ``TabularPreprocessor`` does in
double precision and casts to float32 as it does. Date columns are refused (ONNX parses no
dates). Members: pair columns (their inverse quantile transform, knot snapping included),
HistGradientBoosting (written here: skl2onnx 1.20 fails on scikit-learn 1.9's trees), CatBoost
(its own ONNX writer), forests and linear models (skl2onnx), the MLP (torch's exporter).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import (
    EdgeRows,
    Exporter,
    ExportError,
    GraphBuilder,
    GraphInput,
    chain,
    model_of,
    only_output,
    sklearn_to_onnx,
    to_all_classes,
    torch_to_onnx,
)
from automl_tabular.interactions import DIFFERENCE, RATIO, SUM, PairwiseFeatures
from automl_tabular.levels import MISSING, as_text
from automl_tabular.preprocessing import TabularPreprocessor, _normal_quantile_ref

FEATURES = "features"


class TabularExporter(Exporter):
    def inputs(self, result: Any) -> list[GraphInput]:
        from onnx import TensorProto

        pre = _pre(result)
        out = []
        for plan in pre.columns:
            if plan.kind == "date":
                raise ExportError(
                    f"column {plan.name!r} holds dates, and ONNX parses no dates: drop it or "
                    "pass it as a number (e.g. days since an epoch) before fit to export"
                )
            if plan.kind == "numeric":
                out.append(
                    GraphInput(plan.name, TensorProto.DOUBLE, [None, 1], "number; NaN if missing")
                )
            else:
                out.append(
                    GraphInput(
                        plan.name,
                        TensorProto.STRING,
                        [None, 1],
                        f"string category; {MISSING!r} if missing",
                    )
                )
        return out

    def feed(self, result: Any, raw: Any) -> dict[str, np.ndarray]:
        pre = _pre(result)
        frame = pre._frame(raw)
        feed = {}
        for plan in pre.columns:
            col = frame[plan.name]
            if plan.kind == "numeric":
                values = pre._numeric_values(plan.name, col)
                feed[plan.name] = values.reshape(-1, 1)
            else:
                feed[plan.name] = as_text(col).to_numpy(dtype=object).reshape(-1, 1)
        return feed

    def shared(self, result: Any) -> Any:
        from onnx import TensorProto, helper

        pre = _pre(result)
        g = GraphBuilder("pre__")
        blocks = []
        for plan in pre.columns:
            if plan.kind == "numeric":
                x = plan.name
                missing = g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])])
                v = g.op("Where", [missing, g.const(plan.fill), x])
                if plan.quantiles is not None:
                    q = np.asarray(plan.quantiles, dtype=np.float64)
                    out = g.interp(v, q, _normal_quantile_ref(len(q)))
                else:
                    out = g.op(
                        "Div",
                        [g.op("Sub", [v, g.const(plan.scale[0])]), g.const(plan.scale[1])],
                    )
                blocks.append(out)
                if plan.indicator:
                    blocks.append(g.op("Cast", [missing], to=TensorProto.DOUBLE))
            elif plan.kind == "onehot":
                hot = g.op(
                    "OneHotEncoder",
                    [plan.name],
                    domain="ai.onnx.ml",
                    cats_strings=plan.levels,
                    zeros=1,
                )
                flat = g.op("Reshape", [hot, g.const([-1, len(plan.levels)], np.int64)])
                blocks.append(g.op("Cast", [flat], to=TensorProto.DOUBLE))
            else:  # ordinal codes; unseen levels get their own code
                codes = g.op(
                    "LabelEncoder",
                    [plan.name],
                    domain="ai.onnx.ml",
                    keys_strings=plan.levels,
                    values_floats=[float(i) for i in range(len(plan.levels))],
                    default_float=float(len(plan.levels)),
                )
                codes = g.op("Cast", [codes], to=TensorProto.DOUBLE)
                scaled = g.op(
                    "Div", [g.op("Sub", [codes, g.const(plan.scale[0])]), g.const(plan.scale[1])]
                )
                blocks.append(scaled)
        joined = g.op("Concat", blocks, axis=1) if len(blocks) > 1 else blocks[0]
        g.nodes.append(helper.make_node("Cast", [joined], [FEATURES], to=TensorProto.FLOAT))
        width = len(pre.feature_names)
        return model_of(
            g.nodes,
            [i.value_info() for i in self.inputs(result)],
            [helper.make_tensor_value_info(FEATURES, TensorProto.FLOAT, [None, width])],
            g.inits,
        )

    def member(self, result: Any, index: int, member: Any, source: str | None) -> Any:
        from automl.plugin import FeaturizedPredictor, kind_of

        predictor, width = member.predictor, len(_pre(result).feature_names)
        regression = result.problem_type == "regression"
        featurizer = None
        if isinstance(predictor, FeaturizedPredictor):
            featurizer, predictor = predictor.featurizer, predictor.inner
        pairs = None
        if featurizer is not None:
            if not isinstance(featurizer, PairwiseFeatures):
                raise ExportError(
                    f"member {index} ({member.family.name}) uses the featurizer "
                    f"{type(featurizer).__name__}, which has no ONNX conversion"
                )
            pairs = pair_columns_graph(featurizer, source, width)
            width = int(pairs.graph.output[0].type.tensor_type.shape.dim[1].dim_value)
        name = "model_in"
        kind, predictor = kind_of(predictor)
        module = kind.torch_module(predictor)  # None: a scikit-learn-style estimator
        if module is not None:
            import torch

            example = torch.zeros((2, width), dtype=torch.float32)
            model = torch_to_onnx(
                module.cpu().eval(),
                example,
                name,
                {0: "n"},
                regression=regression,
                y_scale=(predictor.y_mean, predictor.y_std),
            )
        else:
            est = predictor.estimator
            if type(est).__name__.startswith("HistGradientBoosting"):
                model = hist_gb_graph(est, name, width, regression)
            elif type(est).__name__.startswith("CatBoost"):
                model = catboost_graph(est, name, regression)
            else:
                model = sklearn_to_onnx(est, name, width, regression=regression)
            if not regression:
                model = to_all_classes(model, est.classes_, predictor.n_outputs)
        if pairs is not None:
            return chain(pairs, model, [(pairs.graph.output[0].name, name)], f"est{index}__")
        return _rename_input(model, name, source)

    def edge_rows(self, result: Any) -> EdgeRows:
        """Each number missing, infinite and at or past its training extremes, each category
        unseen and missing (``automl_tabular.edge_rows``)."""
        from automl_tabular.edge_rows import edge_rows

        return edge_rows(_pre(result))

    def sample(self, result: Any, n: int, seed: int) -> pd.DataFrame:
        """Columns drawn independently: numbers from the training quantiles (or the scale),
        categories from their levels, with a few missing values and one unseen level."""
        pre, rng = _pre(result), np.random.default_rng(seed)
        data = {}
        for plan in pre.columns:
            if plan.kind == "numeric":
                if plan.quantiles is not None:
                    values = rng.choice(np.asarray(plan.quantiles), n)
                else:
                    values = plan.scale[0] + plan.scale[1] * rng.standard_normal(n)
                if plan.indicator:
                    values[rng.random(n) < 0.05] = np.nan
                data[plan.name] = values
            elif plan.kind == "date":
                data[plan.name] = ["2000-01-01"] * n
            else:
                levels = [None if lvl == MISSING else lvl for lvl in plan.levels]
                values = list(rng.choice(np.asarray(levels, dtype=object), n))
                values[0] = "__an unseen level__"
                data[plan.name] = values
        return pd.DataFrame(data, columns=pre.input_columns).reindex(columns=pre.input_columns)


def _pre(result: Any) -> TabularPreprocessor:
    if not isinstance(result.features, TabularPreprocessor):
        raise ExportError(
            f"the tabular exporter needs the tabular preprocessing; got "
            f"{type(result.features).__name__}"
        )
    return result.features


def _rename_input(model: Any, old: str, new: str | None) -> Any:
    if new is None or new == old:
        return model
    graph = model.graph
    for node in graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
    for value in graph.input:
        if value.name == old:
            value.name = new
    return model


# -- pair columns ----------------------------------------------------------------------------
def pair_columns_graph(featurizer: Any, source: str | None, width: int) -> Any:
    """``PairwiseFeatures.transform``: each continuous column read back through the inverse
    quantile transform (snapped to a knot within 1e-6, as ``_from_quantiles`` does), then its
    pair columns (sums, differences, ratios), appended to the input."""
    from onnx import TensorProto, helper

    g = GraphBuilder("pairs__")
    x = source or FEATURES
    raws = []
    for pos, q in zip(featurizer.positions, featurizer.quantiles):
        q = np.asarray(q, dtype=np.float64)
        ref = _normal_quantile_ref(len(q))
        col = g.op("Gather", [x, g.const([pos], np.int64)], axis=1)
        t = g.op("Cast", [col], to=TensorProto.DOUBLE)
        values = g.interp(t, ref, q)
        dist = g.op("Abs", [g.op("Sub", [t, g.const(ref[None])])])
        nearest = g.op("ArgMin", [dist], axis=1, keepdims=1)
        near_dist = g.op("GatherElements", [dist, nearest], axis=1)
        tol = g.op("Mul", [g.op("Max", [g.op("Abs", [t]), g.const(1.0)]), g.const(1e-6)])
        on_knot = g.op("LessOrEqual", [near_dist, tol])
        knot = g.op("Gather", [g.const(q), g.op("Squeeze", [nearest, g.const([1], np.int64)])])
        knot = g.op("Unsqueeze", [knot, g.const([1], np.int64)])
        raws.append(g.op("Where", [on_knot, knot, values]))
    raw = g.op("Concat", raws, axis=1)
    parts = []
    for op in (SUM, DIFFERENCE, RATIO):  # PairwiseFeatures' ops are grouped by operation
        ops = featurizer.ops[featurizer.ops[:, 0] == op]
        if len(ops):
            a = g.op("Gather", [raw, g.const(ops[:, 1], np.int64)], axis=1)
            b = g.op("Gather", [raw, g.const(ops[:, 2], np.int64)], axis=1)
            parts.append(g.op({SUM: "Add", DIFFERENCE: "Sub", RATIO: "Div"}[op], [a, b]))
    new = g.op("Concat", parts, axis=1) if len(parts) > 1 else parts[0]
    grouped = np.argsort(featurizer.ops[:, 0], kind="stable")
    if np.any(grouped != np.arange(len(grouped))):  # back to the featurizer's column order
        new = g.op("Gather", [new, g.const(np.argsort(grouped), np.int64)], axis=1)
    new = g.op("Cast", [new], to=TensorProto.FLOAT)
    g.nodes.append(helper.make_node("Concat", [x, new], ["with_pairs"], axis=1))
    total = width + len(featurizer.ops)
    return model_of(
        g.nodes,
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info("with_pairs", TensorProto.FLOAT, [None, total])],
        g.inits,
    )


# -- CatBoost ---------------------------------------------------------------------------------
def catboost_graph(est: Any, name: str, regression: bool) -> Any:
    """A fitted CatBoost model through CatBoost's own ONNX writer (an ``ai.onnx.ml`` tree
    ensemble), its input renamed to ``name`` and its one output the probabilities as a
    tensor (the writer's ZipMap, a list of dictionaries, taken off) or the values (n, 1)."""
    import tempfile
    from pathlib import Path

    import onnx
    from onnx import TensorProto, helper

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "catboost.onnx")
        est.save_model(path, format="onnx")
        model = onnx.load(path)
    graph = _rename_input(model, model.graph.input[0].name, name).graph
    if regression:
        out = graph.output[0].name
        graph.node.append(helper.make_node("Reshape", [out, "cb_shape"], ["cb_value"]))
        graph.initializer.append(helper.make_tensor("cb_shape", TensorProto.INT64, [2], [-1, 1]))
        keep, width_out = "cb_value", 1
    else:
        zipmap = [n for n in graph.node if n.op_type == "ZipMap"]
        if len(zipmap) != 1:
            raise ExportError(
                "CatBoost's ONNX writer gave no single ZipMap to take the probabilities from "
                f"(its nodes: {sorted({n.op_type for n in graph.node})}); this catboost "
                "version's ONNX output is not supported"
            )
        keep, width_out = zipmap[0].input[0], len(est.classes_)
    graph.output.append(helper.make_tensor_value_info(keep, TensorProto.FLOAT, [None, width_out]))
    return only_output(model, keep)


# -- histogram gradient boosting -------------------------------------------------------------
def hist_gb_graph(est: Any, name: str, width: int, regression: bool) -> Any:
    """A fitted HistGradientBoosting model as an ``ai.onnx.ml`` TreeEnsembleRegressor (the raw
    scores), then the link: identity, sigmoid (binary) or softmax. Thresholds are rounded down
    to float32, so ``x <= t`` gives the same answer for every float32 input."""
    from onnx import TensorProto, helper

    attrs: dict[str, list] = {
        k: []
        for k in [
            "nodes_treeids",
            "nodes_nodeids",
            "nodes_featureids",
            "nodes_modes",
            "nodes_values",
            "nodes_truenodeids",
            "nodes_falsenodeids",
            "nodes_missing_value_tracks_true",
            "target_treeids",
            "target_nodeids",
            "target_ids",
            "target_weights",
        ]
    }
    tree_id = 0
    for per_iteration in est._predictors:
        for k, predictor in enumerate(per_iteration):
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise ExportError("hist_gb with categorical splits has no ONNX conversion here")
            for n, node in enumerate(nodes):
                attrs["nodes_treeids"].append(tree_id)
                attrs["nodes_nodeids"].append(n)
                if node["is_leaf"]:
                    attrs["nodes_featureids"].append(0)
                    attrs["nodes_modes"].append("LEAF")
                    attrs["nodes_values"].append(0.0)
                    attrs["nodes_truenodeids"].append(0)
                    attrs["nodes_falsenodeids"].append(0)
                    attrs["nodes_missing_value_tracks_true"].append(0)
                    attrs["target_treeids"].append(tree_id)
                    attrs["target_nodeids"].append(n)
                    attrs["target_ids"].append(k)
                    attrs["target_weights"].append(float(node["value"]))
                else:
                    attrs["nodes_featureids"].append(int(node["feature_idx"]))
                    attrs["nodes_modes"].append("BRANCH_LEQ")
                    attrs["nodes_values"].append(float(_floor32(float(node["num_threshold"]))))
                    attrs["nodes_truenodeids"].append(int(node["left"]))
                    attrs["nodes_falsenodeids"].append(int(node["right"]))
                    attrs["nodes_missing_value_tracks_true"].append(
                        int(node["missing_go_to_left"])
                    )
            tree_id += 1
    n_targets = len(est._predictors[0])
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    nodes = [
        helper.make_node(
            "TreeEnsembleRegressor",
            [name],
            ["raw"],
            domain="ai.onnx.ml",
            n_targets=n_targets,
            aggregate_function="SUM",
            base_values=[float(b) for b in base],
            post_transform="NONE",
            **attrs,
        )
    ]
    if regression:
        out = "raw"
    elif n_targets == 1:
        nodes += [
            helper.make_node("Sigmoid", ["raw"], ["p1"]),
            helper.make_node("Sub", ["one", "p1"], ["p0"]),
            helper.make_node("Concat", ["p0", "p1"], ["proba"], axis=1),
        ]
        out = "proba"
    else:
        nodes.append(helper.make_node("Softmax", ["raw"], ["proba"], axis=1))
        out = "proba"
    inits = [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])] if out == "proba" else []
    if n_targets > 1:
        inits = []
    shape = [None, 1 if regression else max(2, n_targets)]
    return model_of(
        nodes,
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)],
        inits,
    )


def _floor32(value: float) -> np.float32:
    """The largest float32 not above ``value``."""
    f = np.float32(value)
    return np.nextafter(f, np.float32(-np.inf)) if float(f) > value else f
