"""Faults stay inside their trial: the study goes on to its budget, reasons are recorded."""

from __future__ import annotations

import optuna
import pytest
import torch
from automl_tabular.families import MLPFamily

import automl
from automl.metrics import METRICS
from automl.objective import SearchRecords, make_objective, train_candidate
from automl.plugins import load_registry


class _Broken(automl.ModelFamily):
    name = "broken"
    task = "tabular"
    kind = "sklearn"

    def suggest(self, trial, data):
        trial.suggest_int("broken.x", 0, 3)

    def build(self, params, spec):
        raise RuntimeError("plugin bug: cannot build")


class _Exploding(MLPFamily):
    """An MLP whose loss is NaN from the first batch."""

    name = "exploding"

    def build(self, params, spec):
        net = super().build(params, spec)
        return torch.nn.Sequential(net, _Scale(float("nan")))


class _Scale(torch.nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class _OutOfMemoryOnce(MLPFamily):
    """Simulates a CUDA out-of-memory at batch sizes above 64."""

    name = "oom_mlp"

    def build(self, params, spec):
        net = super().build(params, spec)
        return _OomAbove(net, limit=64)


class _OomAbove(torch.nn.Module):
    def __init__(self, net, limit):
        super().__init__()
        self.net, self.limit = net, limit

    def forward(self, x):
        if self.training and len(x) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.net(x)


class _Plugin:
    def __init__(self, *families):
        self.families = families
        self.__name__ = "fault_plugin"

    @automl.hookimpl
    def automl_register_models(self, register):
        for family in self.families:
            register(family)


def _fit(frame, models, plugin, **kw):
    return automl.fit(
        frame,
        target="target",
        models=models,
        plugins=["tabular", plugin],
        storage=":memory:",
        verbose=False,
        max_epochs=3,
        **kw,
    )


def test_a_raising_family_fails_its_trials_and_the_search_goes_on(iris_frame):
    result = _fit(iris_frame, ["broken", "linear"], _Plugin(_Broken()), n_trials=8)
    board = result.leaderboard()
    failed = board[board.state == "fail"]
    assert len(failed) >= 1 and (failed.model == "broken").all()
    assert failed.note.str.contains("RuntimeError: plugin bug: cannot build").all()
    assert result.model_name == "linear"
    assert len(board) == 8


def test_nan_loss_prunes_with_the_reason(iris_frame):
    result = _fit(iris_frame, ["exploding", "linear"], _Plugin(_Exploding()), n_trials=4)
    board = result.leaderboard()
    exploding = board[board.model == "exploding"]
    assert len(exploding) >= 1 and (exploding.state == "pruned").all()
    assert exploding.note.str.contains("non-finite training loss").all()


@pytest.mark.parametrize(("batch", "state"), [(128, "complete"), (256, "fail")])
def test_out_of_memory_retries_once_at_half_the_batch_size(iris_frame, batch, state):
    """OOM above 64 rows a batch: 128 succeeds on the retry at 64; 256 fails again at 128."""
    registry = load_registry(plugins=["tabular", _Plugin(_OutOfMemoryOnce())])
    data = registry.task("tabular").adapt(iris_frame, "target")
    data.max_epochs = 2
    accuracy = METRICS["accuracy"]
    objective = make_objective(
        data,
        [registry.models["oom_mlp"]],
        accuracy,
        device="cpu",
        seed=0,
        deadline=None,
        records=SearchRecords(accuracy),
    )
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(
        {
            "model": "oom_mlp",
            "oom_mlp.depth": 1,
            "oom_mlp.width": 64,
            "oom_mlp.dropout": 0.0,
            "oom_mlp.batch_norm": False,
            "activation": "relu",
            "init": "default",
            "optimizer": "adam",
            "lr": 1e-3,
            "weight_decay": 1e-6,
            "batch_size": batch,
        }
    )
    study.optimize(objective, n_trials=1, catch=(Exception,))
    trial = study.trials[0]
    assert trial.state.name.lower() == state
    assert trial.user_attrs["oom_retry"] == f"out of memory at batch size {batch}"
    assert trial.user_attrs["batch_size_used"] == batch // 2
    if state == "fail":
        assert "OutOfMemoryError" in trial.user_attrs["reason"]


def test_every_trial_failing_raises_a_summary(iris_frame):
    with pytest.raises(automl.SearchError, match=r"no trial completed: 3 fail \(RuntimeError\)"):
        _fit(iris_frame, ["broken"], _Plugin(_Broken()), n_trials=3)


def _late_trial(iris_frame, name, **overrides):
    """One trial of family ``name`` (its default configuration with ``overrides``) that starts
    after the search's deadline; returns the trial, the family and the task data."""
    import time

    registry = load_registry(plugins=["tabular"])
    data = registry.task("tabular").adapt(iris_frame, "target")
    accuracy = METRICS["accuracy"]
    family = registry.models[name]
    objective = make_objective(
        data,
        [family],
        accuracy,
        device="cpu",
        seed=0,
        deadline=time.monotonic() - 1,
        records=SearchRecords(accuracy),
    )
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"model": name, **family.default_params(data), **overrides})
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state.name == "COMPLETE" and trial.value > 0.8
    assert trial.user_attrs["stopped_by"] == "time_budget"
    refit = train_candidate(
        family, dict(trial.params), data, accuracy, device="cpu", seed=0, refit_epochs=1
    )
    return trial, refit.predictor.estimator


def test_a_forest_trial_past_the_deadline_is_cut_short_and_says_so(iris_frame):
    """A trial that starts at the very end of the budget grows its timed probe of trees (not a
    whole chunk), scores it, and the leaderboard notes it; the refit of that configuration
    grows all its trees."""
    from automl.kinds.sklearn_training import PROBE_ITERATIONS

    trial, refit = _late_trial(iris_frame, "random_forest")
    wanted = trial.params["random_forest.n_estimators"]
    assert trial.user_attrs["note"] == (
        f"time budget reached: {PROBE_ITERATIONS} of {wanted} trees grown (a refit grows all)"
    )
    assert len(refit.estimators_) == wanted


def test_a_boosting_trial_past_the_deadline_is_cut_short_and_its_refit_is_not(iris_frame):
    """hist_gb started after the deadline fits its probe of iterations (the ones it times to
    pace itself) and says so; the refit of that configuration runs to its own early
    stopping."""
    from automl.kinds.sklearn_training import PROBE_ITERATIONS as TREE_CHUNK

    # a slow learning rate, so that early stopping does not end the first chunk by itself
    trial, refit = _late_trial(iris_frame, "hist_gb", **{"hist_gb.learning_rate": 0.01})
    assert trial.user_attrs["note"].startswith(
        f"time budget reached: stopped after {TREE_CHUNK} boosting iterations"
    )
    assert refit.n_iter_ > TREE_CHUNK
