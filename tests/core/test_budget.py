"""The time budget bounds the whole fit: deadlines inside an epoch, parts of epochs as pruner
rungs, uninterruptible fits cut to a subsample or not started, refits planned or skipped."""

import re
import time
import types
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_digits, load_iris
from sklearn.preprocessing import StandardScaler

import automl
from automl import budget as budget_mod
from automl import search
from automl.budget import Budget
from automl.kinds import FitOptions, Split
from automl.kinds.torch_training import DEFAULT_PATIENCE, train_torch
from automl.metrics import METRICS
from automl.objective import SearchRecords, TrialRun
from automl.training import reports_per_epoch
from automl.trial_starts import rows_that_fit as _rows_that_fit

PARAMS = {"optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0, "batch_size": 8}


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    x = StandardScaler().fit_transform(x).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(x))
    return x[idx[:120]], y[idx[:120]], x[idx[120:]], y[idx[120:]]


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def _train_iris(iris, net=None, *, max_epochs, patience=DEFAULT_PATIENCE, **options):
    """train_torch on the iris split with the shared settings (15 batches an epoch)."""
    params = options.pop("params", PARAMS)
    return train_torch(
        net or _net(),
        params,
        Split(*iris),
        FitOptions(device="cpu", **options),
        ("multiclass", 3),
        METRICS["accuracy"],
        max_epochs=max_epochs,
        patience=patience,
    )


class _Clock:
    """A clock that moves one second each time the deadline is checked: the deadline arrives
    after an exact number of batches, whatever the machine's load. The pace clock
    (perf_counter) stands still: the validation pass that scores a model cut in its first epoch
    is then free, where on the real clock a busy machine's slow batches made that pass look
    long enough to stop the run batches early."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        self.now += 1.0
        return self.now

    def patch(self, monkeypatch):
        fake = types.SimpleNamespace(monotonic=self.monotonic, perf_counter=lambda: 0.0)
        monkeypatch.setattr("automl.kinds.torch_training.time", fake)


class _WorkClock:
    """A machine of constant speed: time passes only while the network computes, 1 ms a row
    in training and 40% of that in evaluation, so a run's timeline is a function of its work
    alone and not of the machine's load (``torch_training.time`` reads it for both clocks)."""

    def __init__(self):
        self.now = 0.0

    def read(self):
        return self.now

    def patch(self, monkeypatch):
        fake = types.SimpleNamespace(monotonic=self.read, perf_counter=self.read)
        monkeypatch.setattr("automl.kinds.torch_training.time", fake)

    def net(self):
        clock = self

        class Timed(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = _net()

            def forward(self, x):
                clock.now += (1e-3 if self.training else 4e-4) * len(x)
                return self.inner(x)

        return Timed()


def test_a_deadline_mid_epoch_stops_the_trial_within_one_batch(iris, monkeypatch):
    xv = iris[2]
    _Clock().patch(monkeypatch)
    out = _train_iris(
        iris,
        max_epochs=50,
        deadline=6.0,  # the clock reads 1, 2, ... after each batch: the 6th batch is the last
    )
    assert out.batches == 6 and out.stopped_by == "time_budget"
    assert out.epochs_run == 1  # the first epoch never ended
    assert out.best_epoch == 1 and 0.0 <= out.score <= 1.0  # the model as it was, scored
    assert out.predictor.output(xv).shape == (len(xv), 3)


def test_an_epoch_reports_in_parts_to_the_pruner(iris):
    steps = []
    out = _train_iris(
        iris,
        max_epochs=3,
        patience=50,
        on_epoch=lambda step, score: steps.append(step),
        reports=4,
    )
    assert steps == list(range(1, 4 * out.epochs_run + 1))
    assert out.batches == 15 * out.epochs_run


def test_reports_per_epoch_grow_with_the_training_rows():
    assert reports_per_epoch(500) == 1
    assert reports_per_epoch(12_000) == 2
    assert reports_per_epoch(48_000) == 8  # MNIST's training split: a rung is 1/8 epoch
    assert reports_per_epoch(10**7) == 8


def test_the_pruner_counts_parts_of_epochs(tmp_path):
    study, _ = search.open_study(
        "s",
        f"sqlite:///{tmp_path / 's.db'}",
        direction="maximize",
        seed=0,
        max_epochs=10,
        meta={"data_fingerprint": "x"},
        reports_per_epoch=8,
    )
    assert study.pruner._max_resource == 80


def _linear_run(deadline, family):
    trial = optuna.create_study().ask()
    return TrialRun(
        trial, family, {"linear.C": 1.0}, METRICS["accuracy"], "cpu", 0, None, deadline
    )


def test_an_uninterruptible_fit_is_subsampled_or_not_started():
    from automl.plugins import load_registry

    registry = load_registry()
    linear = registry.models["linear"]
    x, y = load_digits(return_X_y=True, as_frame=True)
    big = x.sample(25_000, replace=True, random_state=0).reset_index(drop=True)
    # regression: ridge fits once (logistic regression grows, like a forest: never subsampled)
    data = registry.tasks["tabular"].adapt(
        big.assign(target=y.sample(25_000, replace=True, random_state=0).to_numpy() * 1.5),
        "target",
        problem_type="regression",
        valid_fraction=0.2,
        seed=0,
    )
    records = SearchRecords(METRICS["accuracy"])
    run = _linear_run(time.monotonic() + 30, linear)
    rows, note = _rows_that_fit(run, data, records, 0)  # no pace known, a large table
    assert rows is not None and len(rows) == int(0.1 * data.n_train)
    assert "subsample" in note and "not known" in note
    records.pace["linear"] = [1.0 / data.n_train]  # 1 s for all rows: fits in 30 s
    assert _rows_that_fit(run, data, records, 0) == (None, "")
    records.pace["linear"] = [100.0 / data.n_train]  # 100 s: a subsample (10 s) fits
    rows, note = _rows_that_fit(run, data, records, 0)
    assert len(rows) < data.n_train and "would take ~100 s" in note
    records.pace["linear"] = [1000.0 / data.n_train]  # even the subsample would take 100 s
    with pytest.raises(optuna.TrialPruned, match="not started"):
        _rows_that_fit(run, data, records, 0)
    assert "not started" in run.trial.user_attrs["reason"]


def test_a_subsample_probe_leads_to_the_whole_fit_only_when_its_pace_fits():
    from types import SimpleNamespace

    from automl.trial_starts import PROBE_MARGIN
    from automl.trial_starts import whole_fits as _whole_fits

    data = SimpleNamespace(n_train=100_000)
    run = _linear_run(time.monotonic() + 30, None)
    fast = SimpleNamespace(seconds=1.0)  # 10,000 rows in 1 s: all rows ~10 s (x margin) fit
    assert _whole_fits(run, data, fast, 10_000)
    slow = SimpleNamespace(seconds=25.0 / PROBE_MARGIN)  # all rows would take 250 s
    assert not _whole_fits(run, data, slow, 10_000)
    run.deadline = None  # no deadline: no subsample was taken in the first place
    assert not _whole_fits(run, data, fast, 10_000)


def test_budget_plans_refit_report_and_saving():
    b = Budget(100.0)
    assert b.report_seconds == pytest.approx(14.0)  # 4 s + 10% of the budget
    before = b.search_deadline()
    b.plan_refit([20.0])  # 25 s with its margin, and 1 s of slack: within 35 s
    assert b.refit_planned == pytest.approx(26.0)
    assert b.search_deadline() == pytest.approx(before - 26.0)
    b.plan_refit([10.0, 15.0, 15.0])  # all three's 50 s is too much: the first two's 31.25 s
    assert b.refit_planned == pytest.approx(32.25)
    b.plan_refit([10.0, 30.0, 1.0])  # the second does not fit: the first only (no skipping)
    assert b.refit_planned == pytest.approx(13.5)
    b.plan_refit([40.0, 1.0])  # 50 s: more than 35% of the budget, not planned (trial models)
    assert b.refit_planned == 0.0
    assert b.refit_fits(10.0) and not b.refit_fits(200.0)
    assert Budget(None).search_deadline() is None and Budget(None).refit_fits(1e9)
    assert Budget(30.0, searches_only=True).after_search() == 0.0
    # a short budget keeps at most MAX_REPORT_SHARE of itself for the report
    assert Budget(10.0).report_seconds == pytest.approx(budget_mod.MAX_REPORT_SHARE * 10.0)
    assert budget_mod.MIN_REPORT <= Budget(40.0).report_seconds <= budget_mod.MAX_REPORT


def test_a_short_budget_bounds_the_whole_fit_and_says_what_became_of_the_refit(tmp_path):
    """What the budget decided, as the result and the page say it, not how long it took (a
    loaded machine took 69 s over this 15 s budget, 34 s of it importing): the search started
    no trial once one had ended past the budget, the refit note says what became of the refit,
    and the report's explanations ran on what was left of the budget or were left out."""
    x, y = load_digits(return_X_y=True, as_frame=True)
    started_at = datetime.now()  # the clock of Optuna's trial times
    result = automl.fit(
        x,
        y,
        time_budget=15,
        models=["mlp", "random_forest", "linear"],
        storage=f"sqlite:///{tmp_path / 'b.db'}",
        study_name="budget",
        report=True,
        save=False,
        verbose=False,
    )
    finished = [t for t in result.study.trials if t.datetime_complete is not None]
    assert len(finished) >= 1 and len(result.leaderboard()) >= 1
    # after every trial the search asks whether its deadline (before the budget's end, which
    # keeps time for the refit, report and saving) has passed, and then starts no other
    end = started_at + timedelta(seconds=15)
    assert all(t.datetime_complete < end for t in finished[:-1]), [
        (t.number, t.datetime_complete - started_at) for t in finished
    ]
    note = result.summary["refit"]
    assert note.startswith(("refitted", "partial", "skipped", "stopped")), note
    assert result.refit == note.startswith(("refitted", "partial"))
    assert set(result.timings) >= {"prepare", "search", "refit", "report", "total"}
    page = Path(result.report_path).read_text(encoding="utf-8")
    assert note.split(":")[0] in page
    given = re.search(r"Explanations run on held-out rows under a budget of ([\d.]+) s", page)
    left_out = re.search(r"left out: \d+ s of the time budget were left", page)
    assert (given and float(given.group(1)) < 15) or left_out, "no explanation budget shown"
    assert result.predict(x.head(5)).shape == (5,)


def test_a_trial_stopped_in_its_first_epoch_is_not_scored_when_asked(iris, monkeypatch):
    from automl.training import StoppedUnscored

    _Clock().patch(monkeypatch)
    with pytest.raises(StoppedUnscored, match="after 3 batch"):
        _train_iris(iris, max_epochs=5, deadline=3.0, score_partial=False)


def test_a_schedule_is_shortened_to_end_at_the_deadline(monkeypatch):
    from automl.kinds.torch_training import PACE_MARGIN, _paced_horizon

    # the clock stands still at 100 s: a stall between two readings on a busy machine would
    # otherwise lengthen the measured pace and shorten the time left
    now = 100.0
    fake = types.SimpleNamespace(monotonic=lambda: now, perf_counter=lambda: now)
    monkeypatch.setattr("automl.kinds.torch_training.time", fake)
    # 1,000 rows seen in 10 s since the first batch: an epoch of 1,000 rows takes 10 s, and
    # scoring 500 validation rows 40% of their training time (2 s)
    warm = (now - 10.0, 0)
    left = 50.0 / PACE_MARGIN
    steps, epochs = _paced_horizon(now + left, warm, 1000, 1000, 500, 100, 100)
    assert epochs == 5.0 and steps == 500  # 1 epoch done + 50 s / 12 s: 5 whole epochs
    # less than one epoch fits: the steps that fit, the scoring pass paid for first
    steps, epochs = _paced_horizon(now + 7.0 / PACE_MARGIN, warm, 1000, 1000, 500, 0, 100)
    assert steps in (49, 50) and epochs == steps / 100  # (7 s - 2 s) at 0.1 s a step (floats)
    assert _paced_horizon(now + 5, None, 0, 1000, 500, 0, 100) is None


def test_a_trial_under_a_deadline_anneals_its_schedule_before_it(iris, monkeypatch):
    """On a machine of constant speed (``_WorkClock``: the real clock made this depend on the
    load staying the same for 3 s) the schedule is shortened to whole epochs that end before
    the deadline, and the run ends with it, not at the deadline."""
    clock = _WorkClock()
    clock.patch(monkeypatch)
    out = _train_iris(
        iris,
        net=clock.net(),
        max_epochs=100_000,
        patience=100_000,
        deadline=1.0,  # 7 epochs of 0.132 s (120 rows, then 30 scored) would pass it
        params={**PARAMS, "lr_schedule": "cosine"},
    )
    assert out.schedule_epochs is not None and out.schedule_epochs >= 1
    assert out.epochs_run == out.schedule_epochs  # the schedule ended, not the deadline
    assert clock.now <= 3.0  # before the deadline
    assert out.stopped_by == "time_budget"
    # without a deadline the schedule keeps its length
    plain = _train_iris(iris, max_epochs=3, params={**PARAMS, "lr_schedule": "cosine"})
    assert plain.schedule_epochs is None and plain.epochs_run == 3


def test_a_refit_is_planned_from_the_trial_s_own_pace():
    from automl.final import refit_estimate

    data = types.SimpleNamespace(n_train=800, n_valid=200)
    # a torch trial the deadline stopped after 5 of 50 batches: its refit trains a whole epoch
    cut = {"train_seconds": 10.0, "train_batches": 5, "batches_per_epoch": 50}
    trial = types.SimpleNamespace(user_attrs={**cut, "best_epoch": 1, "epochs_run": 1})
    assert refit_estimate(trial, data) == pytest.approx(10.0 / 5 * 50 * 1000 / 800)
    # a cross-validated scikit-learn trial: its seconds are the sum of 5 folds of 640 rows
    folds = {"train_seconds": 5.0, "fold_scores": [0.9] * 5, "rows_trained": 640}
    assert refit_estimate(types.SimpleNamespace(user_attrs=folds), data) == pytest.approx(
        1.0 * 1000 / 640
    )
    # a forest the deadline let grow 50 of its 400 trees: the refit grows all 400
    cut = {"train_seconds": 2.0, "rows_trained": 800, "grown_share": 0.125}
    assert refit_estimate(types.SimpleNamespace(user_attrs=cut), data) == pytest.approx(
        2.0 * 8 * 1000 / 800
    )


def test_the_progress_bar_runs_on_the_clock_of_the_budget_given(capsys):
    """The bar shows the budget given and the time left, and moves at every report a trial
    makes to the pruner. The budget is far longer than the search (two trials of at most four
    epochs, whatever the machine's speed): at 8 s, what the budget keeps for the report and
    saving put the search's deadline at its start, so no trial reported an epoch at all."""
    x, y = load_iris(return_X_y=True)
    result = automl.fit(
        (x, y),
        models=["mlp"],
        time_budget=3600,
        n_trials=2,
        max_epochs=4,
        cv_folds=0,
        storage=":memory:",
        verbose=True,
    )
    err = capsys.readouterr().err
    assert "/3600 s [" in err and " s left" in err  # elapsed of the budget given, time left
    reports = sum(t.user_attrs["epochs_run"] for t in result.study.trials)  # one per epoch
    assert reports >= 2
    # the bar is drawn at the start, at every report, after each trial, at the refit, and at
    # the end, done (100%)
    assert err.count(" s left") >= 1 + reports + 2 + 1
    assert "done: 100%" in err


def test_members_whose_refits_fit_are_refitted_first_by_weight(monkeypatch):
    from automl.final import _refits_that_fit

    # the budget's clock stands still at 1,000 s: the time left is what each budget says
    monkeypatch.setattr("automl.budget.time", types.SimpleNamespace(monotonic=lambda: 1000.0))

    data = types.SimpleNamespace(n_train=800, n_valid=200)

    def trial(number, seconds):
        return types.SimpleNamespace(
            number=number, user_attrs={"train_seconds": seconds, "rows_trained": 1000}
        )

    chosen = [(trial(1, 5.0), 0.6), (trial(2, 6.0), 0.3), (trial(3, 1.0), 0.1)]
    kept = {1: "m1", 2: "m2", 3: "m3"}
    roomy = Budget(60.0, started=990.0)  # 50 s left: 38 s after report+save
    assert _refits_that_fit(chosen, kept, data, roomy)[0] == {1, 2, 3}
    tight = Budget(60.0, started=960.0)  # 20 s left: 8 s for refits
    refits, note = _refits_that_fit(chosen, kept, data, tight)
    assert refits == {1, 3} and note.startswith("partial: 2 of 3") and "trials 1, 3" in note
    spent = Budget(60.0, started=950.0)
    refits, note = _refits_that_fit(chosen, kept, data, spent)
    assert refits == set() and note.startswith("skipped")
    # a member trained in an earlier process has no trial model here: everything is refitted
    assert _refits_that_fit(chosen, {1: "m1"}, data, spent)[0] == {1, 2, 3}


def test_the_expected_pace_follows_the_latest_fits():
    """Other processes took the cores in the middle of the search: the fits got 4x slower, and
    the next fit's expected cost says so after a few of them, not the pace of the start."""
    records = SearchRecords(METRICS["accuracy"])
    records.pace["linear"] = [1.0, 1.0, 1.0, 1.0, 4.0, 4.0, 4.0]  # seconds per row
    assert records.expected_seconds("linear", 10) == 40.0
    records.pace["linear"] += [1.0, 1.0]  # idle again
    assert records.expected_seconds("linear", 10) == 10.0
    assert records.expected_seconds("hist_gb", 10) is None  # no fit yet
