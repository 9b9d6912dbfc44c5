"""A conformance kit for plugins, as scikit-learn's ``check_estimator`` is for estimators.

``check_task(task, dataset, target, rows=...)`` runs a Task's contract on a small sample of its
input: ``accepts`` scores it, ``adapt`` returns consistent ``TaskData``, bad inputs raise
``DataError`` (never another error, never a model), a search with the task's families returns a
model whose predictions have the rows' length and the user's labels (finite values for
regression), that model survives ``save`` / ``automl.load`` with the same predictions, and the
task's explainer (if it offers one) explains two rows. ``check_family(family, data)`` runs a
ModelFamily's: its parameters are prefixed with its name, ``build`` gives a model of its kind, it
trains within the core's training loop to the outputs the core expects for the problem type
(class probabilities ``(n, k)`` summing to 1; regression values ``(n,)`` on the target's scale
that follow the training targets), and (torch) it stops at a deadline within one batch.
``check_kind(kind, family, data)`` runs a plugin's own ModelKind's (``automl._kind_checks``): the
core finds it by name and from its models, it trains (search fit, weighted refit, a passed
deadline), weighs itself, and saves into a model folder (no pickle) that loads back with
identical outputs. Each returns the names of the checks it ran; a failed check raises
``AssertionError`` naming the plugin object and what broke.

    from automl.testing import check_family, check_kind, check_task

    check_task(MyTask(), dataset, target, rows=new_rows, families=[MyFamily()])
    check_kind(MyFamily.kind, MyFamily(), data)  # data: MyTask().adapt(dataset, target)
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from automl import kinds
from automl._kind_checks import (
    CHECK_EPOCHS,
    _fail,
    _require,
    check_kind,
    check_output,
    check_regression_fit,
    suggested,
)
from automl.errors import DataError, PluginError
from automl.hookspecs import hookimpl
from automl.space import SHARED_PARAMS
from automl.task import PROBLEM_TYPES, ModelFamily, Task, TaskData

__all__ = ["check_family", "check_kind", "check_task"]


class _Plugin:
    """Registers the checked task and families, as an installed plugin's hooks would."""

    def __init__(self, task: Task | None, families: Iterable[ModelFamily]) -> None:
        self.task, self.families = task, list(families)
        self.__name__ = f"automl-testing-{getattr(task, 'name', 'families')}"

    @hookimpl
    def automl_register_tasks(self, register: Any) -> None:
        if self.task is not None:
            register(self.task)

    @hookimpl
    def automl_register_models(self, register: Any) -> None:
        for family in self.families:
            register(family)


def check_task(  # noqa: PLR0915
    task: Task,
    dataset: Any,
    target: Any = None,
    *,
    rows: Any,
    families: Iterable[ModelFamily] = (),
    bad_inputs: Iterable[tuple[Any, Any]] = (),
    n_trials: int | None = None,
) -> list[str]:
    """Run the Task contract (see the module docstring) on ``dataset`` / ``target``.

    ``rows``: raw rows as ``predict`` takes them (a few). ``families``: families to register
    with the task; none: the task is an installed plugin's, searched with its installed
    families. ``bad_inputs``: (dataset, target) pairs that ``adapt`` must refuse with
    ``DataError``. ``n_trials``: the search's (default: one per family)."""
    import automl
    from automl.plugins import load_registry

    done: list[str] = []
    families = list(families)
    _require(isinstance(task, Task), task, "is not an automl.Task")
    _require(isinstance(task.name, str) and task.name != "", task, "has no name")

    score = task.accepts(dataset, target)
    _require(isinstance(score, (int, float)), task, f"accepts() returned {score!r}, not a number")
    _require(0.0 < float(score) <= 1.0, task, f"accepts() scores its own input {score}")
    _require(task.accepts(object(), None) == 0, task, "accepts() claims an object() (should be 0)")
    done.append("accepts")

    data = task.adapt(dataset, target, valid_fraction=0.25, seed=0)
    _check_task_data(task, data)
    done.append("adapt")

    for i, (bad, bad_target) in enumerate(bad_inputs):
        try:
            task.adapt(bad, bad_target, valid_fraction=0.25, seed=0)
        except DataError as exc:
            _require(len(str(exc)) > 20, task, f"bad input {i}: the DataError says too little")
            continue
        except Exception as exc:
            raise _fail(
                task, f"bad input {i} raised {type(exc).__name__}: {exc} (expected DataError)"
            ) from exc
        raise _fail(task, f"bad input {i} was accepted by adapt (expected DataError)")
    if bad_inputs:
        done.append("bad inputs refused")

    registry = load_registry()
    installed = task.name in registry.tasks
    _require(
        installed or bool(families), task, "is not installed: pass the families to check it with"
    )
    plugins = [_Plugin(None if installed else task, families)] if families else None
    # the installed families that can use this data (pretrained backbones need pretrained=)
    usable = families or [f for f in registry.families(task.name) if f.supports(data)]
    names = [f.name for f in usable]
    _require(bool(names), task, "has no installed family that supports its own adapted data")
    for family in families:
        check_family(family, data)
    if families:
        done.append("families")
    result = automl.fit(
        dataset,
        target,
        task=task.name,
        plugins=plugins,
        models=names,
        n_trials=n_trials or len(names),
        max_epochs=CHECK_EPOCHS,
        storage=":memory:",
        verbose=False,
        report=False,
        save=False,
    )
    predicted = np.asarray(result.predict(rows))
    _require(predicted.ndim == 1 and len(predicted) > 0, task, "predict gave no 1-D labels")
    if data.problem_type == "regression":
        _require(
            predicted.dtype.kind in "fiu" and bool(np.isfinite(predicted).all()),
            task,
            f"predict gave regression values that are not finite numbers: {predicted[:5]}",
        )
    else:
        classes = set(np.asarray(data.target.classes, dtype=object).tolist())
        unknown = set(predicted.tolist()) - classes
        _require(not unknown, task, f"predict returned labels {unknown} not among {classes}")
        proba = np.asarray(result.predict_proba(rows))
        _require(
            np.allclose(proba.sum(axis=1), 1.0, atol=1e-4), task, "probabilities do not sum to 1"
        )
    done.append("fit and predict")

    with tempfile.TemporaryDirectory() as folder:
        loaded = automl.load(result.save(str(Path(folder) / "model")), plugins=plugins)
        again = np.asarray(loaded.predict(rows))
        _require(
            again.tolist() == predicted.tolist(),
            task,
            "a saved and loaded model predicts differently",
        )
    done.append("save and load")

    if task.explainer() is not None:
        explanation = result.explain(rows, method="shap", seconds=30)
        values = np.asarray(explanation.values)
        _require(values.ndim == 2 and len(values) >= 1, task, "SHAP gave no values per row")
        _require(np.isfinite(values).all(), task, "SHAP values are not finite")
        done.append("explain")
    return done


def _check_task_data(task: Task, data: TaskData) -> None:
    _require(isinstance(data, TaskData), task, f"adapt returned {type(data).__name__}")
    _require(data.problem_type in PROBLEM_TYPES, task, f"problem type {data.problem_type!r}")
    _require(bool(data.problem_type_reason), task, "gives no problem_type_reason")
    for name in ("x_train", "x_valid"):
        _require(len(getattr(data, name)) > 0, task, f"{name} is empty")
    _require(len(data.x_train) == data.n_train, task, "x_train and y_train differ in length")
    _require(len(data.x_valid) == data.n_valid, task, "x_valid and y_valid differ in length")
    n_out = 1 if data.problem_type == "regression" else len(data.target.classes or ())
    _require(data.spec.n_outputs == n_out, task, f"spec.n_outputs is not {n_out}")
    if isinstance(data.x_train, np.ndarray) and data.x_train.dtype.kind in "fiub":
        _require(
            tuple(data.x_train.shape[1:]) == tuple(data.spec.input_shape),
            task,
            f"spec.input_shape {data.spec.input_shape} is not one row's shape "
            f"{data.x_train.shape[1:]}",
        )
    if data.problem_type != "regression":
        _require(
            data.y_train.dtype.kind in "iu" and data.y_train.min() >= 0,
            task,
            "classification labels are not encoded as class indices (TargetEncoder)",
        )
    _require(data.max_epochs >= 1, task, "max_epochs below 1")


def _own_or_shared(family: ModelFamily, name: str) -> bool:
    prefixes = (family.name + ".", *family.shared_prefixes)
    return name.startswith(prefixes) or name in SHARED_PARAMS


def check_family(family: ModelFamily, data: TaskData) -> list[str]:
    """Run the ModelFamily contract (see the module docstring) on adapted ``data``."""
    from automl.metrics import resolve
    from automl.objective import train_candidate

    done: list[str] = []
    _require(isinstance(family, ModelFamily), family, "is not an automl.ModelFamily")
    try:
        kind = kinds.of(family)
    except PluginError as exc:
        _require(False, family, str(exc))
    _require(isinstance(family.task, str) and bool(family.task), family, "names no task")
    _require(family.supports(data), family, f"does not support this {data.problem_type} data")

    own, params = suggested(family, data)
    _require(bool(own), family, "suggests no parameter")
    stray = [k for k in own if not _own_or_shared(family, k)]
    _require(not stray, family, f"parameters not prefixed with {family.name + '.'!r}: {stray}")
    defaults = family.default_params(data)
    if defaults is not None:
        stray = [k for k in defaults if not _own_or_shared(family, k)]
        _require(not stray, family, f"default_params not prefixed: {stray}")
    _require(isinstance(family.describe(params), str), family, "describe() is not a string")
    done.append("suggest")

    spec = data.spec
    featurizer = family.featurizer(params, data)
    if featurizer is not None:  # the family's own input transform, fitted as the core does
        spec = featurizer.fit(data.x_train, data.y_train).spec(data.spec)
    model = family.build(params, spec)
    wrong = kind.check_build(model)
    _require(wrong is None, family, f"build() {wrong}")
    done.append("build")

    short = dataclasses.replace(data, max_epochs=CHECK_EPOCHS)
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    outcome = train_candidate(family, params, short, metric, device="cpu", seed=0)
    check_output(family, outcome.predictor.output(data.x_valid), data, data.n_valid)
    if data.problem_type == "regression":
        fitted = check_output(family, outcome.predictor.output(data.x_train), data, data.n_train)
        check_regression_fit(family, fitted, data.y_train)
    _require(math.isfinite(outcome.score), family, f"validation score {outcome.score}")
    done.append("train")

    if outcome.batches:  # a kind that trains in batches stops within one of a deadline
        stopped = train_candidate(
            family, params, short, metric, device="cpu", seed=0, deadline=time.monotonic()
        )
        _require(
            stopped.stopped_by == "time_budget" and stopped.batches <= 1,
            family,
            f"a passed deadline still trained {stopped.batches} batches",
        )
        done.append("deadline")
    return done
