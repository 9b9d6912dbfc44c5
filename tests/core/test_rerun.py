"""The first hour without surprises (issue #28): running the same fit twice says that it
resumes, chooses over all of the study's trials and keeps the better model; the report shows the
run's real time; the command line accepts what the README says (``run --quiet``) and says how
many leaderboard rows it shows."""

from __future__ import annotations

import re
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
