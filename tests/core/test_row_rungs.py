"""Rows as a fidelity (automl.row_rungs): trials start on a row subsample of a large table and
the promising ones move on to more rows, while the next fit ends before the deadline."""

import time
import types

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification

import automl
from automl.errors import ParameterError
from automl.metrics import METRICS
from automl.objective import SearchRecords, TrialRun
from automl.row_rungs import RowRungs, climb, refit_rows, refit_size, rung_sizes
from automl.trial_starts import start_if_it_fits as _start_if_it_fits

BETTER = METRICS["accuracy"].better


def test_rungs_grow_by_three_up_to_all_rows():
    assert rung_sizes(800_000, 50_000) == (50_000, 150_000, 450_000, 800_000)
    assert rung_sizes(160_000, 50_000) == (50_000, 160_000)
    assert rung_sizes(60_000, 50_000) == (60_000,)  # too few rows for two rungs
    assert rung_sizes(800_000, None) == (800_000,)


def test_a_rung_holds_the_rows_of_the_one_before():
    rungs = RowRungs.make(2400, 200, seed=0)
    small, middle = rungs.rows(0), rungs.rows(1)
    assert (len(small), len(middle)) == (200, 600) and rungs.rows(2) is None
    assert set(small) <= set(middle)
    assert np.array_equal(small, RowRungs.make(2400, 200, seed=0).rows(0))  # seeded


def test_the_best_third_of_a_rung_is_promoted():
    rungs = RowRungs.make(2400, 200, seed=0)
    assert rungs.promotes(0, 0.80, BETTER)  # a rung's first score
    assert not rungs.promotes(0, 0.70, BETTER)  # second of two: ceil(2/3) = 1 promoted
    assert rungs.promotes(0, 0.90, BETTER)
    assert rungs.promotes(0, 0.85, BETTER)  # second of four: ceil(4/3) = 2 promoted
    assert not rungs.promotes(0, 0.82, BETTER)  # third of five: ceil(5/3) = 2
    assert not rungs.promotes(0, float("nan"), BETTER)


def _outcome(score, seconds, stopped_by="fit"):
    return types.SimpleNamespace(score=score, seconds=seconds, stopped_by=stopped_by)


def test_a_fit_that_cannot_end_before_the_deadline_is_not_started():
    rungs = RowRungs.make(2400, 200, seed=0)
    trained = []

    def train(rows, first):
        trained.append(len(rows) if rows is not None else 2400)
        return _outcome(0.9, 10.0)  # 200 rows in 10 s: 600 rows ~36 s with the margin

    climbed = climb(rungs, train, BETTER, time.monotonic() + 20)
    assert trained == [200]
    assert "a fit on 600 rows was expected to take 36 s" in climbed.note
    trained.clear()
    climbed = climb(RowRungs.make(2400, 200, seed=0), train, BETTER, time.monotonic() + 1e4)
    assert trained == [200, 600, 2400] and climbed.note == "" and climbed.rows is None


def test_a_trial_keeps_its_best_fit_and_a_cut_fit_moves_no_further():
    scores = iter([0.9, 0.8, 0.85])
    climbed = climb(
        RowRungs.make(2400, 200, seed=0),
        lambda rows, first: _outcome(next(scores), 0.1),
        BETTER,
        None,
    )
    assert climbed.outcome.score == 0.9 and len(climbed.rows) == 200
    assert [rows for rows, _ in climbed.fits] == [200, 600, 2400]  # each rung's first
    assert "the fit on 200 rows scored best and is kept" in climbed.note
    cut = climb(
        RowRungs.make(2400, 200, seed=0),
        lambda rows, first: _outcome(0.9, 0.1, "time_budget"),
        BETTER,
        None,
    )
    assert len(cut.fits) == 1 and "the deadline stopped its fit" in cut.note


def test_a_refit_trains_on_the_trials_share_of_train_and_valid():
    assert refit_size(200, 2400, 600) == 250 and refit_size(2400, 2400, 600) == 3000
    rows = refit_rows(200, 2400, 600, seed=0)
    assert len(rows) == 250 and rows.max() < 3000 and np.all(np.diff(rows) > 0)
    assert refit_rows(2400, 2400, 600, seed=0) is None


def test_an_unstoppable_family_is_not_started_when_its_pace_says_it_would_not_end():
    from automl.plugins import load_registry

    registry = load_registry()
    x, y = make_classification(n_samples=400, n_features=5, random_state=0)
    data = registry.tasks["tabular"].adapt((x, y * 1.5), problem_type="regression", seed=0)
    ridge = registry.models["linear"]  # ridge regression fits once: it cannot be stopped
    trial = optuna.create_study().ask()
    run = TrialRun(trial, ridge, {"linear.C": 1.0}, METRICS["r2"], "cpu", 0, None, None)
    run.deadline = time.monotonic() + 10
    records = SearchRecords(METRICS["r2"])
    records.pace["linear"] = [1e-3]  # 1 ms a row: 50,000 rows ~50 s
    _start_if_it_fits(run, data, records, 5_000)  # ~5 s: started
    with pytest.raises(optuna.TrialPruned, match="not started: a fit on 50000 rows"):
        _start_if_it_fits(run, data, records, 50_000)


def test_a_search_climbs_the_rungs_and_the_leaderboard_says_the_rows():
    x, y = make_classification(n_samples=3000, n_features=8, n_informative=5, random_state=0)
    result = automl.fit(
        x,
        y,
        n_trials=8,
        storage=":memory:",
        verbose=False,
        models=["linear", "hist_gb"],
        cv_folds=0,
        seed=0,
        row_rungs_from=200,  # 2,400 training rows: rungs of 200, 600 and all
    )
    board = result.leaderboard()
    assert set(board["rows"]) >= {200, 2400}
    assert board["note"].str.contains("not among the best third at 200 rows").any()
    assert result.summary["refit"].startswith("refitted")


def test_row_rungs_from_must_be_a_number_of_rows():
    x, y = make_classification(n_samples=100, n_features=4, random_state=0)
    for bad in (5, 1e5, "50000", True):
        with pytest.raises(ParameterError, match="row_rungs_from must be a whole number of rows"):
            automl.fit(x, y, row_rungs_from=bad, n_trials=1, storage=":memory:", verbose=False)


def test_the_searchs_last_moments_start_only_a_fit_known_to_end_in_them():
    """Given less than SHORT_SHARE of the search's time, a family with no timed fit, or whose
    pace says its first fit takes longer, gets no trial (a 1M-row search gave an MLP 3 s and
    boosting 2 s near its end: both ran past it and learnt nothing); a family known to end in
    time still does, and when none is the search stops. A family with no fit timed yet is not
    started, under UNTIMED_SHARE, with less time than the median family's fit took on the same
    rows."""
    from automl.trial_starts import SHORT_SHARE, start_in_time

    hist_gb, linear = types.SimpleNamespace(name="hist_gb"), types.SimpleNamespace(name="linear")
    families = {"hist_gb": hist_gb, "linear": linear}
    study = optuna.create_study()
    records = SearchRecords(METRICS["accuracy"])
    records.pace["linear"] = [1e-6]  # 1,000 rows: 1 ms
    records.pace["hist_gb"] = [1e-3]  # 1,000 rows: 1 s

    def run(family):
        return TrialRun(study.ask(), family, {}, METRICS["accuracy"], "cpu", 0, None, None)

    span, late = 100.0, 0.4 * SHORT_SHARE * 100.0  # 2 s of 100
    start_in_time(run(hist_gb), records, families, 1000, 2 * SHORT_SHARE * span, span)  # 10 s
    start_in_time(run(linear), records, families, 1000, late, span)  # 1 ms: started
    start_in_time(run(hist_gb), records, families, 1000, late, span)  # 1 s of 2: started
    with pytest.raises(optuna.TrialPruned, match="not started: 2.0 s for this trial"):
        start_in_time(run(hist_gb), records, families, 10_000, late, span)  # 10 s
    assert records.stopped is None  # linear still ends in time
    mlp = types.SimpleNamespace(name="mlp")  # no fit timed yet
    with_mlp = {**families, "mlp": mlp}
    start_in_time(run(mlp), records, with_mlp, 1000, 6.0, span)  # the median: 0.5 s
    start_in_time(run(mlp), records, with_mlp, 20_000, 10.0, span)  # 10% of the search
    # 20,000 rows: linear 0.02 s, hist_gb 20 s, their median 10 s: 6 s is too little
    with pytest.raises(optuna.TrialPruned, match="median family's fit on 20000 rows took 10.0"):
        start_in_time(run(mlp), records, with_mlp, 20_000, 6.0, span)
    records.pace.pop("linear")  # no timed fit: not started, and now no family ends in time
    reasons = []

    def objective(trial):
        planned = TrialRun(trial, linear, {}, METRICS["accuracy"], "cpu", 0, None, None)
        try:
            start_in_time(planned, records, families, 10_000, late, span)
        except optuna.TrialPruned as exc:
            reasons.append(str(exc))
            raise
        return 0.0

    study.optimize(objective, n_trials=5)  # the first stops the search
    assert len(reasons) == 1 and "linear had no fit timed yet" in reasons[0]
    assert records.stopped.startswith("time budget: 2.0 s a trial")


def test_the_next_rungs_fit_scales_its_training_not_its_validation_predictions():
    """The validation rows are the same at every rung: a fit's seconds predicting them
    (``scoring_seconds``) are not scaled by the rows, nor counted in its refit's cost."""
    from automl.final import refit_estimate

    rungs = RowRungs.make(2400, 200, seed=0)
    trained = []

    def train(rows, first):
        trained.append(len(rows) if rows is not None else 2400)
        outcome = _outcome(0.9, 10.0)  # 6 s training, 4 s predicting the validation rows
        outcome.scoring_seconds = 4.0
        return outcome

    climb(rungs, train, BETTER, time.monotonic() + 30)  # 600 rows: 1.2 * (18 + 4) = 26.4 s
    assert trained[:2] == [200, 600]
    data = types.SimpleNamespace(n_train=2400, n_valid=600)
    attrs = {"rows_trained": 200, "train_seconds": 10.0}
    plain = refit_estimate(types.SimpleNamespace(user_attrs=attrs), data)
    scored = refit_estimate(
        types.SimpleNamespace(user_attrs={**attrs, "scoring_seconds": 4.0}), data
    )
    assert plain == 10.0 * 250 / 200 and scored == 6.0 * 250 / 200
