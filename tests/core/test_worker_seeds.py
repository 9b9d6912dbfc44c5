"""Workers of one study do not repeat each other's trials: each draws its own sampler seed.
With the study's seed in every worker, workers started together sampled the same
configurations (two workers, six trials, three configurations), so a second worker added no
search, only load."""

from __future__ import annotations

from sklearn.datasets import load_iris

from automl.api import run_trials
from automl.cli import main


def test_two_workers_sample_different_configurations(tmp_path):
    data = tmp_path / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(data, index=False)
    journal = str(tmp_path / "study.log")
    argv = ["fit", str(data), "--target", "target", "--study", "seeds", "--storage", journal]
    argv += ["--n-trials", "1", "--models", "linear", "--cv-folds", "0", "--quiet"]
    assert main([*argv, "--no-report"]) == 0
    for _worker in range(2):  # one after the other: each starts its sampler afresh, as a worker
        ran = run_trials(
            str(data),
            "target",
            study_name="seeds",
            storage=journal,
            n_trials=3,
            models=["linear"],
            cv_folds=0,
        )
        assert ran == 3

    import optuna

    trials = optuna.load_study(
        study_name="seeds",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(journal)
        ),
    ).trials
    sampled = [t.params["linear.C"] for t in trials[1:]]  # trial 0: the default, enqueued
    assert len(sampled) == 6
    assert len(set(sampled)) == 6, sampled
