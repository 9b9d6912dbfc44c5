"""A model folder rewritten with a recomputed manifest passes its checksums: its config.json and
its drift reference are then checked against their schema on load, and every kind of bad value
(a missing key, a wrong type, an empty list, a negative count, an unknown kind) is a DataError
naming the file, never a KeyError/TypeError/IndexError/AttributeError, and never a drift check
switched off."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

import automl
from automl import modelfolder


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    frame = load_iris(as_frame=True).frame
    result = automl.fit(
        frame, target="target", models=["linear"], n_trials=1, storage=":memory:", verbose=False
    )
    return Path(result.save(str(tmp_path_factory.mktemp("schema") / "model")))


@pytest.fixture()
def folder(saved, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(saved, tmp_path / "model"))


def _rewrite(folder: Path, name: str, change: Callable[[dict], object]) -> None:
    """Edit one JSON file of the folder and recompute the manifest, as an attacker (or a
    careless script) who rewrites files can."""
    path = folder / name
    doc = json.loads(path.read_text())
    replaced = change(doc)
    path.write_text(json.dumps(doc if replaced is None else replaced))
    listed = json.loads((folder / modelfolder.MANIFEST).read_text())["files"]
    modelfolder.write_manifest(folder, list(listed))


def _set(keys: str, value: object) -> Callable[[dict], None]:
    """doc[k1][k2]... = value; keys dotted, list positions as numbers."""

    def change(doc: dict) -> None:
        *path, last = [int(k) if k.isdigit() else k for k in keys.split(".")]
        for key in path:
            doc = doc[key]
        doc[last] = value

    return change


def _drop(keys: str) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        *path, last = [int(k) if k.isdigit() else k for k in keys.split(".")]
        for key in path:
            doc = doc[key]
        del doc[last]

    return change


CONFIG_CASES = {
    "not an object": (lambda doc: [doc], "model format None"),
    "missing members": (_drop("members"), "lacks the key 'members'"),
    "missing target": (_drop("target"), "lacks the key 'target'"),
    "missing spec key": (_drop("spec.n_outputs"), r"spec lacks the key 'n_outputs'"),
    "missing member family": (_drop("members.0.family"), r"members\[0\] lacks the key 'family'"),
    "members empty": (_set("members", []), "members must hold at least 1 item"),
    "members as an object": (_set("members", {}), "members must be a list"),
    "params as a list": (_set("members.0.params", []), r"members\[0\].params must be an object"),
    "negative weight": (_set("members.0.weight", -1), r"members\[0\].weight must be above 0"),
    "weight as text": (_set("members.0.weight", "1"), r"members\[0\].weight must be a number"),
    "negative trial": (_set("members.0.trial", -3), r"members\[0\].trial must be at least 0"),
    "input shape as text": (_set("spec.input_shape", "4"), "spec.input_shape must be a list"),
    "negative outputs": (_set("spec.n_outputs", -2), "spec.n_outputs must be at least 1"),
    "unknown problem type": (_set("spec.problem_type", "ranking"), "spec.problem_type must be"),
    "unknown part format": (_set("features.format", "pickle"), "features.format must be one of"),
    "part class as a number": (_set("features.class", 7), "features.class must be a non-empty"),
    "classes missing": (_set("target.classes", None), "lists its classes"),
    "one class": (_set("target.classes", [0]), "target.classes must hold at least 2"),
    "classes unlike outputs": (_set("target.classes", [0, 1, 2, 3]), "disagree"),
    "unknown label dtype": (_set("target.dtype", "int99"), "target.dtype must name a numpy"),
    "timings as a list": (_set("timings", [1]), "timings must be an object"),
    "refit as text": (_set("refit", "yes"), "refit must be true or false"),
    "score as text": (_set("valid_score", "high"), "valid_score must be a number"),
    "unknown direction": (_set("metric_direction", "up"), "metric_direction must be one of"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_a_rewritten_config_is_a_data_error_naming_the_file(case, folder):
    change, message = CONFIG_CASES[case]
    _rewrite(folder, "config.json", change)
    with pytest.raises(automl.DataError, match=message) as caught:
        automl.load(str(folder))
    assert "config.json" in str(caught.value) or "model format" in str(caught.value)


def test_a_config_that_is_not_json_is_a_data_error(folder):
    (folder / "config.json").write_text("{not json")
    listed = json.loads((folder / modelfolder.MANIFEST).read_text())["files"]
    modelfolder.write_manifest(folder, list(listed))
    with pytest.raises(automl.DataError, match=r"config.json is not valid JSON"):
        automl.load(str(folder))


STATE = "state"
DRIFT_CASES = {
    "no features": (_set(f"{STATE}.features", []), "features must hold at least 1"),
    "negative rows": (_set(f"{STATE}.rows", -5), "rows must be at least 1"),
    "rows unlike the counts": (_set(f"{STATE}.rows", 7), "add up to rows"),
    "rows as text": (_set(f"{STATE}.rows", "120"), "rows must be an integer"),
    "missing prediction": (_drop(f"{STATE}.prediction"), "lacks the key 'prediction'"),
    "unknown kind": (_set(f"{STATE}.features.0.kind", "ordinal"), r"features\[0\].kind must be"),
    "name as a number": (_set(f"{STATE}.features.0.name", 3), r"features\[0\].name must be"),
    "levels as text": (_set(f"{STATE}.prediction.levels", "abc"), "prediction.levels must be a"),
    "levels without other": (_set(f"{STATE}.prediction.levels", ["0", "1", "2", "3"]), "'other'"),
    "priors as a list": (_set(f"{STATE}.class_priors", [1, 2]), "class_priors must be an object"),
    "negative prior": (_set(f"{STATE}.class_priors.0", -0.5), r"class_priors.0 must be at least"),
    "counts of another length": (
        _set(f"{STATE}.features.0.counts", {"__ndarray__": "a0"}),  # the edges' array
        "one entry per bin",
    ),
    "an array the npz lacks": (
        _set(f"{STATE}.features.0.counts", {"__ndarray__": "a99"}),
        "drift.json names the array 'a99', which its .npz lacks",
    ),
    "negative counts": (_set(f"{STATE}.features.0.counts", [-1.0] * 11), "non-negative"),
    "edges out of order": (_set(f"{STATE}.features.0.edges", [3.0, 1.0]), "increasing edges"),
    "duplicate names": (
        lambda doc: doc[STATE]["features"].append(doc[STATE]["features"][0]),
        "two features have one name",
    ),
    "no state": (_drop(STATE), "lacks the key 'state'"),
}


@pytest.mark.parametrize("case", sorted(DRIFT_CASES))
def test_a_rewritten_drift_reference_is_a_data_error_naming_the_file(case, folder):
    change, message = DRIFT_CASES[case]
    _rewrite(folder, "drift.json", change)
    with pytest.raises(automl.DataError, match=message) as caught:
        automl.load(str(folder))
    assert "drift.json" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("features.json", _set(f"{STATE}.columns", 5)),
        ("features.json", _drop(f"{STATE}.input_columns")),
        ("profile.json", _set(f"{STATE}.columns", [["a"]])),
        ("profile.json", _set(STATE, [])),
    ],
)
def test_a_plugin_part_rewritten_is_a_data_error_naming_the_file(name, change, folder):
    _rewrite(folder, name, change)
    with pytest.raises(automl.DataError, match=rf"{name} cannot be read back"):
        automl.load(str(folder))


def test_a_drift_reference_unlike_the_profile_is_named_when_monitoring(folder):
    _rewrite(folder, "drift.json", _set(f"{STATE}.features.0.name", "not measured"))
    result = automl.load(str(folder))
    x = load_iris(as_frame=True).data
    with pytest.raises(automl.DataError, match=r"bins for \['not measured'\].*disagree"):
        result.monitor(x)


def test_saved_folders_pass_their_schema_unchanged(folder, tmp_path, diabetes):
    """The checks refuse what automl does not write, not what it writes: the iris folder, a
    regression and a categorical target load as saved (test_modelfolder loads the other
    built-in kinds)."""
    import pandas as pd

    x = load_iris(as_frame=True).data
    assert automl.load(str(folder)).monitor(x).summary["rows"] == 150
    quick = {"models": ["linear"], "n_trials": 1, "storage": ":memory:", "verbose": False}
    regression = automl.fit(diabetes, **quick)
    loaded = automl.load(regression.save(str(tmp_path / "regression")))
    assert np.allclose(loaded.predict(diabetes[0]), regression.predict(diabetes[0]))
    labels = pd.Categorical(np.array(["a", "b", "c"])[load_iris().target], ["c", "b", "a"])
    categorical = automl.fit((x, labels), **quick)
    loaded = automl.load(categorical.save(str(tmp_path / "categorical")))
    assert list(loaded.predict(x).categories) == ["c", "b", "a"]


def test_a_torch_member_rewritten_is_a_data_error_naming_the_file(tmp_path):
    frame = load_iris(as_frame=True).frame
    result = automl.fit(
        frame,
        target="target",
        models=["mlp"],
        max_epochs=1,
        n_trials=1,
        storage=":memory:",
        verbose=False,
    )
    folder = Path(result.save(str(tmp_path / "mlp")))
    params = "members.0.params"

    def width(value: int) -> Callable[[dict], None]:  # the key "mlp.width" holds a dot
        return lambda doc: _set(params, {**doc["members"][0]["params"], "mlp.width": value})(doc)

    _rewrite(folder, "config.json", width(8))
    with pytest.raises(automl.DataError, match="weights.pt does not fit the network"):
        automl.load(str(folder))
    _rewrite(folder, "config.json", width(256))
    automl.load(str(folder))  # as saved again
    _rewrite(folder, "config.json", _drop("members.0.y_scale"))
    with pytest.raises(automl.DataError, match=r"config.json \(member 0.*KeyError: 'y_scale'"):
        automl.load(str(folder))
