"""``save`` replaces a folder only when it is an intact automl model folder (a valid manifest
whose digest matches, and nothing in the folder but the files it lists, unchanged): a folder
that merely holds a ``MANIFEST.json`` keeps every file, and the refusal names it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import automl
from automl import modelfolder

QUICK = {"n_trials": 1, "storage": ":memory:", "verbose": False, "report": False}


@pytest.fixture(scope="module")
def iris_result():
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    return automl.fit(frame, target="target", models=["linear"], **QUICK)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _foreign_manifest(folder: Path) -> None:
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (folder / modelfolder.MANIFEST).write_text(json.dumps({"name": "my data", "files": ["x"]}))


def _empty_manifest(folder: Path) -> None:
    (folder / "notes.txt").write_text("mine")
    (folder / modelfolder.MANIFEST).write_text("")


def _automl_shaped_manifest_with_a_wrong_digest(folder: Path) -> None:
    (folder / "notes.txt").write_text("mine")
    files = {"notes.txt": modelfolder.sha256(folder / "notes.txt")}
    doc = {"format": modelfolder.MANIFEST_FORMAT, "files": files, "digest": "0" * 64}
    (folder / modelfolder.MANIFEST).write_text(json.dumps(doc))


def _a_model_with_a_file_added(folder: Path, result) -> None:
    result.save(str(folder))
    (folder / "member_0" / "my-notes.txt").write_text("mine")


def _a_model_with_an_edited_file(folder: Path, result) -> None:
    result.save(str(folder))
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"task"', '"task" ', 1))


def _a_model_with_a_link(folder: Path, result) -> None:
    result.save(str(folder))
    (folder.parent / "elsewhere.txt").write_text("mine")
    os.symlink(folder.parent / "elsewhere.txt", folder / "link.txt")


@pytest.mark.parametrize(
    "spoil",
    [
        _foreign_manifest,
        _empty_manifest,
        _automl_shaped_manifest_with_a_wrong_digest,
        _a_model_with_a_file_added,
        _a_model_with_an_edited_file,
        _a_model_with_a_link,
    ],
)
def test_a_folder_that_is_not_an_intact_model_is_never_replaced(spoil, iris_result, tmp_path):
    folder = tmp_path / "target"
    folder.mkdir()
    if spoil.__code__.co_argcount == 2:
        spoil(folder, iris_result)
    else:
        spoil(folder)
    before = _files(folder)
    with pytest.raises(
        automl.DataError, match=re.escape(str(folder)) + ".*refusing to replace it"
    ):
        iris_result.save(str(folder))
    assert _files(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_intact_model_folder_is_replaced(iris_result, tmp_path):
    folder = Path(iris_result.save(str(tmp_path / "model")))
    (folder / "config.json").touch()  # a new time, the same bytes: still intact
    assert iris_result.save(str(folder)) == str(folder)
    assert automl.load(str(folder)).model_name
