"""Model kinds are strategy objects: the built-in ones by name, and a plugin's own ModelKind
(here a nearest-centroid model saved as .npz) searched, saved, loaded and described without a
change to the core; the kind, not the core, seeds a build, releases the device and decides an
out-of-memory retry, and no core or plugin module switches on the built-in kinds' names."""

from __future__ import annotations

import ast
import time

import numpy as np
import pytest

import automl
from automl import kinds
from automl.errors import PluginError
from automl.kinds import ModelKind
from automl.predictors import Predictor
from automl.training import TrainOutcome
from tests import ROOT


class CentroidPredictor(Predictor):
    kind = "centroid"

    def __init__(self, centroids, temperature, problem_type, n_outputs):
        super().__init__(problem_type, n_outputs)
        self.centroids, self.temperature = centroids, temperature

    def output(self, x):
        d = ((np.asarray(x)[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        z = -d / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


class CentroidKind(ModelKind):
    name = "centroid"

    def train(self, family, model, params, data, metric, split, options):
        started = time.perf_counter()
        x, y = np.asarray(split.x_train, dtype=np.float64), split.y_train
        n = data.spec.n_outputs
        centroids = np.stack([x[y == k].mean(axis=0) for k in range(n)])
        predictor = CentroidPredictor(centroids, model["temperature"], data.problem_type, n)
        score = float("nan")
        if split.x_valid is not None:
            score = metric(split.y_valid, predictor.output(split.x_valid))
        seconds = time.perf_counter() - started
        return TrainOutcome(predictor, score, 1, 1, "fit", seconds)

    def check_build(self, model):
        return None if isinstance(model, dict) else "is not a dict of settings"

    def stoppable(self, family, build):
        return False  # one pass, which reads no clock: planned from its cost

    def nbytes(self, predictor):
        return predictor.centroids.nbytes

    def save(self, predictor, folder):
        np.savez(folder / "centroids.npz", centroids=predictor.centroids)
        return {"temperature": predictor.temperature}, ["centroids.npz"]

    def load(self, family, params, spec, entry, path, device, trusted):
        with np.load(path("centroids.npz"), allow_pickle=False) as saved:
            centroids = saved["centroids"]
        return CentroidPredictor(
            centroids, entry["temperature"], spec.problem_type, spec.n_outputs
        )

    def describe(self, family, predictor):
        return f"{len(predictor.centroids)} class centroids", predictor.centroids.size, "numbers"


class CentroidFamily(automl.ModelFamily):
    name, task, kind = "centroid", "tabular", CentroidKind()
    problem_types = ("binary", "multiclass")

    def suggest(self, trial, data):
        trial.suggest_float("centroid.temperature", 0.1, 10.0, log=True)

    def build(self, params, spec):
        return {"temperature": params["centroid.temperature"]}


class CentroidPlugin:
    @automl.hookimpl
    def automl_register_models(self, register):
        register(CentroidFamily())


def test_built_in_kinds_by_name_and_an_unknown_one_refused():
    assert kinds.get("torch").name == "torch" and kinds.get("sklearn").name == "sklearn"
    with pytest.raises(PluginError, match="unknown model kind 'xgb'"):
        kinds.get("xgb")


def test_a_plugin_kind_may_not_take_a_built_in_name():
    class Shadow(CentroidKind):
        name = "sklearn"

    class ShadowFamily(CentroidFamily):
        name, kind = "shadow", Shadow()

    with pytest.raises(PluginError, match="takes the name 'sklearn' of a built-in kind"):
        kinds.of(ShadowFamily())
    assert type(kinds.get("sklearn")).__name__ == "SklearnKind"


def test_a_plugin_kind_is_searched_saved_loaded_and_described(iris_frame, tmp_path):
    plugins = ["tabular", CentroidPlugin()]
    result = automl.fit(
        iris_frame,
        "target",
        models=["centroid"],
        plugins=plugins,
        n_trials=3,
        storage=":memory:",
        verbose=False,
        report=False,
    )
    assert {m.family.name for m in result.members} == {"centroid"}
    assert (result.predict(iris_frame) == iris_frame["target"]).mean() > 0.85
    path = result.save(str(tmp_path / "model"))
    loaded = automl.load(path, plugins=plugins)
    assert np.allclose(loaded.predict_proba(iris_frame), result.predict_proba(iris_frame))
    from automl.report.sections.model import _architecture

    member = loaded.members[0]
    part = _architecture(member.predictor, member.family, member.params)
    assert part["kind"] == "centroid" and part["summary"] == "3 class centroids"


def test_the_conformance_kit_accepts_a_plugin_kind(iris_frame):
    from automl.plugins import load_registry
    from automl.testing import check_family, check_kind

    data = load_registry(["tabular"]).tasks["tabular"].adapt(iris_frame, "target", seed=0)
    assert check_family(CentroidFamily(), data) == ["suggest", "build", "train"]
    assert check_kind(CentroidFamily.kind, CentroidFamily(), data) == [
        "name",
        "build",
        "train",
        "refit",
        "to host",
        "save and load",
        "describe",
    ]


class _DeviceFull(RuntimeError):
    """What the counting kind raises where a real device would run out of memory."""


class CountingKind(CentroidKind):
    """A centroid kind that searches a batch size, "runs out of memory" above 16 rows a
    batch, and records what the core asks of it: the hooks a plugin's own kind overrides."""

    def __init__(self, name, retries=True):
        self.name, self.retries, self.calls = name, retries, []

    def suggest_training(self, trial):
        trial.suggest_categorical("batch_size", [32])

    def seed(self, seed):
        self.calls.append(("seed", seed))

    def release(self):
        self.calls.append(("release",))

    def out_of_memory(self, exc):
        return isinstance(exc, _DeviceFull)

    def retry(self, exc, params):
        return super().retry(exc, params) if self.retries else None

    def train(self, family, model, params, data, metric, split, options):
        self.calls.append(("train", params["batch_size"], options.seed))
        if params["batch_size"] > 16:
            raise _DeviceFull("device full (simulated)")
        return super().train(family, model, params, data, metric, split, options)


def _one_trial(iris_frame, counting):
    """One trial of a centroid family of the kind ``counting``, through the search's
    objective."""
    import optuna

    from automl.metrics import METRICS
    from automl.objective import SearchRecords, make_objective
    from automl.plugins import load_registry

    class Family(CentroidFamily):
        name, kind = counting.name, counting

    from automl import kinds

    kinds.of(CentroidFamily())  # its models carry the kind name "centroid": known in any order
    registry = load_registry(plugins=["tabular"])
    data = registry.task("tabular").adapt(iris_frame, "target")
    accuracy = METRICS["accuracy"]
    objective = make_objective(
        data,
        [Family()],
        accuracy,
        device="cpu",
        seed=7,
        deadline=None,
        records=SearchRecords(accuracy),
    )
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1, catch=(Exception,))
    return study.trials[0]


def test_a_plugin_kind_seeds_releases_and_retries_at_half_the_batch(iris_frame):
    """The objective asks the family's kind: to seed before each build, to release the device
    before the retry and after the trial, and whether (and how) to retry the fit that ran
    out of memory: once, at half its batch size, recorded on the trial."""
    kind = CountingKind("counting_centroid")
    trial = _one_trial(iris_frame, kind)
    assert trial.state.name == "COMPLETE" and trial.value > 0.5  # chance: 1/3
    assert trial.user_attrs["oom_retry"] == "out of memory at batch size 32"
    assert trial.user_attrs["batch_size_used"] == 16
    seed = 7 + trial.number
    assert kind.calls == [
        ("seed", seed),
        ("train", 32, seed),
        ("release",),  # before the retry
        ("seed", seed),
        ("train", 16, seed),
        ("release",),  # after the trial
    ]
    from automl.objective import effective_params

    assert effective_params(trial)["batch_size"] == 16  # what its refit trains with


def test_a_plugin_kind_that_declines_the_retry_fails_its_trial(iris_frame):
    kind = CountingKind("unretried_centroid", retries=False)
    trial = _one_trial(iris_frame, kind)
    assert trial.state.name == "FAIL"
    assert trial.user_attrs["reason"] == "_DeviceFull: device full (simulated)"
    assert [c for c in kind.calls if c[0] == "train"] == [("train", 32, 7 + trial.number)]
    assert "oom_retry" not in trial.user_attrs


BUILT_IN_NAMES = {"torch", "sklearn"}
BUILT_IN_CLASSES = {"TorchKind", "SklearnKind", "TorchPredictor", "SklearnPredictor"}


def _reads_a_kind(node: ast.AST) -> bool:
    """Whether an expression reads a kind: ``kind``, ``x.kind``, ``kind.name`` ..."""
    return any(
        (isinstance(n, ast.Name) and "kind" in n.id.lower())
        or (isinstance(n, ast.Attribute) and "kind" in n.attr.lower())
        for n in ast.walk(node)
    )


def kind_switches(source: str) -> list[int]:
    """Lines that compare a kind with a built-in kind's name ("torch", "sklearn") or test a
    model or kind against a built-in kind's class (``isinstance(kind, TorchKind)``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = [s for s in sides if isinstance(s, ast.Constant) and s.value in BUILT_IN_NAMES]
            if names and any(_reads_a_kind(s) for s in sides if s not in names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            classes = ast.walk(node.args[1]) if len(node.args) == 2 else ()
            if any(
                getattr(n, "id", getattr(n, "attr", None)) in BUILT_IN_CLASSES for n in classes
            ):
                lines.append(node.lineno)
    return lines


def test_the_kind_switch_check_finds_what_the_export_paths_held():
    """The two comparisons the export paths held before they asked the kind."""
    assert kind_switches('others = [m for m in ms if m.predictor.kind != "torch"]') == [1]
    assert kind_switches('if predictor.kind == "torch":\n    pass') == [1]
    assert kind_switches("ok = isinstance(kind, TorchKind)") == [1]
    assert kind_switches('if "torch" in sys.modules or plan.kind == "numeric":\n    pass') == []


def test_no_module_switches_on_a_built_in_kind_name():
    """The core and the plugins ask a model's kind (``kinds.of``, ``kinds.of_predictor``,
    ``automl.plugin.kind_of``) what to do instead of comparing its name with "torch" or
    "sklearn": a plugin's own kind (a pretrained torch backbone, CatBoost) then takes the same
    paths as the built-in one it extends."""
    found = {}
    for folder in ("automl", "plugins"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = kind_switches(path.read_text())
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    assert not found, found
