"""Export a fitted result as one ONNX graph of its predict path (or, for torch models,
TorchScript), checked on the spot against the model's own predictions.

The task's ``Exporter`` (``Task.exporter()``, in its plugin) names the graph's inputs and how raw
rows feed them, and builds the shared preprocessing and one graph per member (with the building
blocks of ``automl.onnx_parts``). The members are joined (an ensemble becomes every member and
their weighted average), onnxruntime runs the graph on the check rows (at least 100 of them,
and the task's named edge rows: see ``automl.export_check``), and the file is written only when
its outputs agree with ``predict_proba`` (or ``predict`` for regression) within ``TOLERANCE``
on every one. The check's result is stored in the file (ONNX ``metadata_props["automl"]``,
TorchScript extra file ``automl.json``) and returned.

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

from automl import kinds
from automl.errors import ExportError
from automl.export_check import (
    CHECK_ROWS,
    TOLERANCE,
    CheckPlan,
    EdgeRows,
    agreement,
    check_plan,
    failure,
    head,
)
from automl.onnx_parts import OUTPUT, join, require
from automl.outputs import check_file

__all__ = ["CHECK_ROWS", "TOLERANCE", "EdgeRows", "Exporter", "GraphInput", "export"]
TRACE_ROWS = 3  # rows a TorchScript trace is recorded on (then checked on every check row)
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

    def edge_rows(self, result: Any) -> EdgeRows | None:
        """Rows at the edges of the training data, as ``predict`` takes them, one name each
        (a number missing, a level never seen, the extremes), which the check runs on besides
        the ordinary rows; None (the default): the task builds none, and the check says so."""
        return None

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
    plan = check_plan(result, exporter, data)
    if format == "onnx":
        return _export_onnx(result, exporter, target, plan)
    return _export_torchscript(result, exporter, target, plan)


# -- ONNX ----------------------------------------------------------------------------------------
def _export_onnx(result: Any, exporter: Exporter, path: Path, plan: CheckPlan) -> dict[str, Any]:
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
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    check = agreement(
        plan, lambda rows: session.run(None, exporter.feed(result, rows))[0], "onnxruntime"
    )
    meta = metadata(result, "onnx", inputs=[_describe(i) for i in inputs], check=check)
    if not check["passed"]:
        raise failure("ONNX graph", check)
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
    result: Any, exporter: Exporter, path: Path, plan: CheckPlan
) -> dict[str, Any]:
    import io

    import torch

    others = [m.family.name for m in result.members if _torch_module(m.predictor) is None]
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

    def examples(rows: Any) -> tuple:
        return tuple(
            exporter.torch_input(result, i, m, rows) for i, m in enumerate(result.members)
        )

    # traced on a few rows, checked on all: a trace that baked in the example's shape fails
    few = examples(head(plan.sets[0].rows, TRACE_ROWS))
    wrapper.eval()
    try:
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, few, check_trace=False)
    except Exception as exc:
        raise ExportError(
            f"the model cannot be traced to TorchScript: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:300]}"
        ) from None

    def run(rows: Any) -> np.ndarray:
        with torch.no_grad():
            return traced(*examples(rows)).double().numpy()

    check = agreement(plan, run, "torch.jit")
    inputs = [
        {"name": f"input{i}", "description": exporter.torch_contract(result)}
        for i in range(len(few))
    ]
    meta = metadata(result, "torchscript", inputs=inputs, check=check)
    if not check["passed"]:
        raise failure("TorchScript module", check)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={"automl.json": json.dumps(meta)})
    _write_atomically(path, buffer.getvalue())
    return meta


def _torch_module(predictor: Any) -> Any:
    """The torch module of a trained model, as its kind gives it (None: not a torch model)."""
    kind, inner = kinds.of_predictor(predictor)
    return kind.torch_module(inner)


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
        "positive_class": result.positive_class,
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
