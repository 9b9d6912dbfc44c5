"""ONNX building blocks for exporters: converting a torch module or a scikit-learn estimator,
writing a graph by hand (``GraphBuilder``), chaining two models, and joining the members of a
result with their weighted average (``join``). All at one opset (``OPSET``, ``ML_OPSET``)."""

from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 20  # the default domain (StringConcat and friends need 20)
ML_OPSET = 3
OUTPUT = {"classification": "probabilities", "regression": "value"}


def require(module: str) -> Any:
    """Import an optional dependency of the ``deploy`` extra, or say how to install it."""
    from automl.serve import require as _require

    return _require(module)


def join(result: Any, inputs: list[Any], shared: Any, parts: list[Any]) -> Any:
    """One model: the shared preprocessing, every member, and their weighted average."""
    import onnx
    from onnx import compose, helper

    nodes, inits, functions, opsets = [], [], [], {"": OPSET, "ai.onnx.ml": ML_OPSET}
    ir = 8
    if shared is not None:
        shared = _settle(shared)
        nodes += shared.graph.node
        inits += shared.graph.initializer
        functions += shared.functions
        ir = max(ir, shared.ir_version)
    outputs, weights = [], []
    total = sum(m.weight for m in result.members)
    for i, (part, member) in enumerate(zip(parts, result.members)):
        part = _settle(part)
        keep = {v.name for v in part.graph.input}
        prefixed = compose.add_prefix(part, f"m{i}__", rename_inputs=False)
        for name in keep:  # edges that read a graph input keep its name
            _rename_edge(prefixed.graph, f"m{i}__{name}", name)
        nodes += prefixed.graph.node
        inits += prefixed.graph.initializer
        functions += prefixed.functions
        for op in prefixed.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
        ir = max(ir, prefixed.ir_version)
        outputs.append(prefixed.graph.output[0].name)
        weights.append(member.weight / total)
    regression = result.problem_type == "regression"
    name = OUTPUT["regression" if regression else "classification"]
    scaled = []
    for i, (out, w) in enumerate(zip(outputs, weights)):
        flat = f"avg__in{i}"
        if regression:
            inits.append(helper.make_tensor(f"avg__shape{i}", onnx.TensorProto.INT64, [1], [-1]))
            nodes.append(helper.make_node("Reshape", [out, f"avg__shape{i}"], [flat]))
        else:
            nodes.append(helper.make_node("Identity", [out], [flat]))
        inits.append(helper.make_tensor(f"avg__w{i}", onnx.TensorProto.FLOAT, [], [w]))
        nodes.append(helper.make_node("Mul", [flat, f"avg__w{i}"], [f"avg__scaled{i}"]))
        scaled.append(f"avg__scaled{i}")
    nodes.append(helper.make_node("Sum", scaled, [name]))
    shape = [None] if regression else [None, len(result.classes_)]
    graph = helper.make_graph(
        nodes,
        "automl",
        [i.value_info() for i in inputs],
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        functions=functions,
        ir_version=ir,
    )
    model.producer_name = "automl"
    onnx.checker.check_model(model)
    return model


def _settle(model: Any) -> Any:
    """The model at our opset for the default domain (converters differ)."""
    from onnx import version_converter

    current = next((op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), 0)
    if current and current != OPSET:
        model = version_converter.convert_version(model, OPSET)
    return model


def _rename_edge(graph: Any, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
        for attr in node.attribute:
            if attr.g is not None and attr.HasField("g"):
                _rename_edge(attr.g, old, new)


def torch_to_onnx(
    module: Any,
    example: Any,
    input_name: str,
    dynamic: dict[int, str],
    *,
    regression: bool,
    y_scale: tuple[float, float] = (0.0, 1.0),
) -> Any:
    """An ONNX model of a torch module followed by softmax (or the value de-standardised)."""
    require("onnxscript")
    import torch

    class Head(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x).float()
            if regression:
                return out.reshape(-1, 1) * y_scale[1] + y_scale[0]
            return torch.softmax(out, dim=1)

    head = Head(module).eval()
    dims = {axis: torch.export.Dim.DYNAMIC for axis in dynamic}
    with torch.no_grad():
        program = torch.onnx.export(
            head,
            (example,),
            input_names=[input_name],
            output_names=["output"],
            dynamic_shapes=({**dims},),
            dynamo=True,
            opset_version=OPSET,
            verbose=False,
        )
    return program.model_proto


def sklearn_to_onnx(estimator: Any, input_name: str, width: int, *, regression: bool) -> Any:
    """An ONNX model of a fitted scikit-learn estimator (skl2onnx), its one output the
    probabilities (n, k) or the values (n, 1)."""
    require("skl2onnx")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {} if regression else {id(estimator): {"zipmap": False}}
    model = convert_sklearn(
        estimator,
        initial_types=[(input_name, FloatTensorType([None, width]))],
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
        options=options,
    )
    keep = model.graph.output[-1] if not regression else model.graph.output[0]
    return only_output(model, keep.name)


def only_output(model: Any, name: str) -> Any:
    """The model with ``name`` as its only output, nodes that do not lead to it removed."""
    graph = model.graph
    needed, kept = {name}, []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    kept.reverse()
    out = [o for o in graph.output if o.name == name]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.output[:]
    graph.output.extend(out)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return model


def model_of(nodes: list, inputs: list, outputs: list, inits: list) -> Any:
    """A plain ONNX model at our opsets, for graphs a plugin builds by hand."""
    from onnx import helper

    graph = helper.make_graph(nodes, "part", inputs, outputs, initializer=inits)
    return helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", OPSET),
            helper.make_opsetid("ai.onnx.ml", ML_OPSET),
            helper.make_opsetid("com.microsoft", 1),
        ],
        ir_version=9,
    )


def chain(first: Any, second: Any, io_map: list[tuple[str, str]], prefix: str) -> Any:
    """``first`` then ``second``, the outputs of ``first`` feeding inputs of ``second``."""
    from onnx import compose

    first, second = _settle(first), _settle(second)
    second = compose.add_prefix(second, prefix)
    io_map = [(a, prefix + b) for a, b in io_map]
    ir = max(first.ir_version, second.ir_version)
    first.ir_version = second.ir_version = ir
    domains = {}
    for m in (first, second):
        for op in m.opset_import:
            domains[op.domain] = max(domains.get(op.domain, 0), op.version)
    for m in (first, second):
        del m.opset_import[:]
        from onnx import helper

        m.opset_import.extend(helper.make_opsetid(d, v) for d, v in domains.items())
    return compose.merge_models(first, second, io_map=io_map)


def to_all_classes(model: Any, classes: Any, n_outputs: int) -> Any:
    """Probabilities over a scikit-learn estimator's classes placed in the columns of all
    classes (a class missing from the rows it trained on gets 0), as ``SklearnPredictor``
    does."""
    cols = np.asarray(classes, dtype=np.int64)
    if len(cols) == n_outputs and np.array_equal(cols, np.arange(n_outputs)):
        return model
    from onnx import helper, numpy_helper

    place = np.zeros((len(cols), n_outputs), dtype=np.float32)
    place[np.arange(len(cols)), cols] = 1.0
    graph = model.graph
    out = graph.output[0].name
    graph.initializer.append(numpy_helper.from_array(place, "place_classes"))
    graph.node.append(helper.make_node("MatMul", [out, "place_classes"], ["all_classes"]))
    graph.output[0].name = "all_classes"
    dims = graph.output[0].type.tensor_type.shape.dim
    if len(dims) == 2:
        dims[1].dim_value = n_outputs
    return model


class GraphBuilder:
    """Nodes and constants of an ONNX graph a plugin writes by hand, with fresh names."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.nodes, self.inits, self.n = prefix, [], [], 0

    def name(self, hint: str) -> str:
        self.n += 1
        return f"{self.prefix}{hint}_{self.n}"

    def const(self, value: Any, dtype: Any = np.float64) -> str:
        from onnx import numpy_helper

        name = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], domain=domain, **attrs))
        return out

    def interp(self, v: str, xp: np.ndarray, fp: np.ndarray) -> str:
        """``np.interp(v, xp, fp)`` for (n, 1) finite doubles and sorted ``xp`` (ties allowed),
        to the last bit: numpy's own arithmetic, ``slope[j] * (v - xp[j]) + fp[j]`` on the
        segment j of the last knot not above v (``fp[j]`` on a knot or outside ``xp``, the last
        value of a tied run). A sum of clipped pieces was off by 1e-16 near 0, where a float32
        feature still tells such values apart and a tree threshold can sit on one."""
        xp, fp = np.asarray(xp, dtype=np.float64), np.asarray(fp, dtype=np.float64)
        width = np.diff(xp)
        with np.errstate(divide="ignore", invalid="ignore"):  # tied knots: never a segment
            slope = np.where(width > 0, np.diff(fp) / width, 0.0)
        slope = np.append(slope, 0.0)  # at or past the last knot: fp[-1]
        reached = self.op("Cast", [self.op("GreaterOrEqual", [v, self.const(xp[None])])], to=7)
        count = self.op("ReduceSum", [reached, self.const([1], np.int64)], keepdims=1)
        j = self.op(
            "Max", [self.op("Sub", [count, self.const(1, np.int64)]), self.const(0, np.int64)]
        )
        knot = self.op("Gather", [self.const(xp), j])
        offset = self.op("Max", [self.op("Sub", [v, knot]), self.const(0.0)])  # 0 below xp[0]
        rise = self.op("Mul", [self.op("Gather", [self.const(slope), j]), offset])
        return self.op("Add", [rise, self.op("Gather", [self.const(fp), j])])
