"""Export a fitted result as one ONNX graph of its predict path (or, for torch models,
TorchScript), checked on the spot against the model's own predictions.

The task's ``Exporter`` (``Task.exporter()``, in its plugin) names the graph's inputs and how raw
rows feed them, builds the shared preprocessing and one graph per member; this module joins the
members (an ensemble becomes every member and their weighted average), runs onnxruntime on the
check rows, and writes the file only when its outputs agree with ``predict_proba`` (or
``predict`` for regression) within ``TOLERANCE``. The check's result is stored in the file
(ONNX ``metadata_props["automl"]``, TorchScript extra file ``automl.json``) and returned.

A member or step that cannot be converted raises ``ExportError`` naming it; nothing is written.
Needs the ``deploy`` extra (onnx, onnxruntime, skl2onnx, onnxscript).
"""

from __future__ import annotations

import json
import os
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import ExportError

TOLERANCE = 1e-4
OPSET = 20  # the default domain (StringSplit and friends need 20)
ML_OPSET = 3
CHECK_ROWS = 200  # rows the agreement check runs on, at most
TRACE_ROWS = 3  # rows a TorchScript trace is recorded on (then checked on all CHECK_ROWS)
FORMATS = ("onnx", "torchscript")
OUTPUT = {"classification": "probabilities", "regression": "value"}


def require(module: str) -> Any:
    """Import an optional dependency of the ``deploy`` extra, or say how to install it."""
    from automl.serve import require as _require

    return _require(module)


@dataclass
class GraphInput:
    """One input of the exported graph and what a user hands it."""

    name: str
    elem_type: int  # an onnx.TensorProto type
    shape: list[Any]
    description: str

    def value_info(self) -> Any:
        from onnx import helper

        return helper.make_tensor_value_info(self.name, self.elem_type, self.shape)


class Exporter(ABC):
    """How a task's models become ONNX: the graph's inputs, the preprocessing all members share,
    and one graph per member (from those inputs, or the shared output, to its output)."""

    @abstractmethod
    def inputs(self, result: Any) -> list[GraphInput]:
        """The graph's inputs: the contract a user of the ONNX file follows."""

    @abstractmethod
    def feed(self, result: Any, raw: Any) -> dict[str, np.ndarray]:
        """The inputs for raw rows (as ``predict`` takes them)."""

    def shared(self, result: Any) -> Any:
        """An ONNX model from the inputs to the preprocessed tensor every member reads (its
        single output), or None when members read the inputs directly."""
        return None

    @abstractmethod
    def member(self, result: Any, index: int, member: Any, source: str | None) -> Any:
        """An ONNX model for one member with one output: probabilities (n, k) or values (n,
        1); its inputs are named as graph inputs, or ``source`` (the shared output)."""

    def sample(self, result: Any, n: int, seed: int) -> Any:
        """Rows, as ``predict`` takes them, drawn from what the model folder keeps of the
        training data (for checking a loaded model's export when no rows are given)."""
        raise ExportError(f"the {result.task} task cannot draw check rows: pass data=")

    def torch_module(self, result: Any, member: Any) -> Any:
        """The member's torch module as it should be traced (default: as trained)."""
        return member.predictor.module

    def torch_input(self, result: Any, index: int, member: Any, raw: Any) -> Any:
        """The member's model-ready input tensor for raw rows (TorchScript export)."""
        import torch

        return torch.as_tensor(result.features.transform(raw))

    def torch_contract(self, result: Any) -> str:
        return "the task's model-ready features (result.features.transform(rows))"


def export(result: Any, path: str, format: str = "onnx", data: Any = None) -> dict[str, Any]:
    """Write ``result``'s predict path to ``path`` and return the export's metadata."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {FORMATS}; got {format!r}")
    from automl.plugins import load_registry

    exporter = load_registry().task(result.task).exporter()
    if exporter is None:
        raise ExportError(f"the {result.task} task has no exporter: its models cannot be exported")
    rows, source = check_rows(result, exporter, data)
    expected = _expected(result, rows)
    if format == "onnx":
        return _export_onnx(result, exporter, Path(path), rows, source, expected)
    return _export_torchscript(result, exporter, Path(path), rows, source, expected)


def check_rows(result: Any, exporter: Exporter, data: Any) -> tuple[Any, str]:
    """(rows to check the export on, where they come from)."""
    if data is not None:
        return _head(data, CHECK_ROWS), "given rows"
    if getattr(result, "holdout_raw", None) is not None:
        return _head(result.holdout_raw, CHECK_ROWS), "held-out rows"
    return exporter.sample(result, CHECK_ROWS, seed=0), "rows drawn from the training reference"


def _head(data: Any, n: int) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[:n]
    if isinstance(data, (list, tuple, np.ndarray)):
        return data[:n]
    return data


def _expected(result: Any, rows: Any) -> np.ndarray:
    if result.problem_type == "regression":
        return np.asarray(result.predict(rows), dtype=np.float64).reshape(-1)
    return np.asarray(result.predict_proba(rows), dtype=np.float64)


# -- ONNX ----------------------------------------------------------------------------------------
def _export_onnx(
    result: Any, exporter: Exporter, path: Path, rows: Any, source: str, expected: np.ndarray
) -> dict[str, Any]:
    require("onnx")
    ort = require("onnxruntime")
    inputs = exporter.inputs(result)
    shared = exporter.shared(result)
    shared_out = None if shared is None else shared.graph.output[0].name
    parts = []
    for i, member in enumerate(result.members):
        try:
            parts.append(exporter.member(result, i, member, shared_out))
        except ExportError:
            raise
        except Exception as exc:  # a converter's own failure: name the member and the cause
            raise ExportError(
                f"member {i} ({member.family.name}) cannot be converted to ONNX: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            ) from None
    model = join(result, inputs, shared, parts)
    feed = exporter.feed(result, rows)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, feed)[0], dtype=np.float64)
    got = got.reshape(-1) if result.problem_type == "regression" else got
    check = _agreement(
        got, expected, rows_used=len(expected), source=source, runtime="onnxruntime"
    )
    meta = metadata(result, "onnx", inputs=[_describe(i) for i in inputs], check=check)
    if not check["passed"]:
        raise ExportError(
            f"the ONNX graph disagrees with the model by {check['max_abs_diff']:.3g} "
            f"(tolerance {TOLERANCE}) on {check['rows']} {source}: not written"
        )
    from onnx import helper

    helper.set_model_props(model, {"automl": json.dumps(meta)})
    _write_atomically(path, model.SerializeToString())
    return meta


def join(result: Any, inputs: list[GraphInput], shared: Any, parts: list[Any]) -> Any:
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


def _describe(i: GraphInput) -> dict[str, Any]:
    from onnx import TensorProto

    return {
        "name": i.name,
        "type": TensorProto.DataType.Name(i.elem_type).lower(),
        "shape": [d if isinstance(d, int) else "n" if d is None else d for d in i.shape],
        "description": i.description,
    }


# -- TorchScript ---------------------------------------------------------------------------------
def _export_torchscript(
    result: Any, exporter: Exporter, path: Path, rows: Any, source: str, expected: np.ndarray
) -> dict[str, Any]:
    import io

    import torch

    others = [m.family.name for m in result.members if m.predictor.kind != "torch"]
    if others:
        raise ExportError(
            f"TorchScript holds torch models only; this model has {sorted(set(others))} "
            "(scikit-learn): export it as ONNX"
        )
    modules = [exporter.torch_module(result, m) for m in result.members]
    regression = result.problem_type == "regression"
    total = sum(m.weight for m in result.members)
    inner = [getattr(m.predictor, "inner", m.predictor) for m in result.members]
    scales = [(p.y_mean, p.y_std) for p in inner]
    wrapper = _TorchAverage(
        modules, [m.weight / total for m in result.members], regression, scales
    )
    examples = tuple(
        exporter.torch_input(result, i, m, rows) for i, m in enumerate(result.members)
    )
    # traced on a few rows, checked on all: a trace that baked in the example's shape fails
    few = tuple(
        exporter.torch_input(result, i, m, _head(rows, TRACE_ROWS))
        for i, m in enumerate(result.members)
    )
    wrapper.eval()
    try:
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, few, check_trace=False)
    except Exception as exc:
        raise ExportError(
            f"the model cannot be traced to TorchScript: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:300]}"
        ) from None
    with torch.no_grad():
        got = traced(*examples).double().numpy()
    got = got.reshape(-1) if regression else got
    check = _agreement(got, expected, rows_used=len(expected), source=source, runtime="torch.jit")
    inputs = [
        {"name": f"input{i}", "description": exporter.torch_contract(result)}
        for i in range(len(examples))
    ]
    meta = metadata(result, "torchscript", inputs=inputs, check=check)
    if not check["passed"]:
        raise ExportError(
            f"the TorchScript module disagrees with the model by {check['max_abs_diff']:.3g} "
            f"(tolerance {TOLERANCE}) on {check['rows']} {source}: not written"
        )
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={"automl.json": json.dumps(meta)})
    _write_atomically(path, buffer.getvalue())
    return meta


def _torch_average_class() -> Any:
    import torch
    from torch import nn

    class TorchAverage(nn.Module):
        """Members' softmax probabilities (or de-standardised values), weighted."""

        def __init__(self, modules, weights, regression, scales) -> None:
            super().__init__()
            self.members = nn.ModuleList(modules)
            self.weights, self.regression, self.scales = weights, regression, scales

        def forward(self, *inputs):
            total = None
            for module, x, w, (mean, std) in zip(self.members, inputs, self.weights, self.scales):
                out = module(x).float()
                out = out.reshape(-1) * std + mean if self.regression else torch.softmax(out, 1)
                total = out * w if total is None else total + out * w
            return total

    return TorchAverage


def _TorchAverage(*args: Any) -> Any:  # noqa: N802 - a class built on first use (torch is heavy)
    return _torch_average_class()(*args)


# -- shared parts ---------------------------------------------------------------------------------
def _agreement(
    got: np.ndarray, expected: np.ndarray, *, rows_used: int, source: str, runtime: str
) -> dict[str, Any]:
    """Probabilities must agree within TOLERANCE; regression values within TOLERANCE times
    their size when that is above 1 (a float32 graph holds about 7 digits: 300.0 is known to
    3e-5, not to 1e-4 absolute over a sum of trees)."""
    regression = expected.ndim == 1
    if got.shape != expected.shape:
        diff = scaled = float("inf")
    elif expected.size == 0:
        diff = scaled = 0.0
    else:
        gap = np.abs(got - expected)
        diff = float(gap.max())
        scaled = float((gap / np.maximum(1.0, np.abs(expected))).max()) if regression else diff
    check = {
        "runtime": runtime,
        "rows": int(rows_used),
        "source": source,
        "compared_with": "predict" if regression else "predict_proba",
        "max_abs_diff": diff,
        "tolerance": TOLERANCE,
        "passed": bool(scaled <= TOLERANCE),
    }
    if regression:
        check["max_rel_diff"] = scaled
        check["rule"] = "|diff| <= tolerance * max(1, |value|)"
    return check


def metadata(result: Any, format: str, *, inputs: list[dict], check: dict) -> dict[str, Any]:
    """What the exported file says about itself."""
    from automl import __version__

    regression = result.problem_type == "regression"
    return {
        "automl_version": __version__,
        "format": format,
        "task": result.task,
        "problem_type": result.problem_type,
        "classes": None if regression else [_plain(c) for c in result.classes_],
        "output": OUTPUT["regression" if regression else "classification"],
        "inputs": inputs,
        "model": result.describe(),
        "members": result.ensemble,
        "metric": result.metric,
        "validation_score": result.valid_score,
        "check": check,
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- helpers for plugins --------------------------------------------------------------------------
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
        """``np.interp(v, xp, fp)`` for (n, 1) doubles and sorted ``xp`` (ties allowed): fp[0]
        plus each segment's clipped linear piece, and the jump of each zero-width segment
        once v reaches it (np.interp returns the last value of a tied run)."""
        lo, width = xp[:-1], np.diff(xp)
        rise = np.diff(fp)
        flat = width <= 0
        slope = np.where(flat, 0.0, rise / np.where(flat, 1.0, width))
        d = self.op("Sub", [v, self.const(lo[None])])
        clipped = self.op(
            "Min", [self.op("Max", [d, self.const(0.0)]), self.const(np.maximum(width, 0)[None])]
        )
        pieces = self.op("Mul", [clipped, self.const(slope[None])])
        if flat.any():
            reached = self.op(
                "Cast", [self.op("GreaterOrEqual", [v, self.const(lo[None])])], to=11
            )
            jumps = self.op("Mul", [reached, self.const(np.where(flat, rise, 0.0)[None])])
            pieces = self.op("Add", [pieces, jumps])
        total = self.op("ReduceSum", [pieces, self.const([1], np.int64)], keepdims=1)
        return self.op("Add", [total, self.const(float(fp[0]))])
