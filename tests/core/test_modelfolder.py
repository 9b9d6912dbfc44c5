"""Model folders are safe to load: every file read is listed with its sha256 in a manifest that
covers itself, nothing outside the folder or unlisted is read, no file is a pickle (crafted
files are refused before anything runs), a failed re-save keeps the old model, and storage
passwords never reach the disk or the console."""

from __future__ import annotations

import errno
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import automl
from automl import artifacts, modelfolder
from tests import DATA

QUICK = {"n_trials": 1, "storage": ":memory:", "verbose": False, "report": False}
MARKER = "pwned.txt"


class _Evil:
    """Runs a command when unpickled."""

    def __reduce__(self):
        return (os.system, (f"echo pwned > {MARKER}",))


class _Holder:
    """An innocent-looking object that carries one: what a crafted skops file would hold."""

    def __init__(self):
        self.payload = "x"


@pytest.fixture(scope="module")
def iris_result():
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    return automl.fit(frame, target="target", models=["linear"], **QUICK), frame


@pytest.fixture()
def folder(iris_result, tmp_path) -> Path:
    return Path(iris_result[0].save(str(tmp_path / "model")))


def _relist(folder: Path) -> None:
    """What an attacker who rewrites files can also do: recompute the whole manifest."""
    names = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != modelfolder.MANIFEST
    ]
    modelfolder.write_manifest(folder, names)


def _refused(folder: Path, match: str) -> None:
    with pytest.raises(automl.DataError, match=match):
        automl.load(str(folder))
    assert not Path(MARKER).exists(), "a crafted file ran code on load"


def test_an_unlisted_file_is_never_read(folder):
    (folder / "member_0" / "featurizer.joblib").write_bytes(pickle.dumps(_Evil()))
    _refused(folder, "does not list")


def test_an_emptied_or_partial_manifest_refuses_the_load(folder):
    manifest = folder / modelfolder.MANIFEST
    good = manifest.read_text()
    manifest.write_text("{}")
    _refused(folder, "manifest format")
    doc = json.loads(good)
    del doc["files"]["member_0/estimator.skops"]
    manifest.write_text(json.dumps(doc))  # the digest no longer matches the list
    _refused(folder, "damaged")
    modelfolder.write_manifest(folder, [n for n in doc["files"]])  # a consistent, partial list
    _refused(folder, r"does not list: \['member_0/estimator.skops'\]")


def test_an_edited_config_fails_its_checksum(folder):
    config = json.loads((folder / "config.json").read_text())
    config["members"][0]["kind"] = "torch"
    (folder / "config.json").write_text(json.dumps(config))
    _refused(folder, "does not match its checksum")


def test_paths_that_leave_the_folder_and_links_are_refused(folder, tmp_path):
    outside = tmp_path / "outside.skops"
    outside.write_bytes((folder / "member_0" / "estimator.skops").read_bytes())
    doc = json.loads((folder / modelfolder.MANIFEST).read_text())
    doc["files"]["../outside.skops"] = modelfolder.sha256(outside)
    doc["digest"] = modelfolder._digest(doc["files"])
    (folder / modelfolder.MANIFEST).write_text(json.dumps(doc))
    _refused(folder, "outside the folder")
    estimator = folder / "member_0" / "estimator.skops"
    estimator.unlink()
    estimator.symlink_to(outside)
    _relist(folder)
    _refused(folder, "is a link")


def test_a_recomputed_manifest_cannot_make_a_crafted_file_run(folder):
    import skops.io

    estimator = folder / "member_0" / "estimator.skops"
    holder = _Holder()
    holder.payload = _Evil()
    skops.io.dump(holder, estimator)
    _relist(folder)
    _refused(folder, "does not trust by default")
    estimator.write_bytes(pickle.dumps(_Evil()))  # a pickle under the skops name
    _relist(folder)
    _refused(folder, "not a skops file")


def test_a_crafted_pickle_in_torch_weights_is_refused(tmp_path, iris_result):
    result = automl.fit(iris_result[1], target="target", models=["mlp"], max_epochs=2, **QUICK)
    folder = Path(result.save(str(tmp_path / "mlp")))
    torch.save({"0.weight": _Evil()}, folder / "member_0" / "weights.pt")
    _relist(folder)
    _refused(folder, "not a plain state dict")


@pytest.mark.parametrize(
    ("name", "message"),
    [("os:system", "no loaded plugin provides"), ("automl.errors:DataError", "not a")],
)
def test_a_part_naming_foreign_code_is_refused(folder, name, message):
    doc = json.loads((folder / "features.json").read_text())
    doc["class"] = name
    (folder / "features.json").write_text(json.dumps(doc))
    _relist(folder)
    _refused(folder, message)


def _saved_models(tmp_path) -> dict[str, Path]:
    """A model of each built-in kind of part: tabular (preprocessing, pair columns, trees),
    text (TF-IDF and a token-id network) and vision."""
    adult = pd.read_csv(DATA / "adult_sample.csv")
    sms = pd.read_csv(DATA / "sms_spam_sample.csv")
    with np.load(DATA / "mnist_sample.npz") as f:
        images, digits = f["x_train"][:200], f["y_train"][:200]
    fits = {
        "trees": automl.fit(
            adult, target="class", models=["hist_gb", "extra_trees"], ensemble=False, **QUICK
        ),
        "tfidf": automl.fit(sms, target="label", models=["tfidf_linear"], **QUICK),
        "fasttext": automl.fit(sms, target="label", models=["fasttext"], max_epochs=1, **QUICK),
        "images": automl.fit(
            (images, digits), models=["pixel_mlp"], max_epochs=1, image_size=10, **QUICK
        ),
    }
    return {k: Path(r.save(str(tmp_path / k))) for k, r in fits.items()}


def test_built_in_models_hold_no_pickle_and_load_without_trust(tmp_path):
    for kind, folder in _saved_models(tmp_path).items():
        files = [p for p in folder.rglob("*") if p.is_file()]
        suffixes = {p.suffix for p in files}
        assert suffixes <= {".json", ".npz", ".skops", ".pt"}, (kind, suffixes)
        for npz in (p for p in files if p.suffix == ".npz"):
            with np.load(npz, allow_pickle=False) as arrays:  # raises on object arrays
                [arrays[k] for k in arrays.files]
        for skops_file in (p for p in files if p.suffix == ".skops"):
            import skops.io

            untrusted = set(skops.io.get_untrusted_types(file=skops_file))
            assert untrusted <= set(artifacts.TRUSTED_TYPES), (kind, untrusted)
        assert automl.load(str(folder)).model_name  # no trusted= needed


def test_a_failed_resave_keeps_the_old_model(folder, iris_result, monkeypatch):
    result, frame = iris_result
    x = frame.drop(columns="target")
    before = automl.load(str(folder)).predict_proba(x)

    def no_space(obj, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(artifacts, "save_skops", no_space)
    with pytest.raises(OSError, match="No space left"):
        result.save(str(folder))
    assert np.array_equal(automl.load(str(folder)).predict_proba(x), before)
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_saving_another_model_into_a_folder_leaves_nothing_stale(tmp_path, iris_result):
    sms = pd.read_csv(DATA / "sms_spam_sample.csv")
    text = automl.fit(sms, target="label", models=["fasttext"], max_epochs=1, **QUICK)
    target = tmp_path / "shared"
    text.save(str(target))
    assert (target / "member_0" / "featurizer.json").is_file()
    iris_result[0].save(str(target))
    assert not (target / "member_0" / "featurizer.json").exists()
    loaded = automl.load(str(target))
    assert loaded.task == "tabular"
    assert loaded.predict(iris_result[1].drop(columns="target")).shape == (150,)


def test_save_refuses_to_replace_a_folder_that_is_not_a_model(tmp_path, iris_result):
    notes = tmp_path / "work"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(automl.DataError, match="not an automl model folder"):
        iris_result[0].save(str(notes))
    assert (notes / "notes.txt").read_text() == "mine"


def test_a_link_above_the_folder_is_not_refused(tmp_path, iris_result):
    """macOS's /tmp and /var are links: only links inside the model folder are refused."""
    real = tmp_path / "real"
    (real / "models").mkdir(parents=True)
    alias = tmp_path / "alias"
    alias.symlink_to(real, target_is_directory=True)
    saved = iris_result[0].save(str(alias / "models" / "iris"))
    loaded = automl.load(saved)
    assert loaded.predict(iris_result[1].drop(columns="target")).shape == (150,)
    listed = json.loads((Path(saved) / modelfolder.MANIFEST).read_text())["files"]
    inner = Path(saved) / "member_0"
    moved = tmp_path / "member_0"
    inner.rename(moved)
    inner.symlink_to(moved, target_is_directory=True)  # a link inside the folder still is
    modelfolder.write_manifest(Path(saved), list(listed))
    _refused(Path(saved), "member_0/estimator.skops is a link")
