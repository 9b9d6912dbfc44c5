"""Run by ``test_settings_declaration.test_one_field_adds_a_setting_everywhere`` in a copy of
the package whose ``FitSettings`` gained one field, ``throwaway`` (default "seven", a word or None,
flag ``--throwaway``, study key ``throwaway``, an estimator parameter, kept by a study): each
surface of fit's settings must have it, with no other edit. Prints one line per surface."""

from __future__ import annotations

import contextlib
import inspect
import sys
from pathlib import Path

import numpy as np
import optuna

import automl
from automl import api, cli, search, settings, studyfile, worker
from automl.estimators import AutoMLClassifier

folder = Path(sys.argv[1])
x, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 2

assert "throwaway" in settings.BY_NAME
assert settings.FitSettings.build(throwaway="three").throwaway == "three"
print("declaration")

param = inspect.signature(automl.fit).parameters["throwaway"]
assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default == "seven"
assert "``throwaway``: a setting added by a test." in (automl.fit.__doc__ or "")
try:
    automl.fit((x, y), throwaway=3)
except automl.ParameterError as exc:
    assert "throwaway" in str(exc), exc
else:
    raise AssertionError("fit took throwaway=3")
print("fit")

captured: dict[str, object] = {}
studyfile.execute = lambda spec, **_kw: captured.update(spec.settings())  # type: ignore[assignment]
args = cli.build_parser().parse_args(["fit", str(folder / "d.csv"), "--throwaway", "three"])
args.handler(args)
assert captured["throwaway"] == "three", captured
print("cli")

toml = folder / "s.toml"
toml.write_text('[study]\ndata = "d.csv"\ntarget = "y"\nthrowaway = "five"\n')
assert studyfile.read(str(toml)).settings()["throwaway"] == "five"
print("study file")

est = AutoMLClassifier(throwaway="two")
assert est.get_params()["throwaway"] == "two"
assert AutoMLClassifier().get_params()["throwaway"] == "seven"
got: dict[str, object] = {}


class Stop(Exception):
    """Ends the estimator's fit once fit's keywords are seen."""


def record(*_args: object, **kwargs: object) -> None:
    got.update(kwargs)
    raise Stop


api.fit = record  # type: ignore[assignment]
with contextlib.suppress(Stop):
    est.fit(x, y)
assert got["throwaway"] == "two", got
print("estimators")

journal = str(folder / "j.log")
store, _ = search.resolve_storage("s", journal)
study = optuna.create_study(study_name="s", storage=store)
study.set_user_attr("recipe", {"data": str(folder / "d.csv"), "target": "y", "seed": 0})
study.set_user_attr(search.SETTINGS, {"throwaway": "four"})
passed: dict[str, object] = {}
api.run_trials = lambda *_a, **kw: passed.update(kw) or 1  # type: ignore[assignment]
assert worker.run_worker(journal, "s", n_trials=1) == 1
assert passed["throwaway"] == "four", passed
print("worker")
