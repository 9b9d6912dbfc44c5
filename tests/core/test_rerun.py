"""The first hour without surprises (issue #28): running the same fit twice says that it
resumes, chooses over all of the study's trials and keeps the better model; the report shows the
run's real time; the command line accepts what the README says (``run --quiet``) and says how
many leaderboard rows it shows."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

import automl
from automl.cli import main
from automl.console import ROWS, print_result

LINEAR = {"models": ["linear"], "verbose": False}


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory) -> Path:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    path = tmp_path_factory.mktemp("data") / "iris.csv"
    frame.rename(columns={"target": "y"}).to_csv(path, index=False)
    return path


def test_run_accepts_quiet(iris_csv, capsys):
    Path("iris.toml").write_text(
        f'[study]\ndata = "{iris_csv}"\ntarget = "y"\nn_trials = 1\nmodels = ["linear"]\n'
    )
    assert main(["run", "iris.toml", "--quiet", "--time-budget", "60"]) == 0
    captured = capsys.readouterr()
    assert "search:" not in captured.err  # no progress bar
    assert Path("studies/iris/model/MANIFEST.json").is_file()


def test_the_printed_leaderboard_says_how_many_trials_it_shows(iris_frame, capsys):
    result = automl.fit(
        iris_frame, target="target", n_trials=ROWS + 2, storage=":memory:", **LINEAR
    )
    print_result(result)
    out = capsys.readouterr().out
    assert f"{ROWS} of {len(result.leaderboard())} trials shown" in out
    assert len(result.leaderboard()) > ROWS


def _run_time(page: str) -> float:
    found = re.search(r"run time</div><div class=\"v\">([0-9.]+) s<", page)
    assert found, "no run time on the page"
    return float(found.group(1))


def test_the_report_shows_the_run_time_of_the_fit(iris_frame):
    result = automl.fit(iris_frame, target="target", n_trials=2, study_name="timed", **LINEAR)
    shown = _run_time(Path(result.report_path).read_text())
    timings = result.timings
    assert shown > 0
    # the report is written after the search and refit, before its own writing and the save
    assert timings["search"] + timings["refit"] - 0.05 <= shown <= timings["total"] + 0.05
    assert shown <= timings["total"] - timings["report"] + 0.05


BC_FAMILIES = ["linear", "hist_gb", "random_forest", "extra_trees"]


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def _fit_bc(frame, **more):
    options = {"models": BC_FAMILIES, "n_trials": 4, "study_name": "bc", "verbose": False}
    return automl.fit(frame, target="target", **{**options, **more})


def _chosen(result) -> list[tuple[int, int]]:
    return [(m.trial, m.weight) for m in result.members]


@pytest.fixture(scope="module")
def bc_first(breast_cancer, tmp_path_factory):
    """The study's first run, fitted once for the tests below: its result and the folder it
    left (studies/: the SQLite storage, the trial outputs, the model and its report, all at
    paths relative to the run's folder), which each test copies into its own folder."""
    folder = tmp_path_factory.mktemp("bc-first")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        first = _fit_bc(breast_cancer)
    return first, folder / "studies"


@pytest.mark.xdist_group("rerun-bc")  # one worker: bc_first is fitted once
def test_a_resumed_fit_says_so_and_chooses_over_the_earlier_runs_trials(
    breast_cancer, bc_first, caplog
):
    first, studies = bc_first
    shutil.copytree(studies, "studies")
    assert len(first.members) > 1  # an ensemble of the first run's trials
    assert sorted(p.name for p in Path("studies/bc/trial_outputs").iterdir()) == [
        f"trial_{n}.npz" for n in range(4)
    ]
    with caplog.at_level(logging.INFO, logger="automl"):
        again = _fit_bc(breast_cancer)  # the study holds its 4 trials: none is run
    assert "resuming study 'bc': 4 finished trials" in caplog.text
    assert again.summary["resumed_from"] == 4
    assert len(again.study.trials) == 4
    # the same choice as the first run's, made over the trials that run left
    assert _chosen(again) == _chosen(first)
    assert again.valid_score == pytest.approx(first.valid_score)
    assert again.summary["saved"] == "saved to studies/bc/model"


@pytest.mark.xdist_group("rerun-bc")
def test_a_worse_model_does_not_replace_the_saved_one(breast_cancer, bc_first, capsys):
    first, studies = bc_first
    shutil.copytree(studies, "studies")
    saved = {p.name: p.read_bytes() for p in Path("studies/bc/model").iterdir() if p.is_file()}
    report = Path("studies/bc/report.html").read_bytes()
    worse = _fit_bc(breast_cancer, ensemble=False, verbose=True)  # the best trial alone
    assert worse.valid_score < first.valid_score
    assert worse.model_path is None and worse.report_path is None
    assert worse.summary["saved"].startswith("not saved: studies/bc/model keeps the earlier model")
    assert f"{first.valid_score:.4f}" in worse.summary["saved"]
    assert "keeps the earlier model" in capsys.readouterr().out
    now = {p.name: p.read_bytes() for p in Path("studies/bc/model").iterdir() if p.is_file()}
    assert now == saved
    assert Path("studies/bc/report.html").read_bytes() == report
    assert automl.load("studies/bc/model").valid_score == pytest.approx(first.valid_score)


def test_cli_refusal_says_how_to_start_a_new_study_and_new_starts_one(iris_csv, capsys):
    args = ["fit", str(iris_csv), "--target", "y", "--n-trials", "1", "--models", "linear"]
    assert main([*args, "--quiet"]) == 0
    capsys.readouterr()
    assert main([*args, "--quiet", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "seed=0" in err and "add --new to start a new study (named 'iris-2')" in err
    assert main([*args, "--quiet", "--seed", "1", "--new"]) == 0
    assert "starting a new study 'iris-2'" in capsys.readouterr().out
    assert Path("studies/iris-2/model/MANIFEST.json").is_file()
