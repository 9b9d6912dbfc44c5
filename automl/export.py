"""Export a fitted result as one ONNX graph of its predict path (or, for torch models,
TorchScript), checked on the spot against the model's own predictions.

The task's ``Exporter`` (``Task.exporter()``, in its plugin) names the graph's inputs and how raw
rows feed them, and builds the shared preprocessing and one graph per member (with the building
blocks of ``automl.onnx_parts``). The members are joined (an ensemble becomes every member and
their weighted average), onnxruntime runs the graph on the check rows, and the file is written
only when its outputs agree with ``predict_proba`` (or ``predict`` for regression) within
``TOLERANCE``. The check's result is stored in the file
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
from automl.onnx_parts import OUTPUT, join, require
from automl.outputs import check_file

TOLERANCE = 1e-4
CHECK_ROWS = 200  # rows the agreement check runs on, at most
TRACE_ROWS = 3  # rows a TorchScript trace is recorded on (then checked on all CHECK_ROWS)
FORMATS = ("onnx", "torchscript")


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
    target = check_file(path, "the export")
    exporter = result.plugin().exporter()
    if exporter is None:
        raise ExportError(f"the {result.task} task has no exporter: its models cannot be exported")
    rows, source = check_rows(result, exporter, data)
    expected = _expected(result, rows)
    if format == "onnx":
        return _export_onnx(result, exporter, target, rows, source, expected)
    return _export_torchscript(result, exporter, target, rows, source, expected)


def check_rows(result: Any, exporter: Exporter, data: Any) -> tuple[Any, str]:
    """(rows to check the export on, where they come from)."""
    if data is not None:
        return _head(data, CHECK_ROWS), "given rows"
    if result.holdout_raw is not None:
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
