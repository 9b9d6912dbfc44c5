"""The time budget is used and kept: the search gets the time of the steps the fit does not
take (no report, no saving), a short budget still leaves the search its share, the summary
says why the search stopped, and the report's explanations start no new work once their
allowance is spent. Decisions are asserted, not durations."""

import io
import time

import pytest
from sklearn.datasets import load_breast_cancer, load_iris

import automl
from automl import progress as progress_mod
from automl.budget import FINAL_SHARE, MAX_REPORT_SHARE, SAVE_SECONDS, Budget
from automl.explain import ExplainBounds
from automl.progress import Progress
from automl.report.explanations import explain_section


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True, as_frame=True)


def test_no_report_and_no_saving_keep_no_time_from_the_search():
    full, bare = Budget(30.0), Budget(30.0, reports=False, saves=False)
    for b in (full, bare):
        b.plan_refit([2.0])
    final = FINAL_SHARE * 30.0  # the final choice and the last trial's overrun
    assert bare.after_search() == pytest.approx(final + bare.refit_planned)  # no report, save
    assert full.after_search() == pytest.approx(
        final + full.refit_planned + full.report_seconds + SAVE_SECONDS
    )
    assert bare.search_deadline() == pytest.approx(bare.deadline - final - bare.refit_planned)
    assert Budget(30.0, reports=False).after_search() == pytest.approx(final + SAVE_SECONDS)


def test_a_short_budget_keeps_at_most_a_share_for_the_report():
    """A 7 s fit kept 6 s for the report and 2 s for saving: its search deadline had passed
    before it began, and it returned after one trial."""
    b = Budget(7.0)
    assert b.report_seconds == pytest.approx(MAX_REPORT_SHARE * 7.0)
    kept = 7.0 * (MAX_REPORT_SHARE + FINAL_SHARE) + SAVE_SECONDS
    assert b.search_deadline() == pytest.approx(b.started + 7.0 - kept)
    assert b.search_deadline() > b.started


def test_fit_without_report_or_saving_says_so_in_its_budget(iris):
    x, y = iris
    result = automl.fit(x, y, time_budget=3, models=["linear"], storage=":memory:", verbose=False)
    assert result.budget["kept_for_report_s"] == 0.0
    assert result.budget["kept_for_saving_s"] == 0.0
    assert result.summary["stopped"].startswith("time budget"), result.summary["stopped"]


def test_the_summary_says_the_search_ran_its_trials(iris):
    x, y = iris
    result = automl.fit(
        x, y, n_trials=2, time_budget=None, models=["linear"], storage=":memory:", verbose=False
    )
    assert result.summary["stopped"] == "n_trials reached"
    assert len(result.study.trials) == 2


def test_explanations_start_no_lime_once_their_allowance_is_spent(iris):
    x, y = iris
    result = automl.fit(
        x, y, n_trials=1, time_budget=None, models=["linear"], storage=":memory:", verbose=False
    )
    section = explain_section(result, result.holdout, ExplainBounds(seconds=1e-6))
    lime = [why for what, why in section["missing"] if what == "LIME"]
    assert lime and lime[0].startswith("left out"), section["missing"]


# -- the progress bar ----------------------------------------------------------------------------
def _last_state(text: str) -> str:
    return [s for s in text.replace("\n", "\r").split("\r") if s.strip()][-1]


def test_the_progress_bar_ends_at_100_percent_without_a_stray_comma():
    out = io.StringIO()
    bar = Progress(
        time_budget=60, started=time.monotonic(), n_trials=None, metric_name="acc", file=out
    )
    bar.stage("report")
    assert "[, " not in out.getvalue() and "s left" in out.getvalue()
    bar.finish()
    last = _last_state(out.getvalue())
    assert last.startswith("done: 100%") and "[done in 0 s of the 60 s budget" in last, last
    counted = io.StringIO()
    Progress(time_budget=None, started=0.0, n_trials=4, metric_name="acc", file=counted).finish()
    assert _last_state(counted.getvalue()).startswith("done: 100%")


def test_the_progress_bar_moves_on_the_clock_between_reports(monkeypatch):
    """A scikit-learn trial reports nothing while it runs: a clock thread moves the bar."""
    monkeypatch.setattr(progress_mod, "TICK_SECONDS", 0.01)
    out = io.StringIO()
    bar = Progress(
        time_budget=60, started=time.monotonic(), n_trials=None, metric_name="acc", file=out
    )
    before = out.getvalue().count("\r")
    bar.start_ticking()
    waited = 0.0
    while out.getvalue().count("\r") < before + 3 and waited < 30:
        time.sleep(0.05)
        waited += 0.05
    bar.close()
    assert out.getvalue().count("\r") >= before + 3


def test_fit_shows_every_phase_on_its_bar(iris, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = iris
    automl.fit(
        x,
        y,
        time_budget=6,
        models=["linear"],
        storage=":memory:",
        report=True,
        save=True,
        verbose=True,
    )
    err = capsys.readouterr().err
    states = [s for s in err.replace("\n", "\r").split("\r") if s.strip()]
    phases = [s.split(":")[0] for s in states if "%|" in s]
    for phase in ("search", "refit", "report", "saving", "done"):
        assert phase in phases, phase
    assert not any("[, " in s for s in states)
    assert [s for s in states if "%|" in s][-1].startswith("done: 100%")


# -- feature_importance --------------------------------------------------------------------------
def test_feature_importance_is_bounded_and_says_what_it_used():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    result = automl.fit(
        (x, y), models=["linear"], n_trials=1, time_budget=None, storage=":memory:", verbose=False
    )
    table = result.feature_importance(x, y, n_repeats=3, max_rows=100)
    assert table.attrs["rows"] == 100 and table.attrs["rows_given"] == len(x)
    assert table.attrs["repeats"] == 3 and (table["n"] == 3).all()
    assert table.attrs["stopped"] is None
    spent = result.feature_importance(x, y, n_repeats=5, seconds=0.0)  # no time for a 2nd
    assert spent.attrs["repeats"] == 1 and (spent["n"] == 1).all()
    assert spent.attrs["rows"] == len(x) and spent.attrs["stopped"].startswith("time allowance")
    assert set(spent.index) == set(x.columns)
