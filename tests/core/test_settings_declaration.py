"""``automl.settings.SETTINGS`` (the ``setting(...)`` fields of ``FitSettings``) is the one
declaration of fit's settings: fit's signature and docstring, the CLI's fit flags, the
study-file keys, the estimators' parameters and a worker's read-back are made from it (a copy
of the package with one more field has it everywhere), and each setting's check refuses a bad
value before any data is read."""

from __future__ import annotations

import dataclasses
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import automl
from automl import api, estimators, studyfile
from automl.cli import build_parser
from automl.estimators import AutoMLClassifier, AutoMLRegressor
from automl.settings import SETTINGS, Setting
from tests import ROOT

NAMES = [s.name for s in SETTINGS]


def test_fit_signature_is_the_declaration():
    params = inspect.signature(automl.fit).parameters.values()
    keywords = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == {s.name: s.default for s in SETTINGS}


def test_fit_docstring_documents_every_setting():
    doc = automl.fit.__doc__ or ""
    for s in SETTINGS:
        assert f"``{s.name}``: {s.help}" in " ".join(doc.split()), s.name


def _fit_flags() -> dict[str, object]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    fit = sub.choices["fit"]
    return {o: a for a in fit._actions for o in a.option_strings}


def test_cli_fit_flags_cover_every_cli_setting():
    flags = _fit_flags()
    for s in SETTINGS:
        if s.cli is not None:
            assert s.cli.spelling in flags, s.name
            assert flags[s.cli.spelling].help.startswith(s.help), s.name


def test_every_cli_setting_reaches_fit_through_its_study_key():
    """`automl fit` hands its flags to fit as a study spec: a flag without a study key would be
    parsed and dropped (--class-weight was, before it had one)."""
    assert [s.name for s in SETTINGS if s.cli and not s.cli.negate and not s.study_key] == []


def test_estimator_parameters_are_the_declared_subset():
    declared = {s.name: s.estimator_value for s in SETTINGS if s.estimator}
    for cls in (AutoMLClassifier, AutoMLRegressor):
        params = inspect.signature(cls.__init__).parameters.values()
        found = {p.name: p.default for p in params if p.name != "self"}
        assert found == declared
        assert cls().get_params() == declared


def test_study_file_keys_are_the_declared_subset():
    declared = {s.study_key for s in SETTINGS if s.study_key}
    fields = {f.name for f in dataclasses.fields(studyfile.StudySpec)}
    assert declared | set(studyfile.STUDY_ONLY_KEYS) == studyfile.KNOWN_KEYS == fields


@pytest.fixture
def no_data(monkeypatch):
    """Reading the data fails the test: a setting's check must come first."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the data was read before the settings were checked")

    monkeypatch.setattr(api, "check_iterable_input", refuse)
    monkeypatch.setattr(api, "as_pair", refuse)
    monkeypatch.setattr(estimators, "_validated", refuse)


@pytest.mark.parametrize("setting", SETTINGS, ids=NAMES)
def test_a_bad_value_is_refused_by_name_before_data_is_read(setting: Setting, no_data):
    x, y = np.zeros((20, 2)), np.arange(20) % 2
    with pytest.raises(automl.ParameterError, match=setting.name):
        automl.fit((x, y), **{setting.name: setting.bad})
    if setting.estimator:
        for cls in (AutoMLClassifier, AutoMLRegressor):
            with pytest.raises(automl.ParameterError, match=setting.name):
                cls(**{setting.name: setting.bad}).fit(x, y)


@pytest.mark.parametrize("setting", SETTINGS, ids=NAMES)
def test_the_default_passes_its_own_check(setting: Setting):
    setting.check(setting.default)
    if setting.estimator:
        setting.check(setting.estimator_value)


KEPT = [s.name for s in SETTINGS if s.kept]


def test_a_study_stores_every_kept_setting():
    x, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    result = automl.fit(
        (x, y), n_trials=1, models="linear", storage=":memory:", verbose=False, report=False
    )
    stored = result.study.user_attrs["settings"]
    assert set(KEPT) <= set(stored)


def test_a_worker_reads_every_kept_setting_back(tmp_path, monkeypatch):
    import optuna

    from automl import search, worker

    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    stored = {s.name: s.bad for s in SETTINGS if s.kept}  # any value: it is passed on as kept
    journal = str(tmp_path / "j.log")
    store, _ = search.resolve_storage("s", journal)
    study = optuna.create_study(study_name="s", storage=store)
    study.set_user_attr("recipe", {"data": str(data), "target": "y", "seed": 0})
    study.set_user_attr(search.SETTINGS, stored)
    got: dict[str, object] = {}
    monkeypatch.setattr(api, "run_trials", lambda *_a, **kw: got.update(kw) or 1)
    assert worker.run_worker(journal, "s", n_trials=1) == 1
    assert {k: got[k] for k in KEPT} == stored


THROWAWAY = """    throwaway: int = setting(
        "seven", "a setting added by a test", options.optional_text("throwaway", "a word"), 3,
        cli=Flag("--throwaway"), study_key="throwaway", estimator=True, kept=True)
"""


@pytest.mark.slow  # a subprocess
def test_one_field_adds_a_setting_everywhere(tmp_path):
    """A copy of the package whose FitSettings gains one ``setting(...)`` field, and nothing
    else: fit's signature, docstring and check, the CLI flag, the study-file key, the
    estimators' parameters and a worker's read-back all have it
    (tests/core/one_setting_script.py)."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "automl", tmp_path / "automl", ignore=skip)
    source = tmp_path / "automl" / "settings.py"
    text = source.read_text()
    assert text.count("    # fmt: on\n") == 1
    source.write_text(text.replace("    # fmt: on\n", THROWAWAY + "    # fmt: on\n"))
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "plugins")])}
    script = Path(__file__).with_name("one_setting_script.py")
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    surfaces = ["declaration", "fit", "cli", "study file", "estimators", "worker"]
    assert out.stdout.split("\n")[:-1] == surfaces, out.stdout
