"""automl.fit end to end on small real tables: every accepted input, the three problem types,
the result's methods, save/load and resuming a study."""

from datetime import datetime, timedelta

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import roc_auc_score

import automl

# the study is kept (studies/studies.db), but its report is not written here: what these tests
# check is the search and the result (the default report and model: tests/core/test_user_calls.py)
FAST = {"n_trials": 4, "verbose": False, "max_epochs": 8, "report": False}


def test_dataframe_binary_with_categoricals_and_missing(adult):
    train, test = adult.iloc[:450], adult.iloc[450:]
    result = automl.fit(train, target="class", study_name="adult", **FAST)
    assert result.task == "tabular" and result.problem_type == "binary"
    assert result.problem_type_reason.startswith("inferred")
    assert result.classes_ == ["<=50K", ">50K"]
    x_test = test.drop(columns="class")
    pred = result.predict(x_test)
    assert set(pred) <= {"<=50K", ">50K"}
    proba = result.predict_proba(x_test)
    assert proba.shape == (len(test), 2) and np.allclose(proba.sum(axis=1), 1)
    assert result.score(x_test, test["class"]) > 0.75  # the majority class alone gives 0.73
    assert result.summary["missing_values"]["workclass"] > 0
    board = result.leaderboard()
    assert list(board.columns) == [
        "trial",
        "model",
        "params",
        "accuracy",
        "seconds",
        "epochs",
        "rows",
        "state",
        "note",
    ]
    assert len(board) == 4 and board.iloc[0]["state"] == "complete"
    assert isinstance(result.study, optuna.Study)
    assert (tmp := result.storage) and tmp.endswith("studies/studies.db")
    assert result.best_params["model"] == result.family.name
    assert result.model_name in (result.family.name, "ensemble")


def test_xy_arrays_multiclass_with_roc_auc():
    x, y = load_iris(return_X_y=True)
    result = automl.fit((x, y), metric="roc_auc", **FAST)
    assert result.problem_type == "multiclass" and result.metric == "roc_auc"
    assert result.valid_score > 0.9
    predicted = result.predict(x)
    assert predicted.dtype == y.dtype and (predicted == y).mean() > 0.9
    proba = result.predict_proba(x)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1)
    # the columns follow classes_ (checked against the true labels, not against predict)
    assert list(result.classes_) == [0, 1, 2]
    assert (proba.argmax(axis=1) == y).mean() > 0.9
    scores = result.evaluate(x, y)
    assert set(scores) >= {"accuracy", "f1", "roc_auc", "log_loss"}
    assert scores["accuracy"] == pytest.approx((predicted == y).mean())
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    assert scores["roc_auc"] > 0.9


def test_bunch_and_regression(diabetes):
    from sklearn.datasets import load_diabetes

    result = automl.fit(load_diabetes(), metric="rmse", **FAST)
    assert result.problem_type == "regression" and result.metric == "rmse"
    x, y = diabetes
    pred = result.predict(x)
    assert pred.shape == (len(y),) and np.isfinite(pred).all()
    assert result.score(x, y, metric="r2") > 0.3
    with pytest.raises(AttributeError, match="classification"):
        result.predict_proba(x)


def test_csv_path(tmp_path, iris_frame):
    path = tmp_path / "iris.csv"
    iris_frame.to_csv(path, index=False)
    result = automl.fit(str(path), target="target", **FAST)
    assert set(result.predict(iris_frame.drop(columns="target"))) <= set(iris_frame["target"])


def test_every_family_trains_and_round_trips(tmp_path, iris_frame):
    x = iris_frame.drop(columns="target")
    for family in ("linear", "hist_gb", "extra_trees", "random_forest", "mlp"):
        result = automl.fit(
            iris_frame,
            target="target",
            models=[family],
            n_trials=1,
            storage=":memory:",
            verbose=False,
            max_epochs=5,
        )
        assert result.model_name == family
        loaded = automl.load(result.save(str(tmp_path / family)))
        assert np.allclose(loaded.predict_proba(x), result.predict_proba(x), atol=1e-6)
        assert loaded.best_params == result.best_params


def test_save_writes_state_dict_config_and_manifest(tmp_path, iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        models=["mlp"],
        n_trials=1,
        storage=":memory:",
        verbose=False,
        max_epochs=3,
    )
    folder = tmp_path / "model"
    result.save(str(folder))
    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert files == {
        "config.json",
        "member_0/weights.pt",
        "features.json",
        "features.npz",
        "profile.json",
        "drift.json",
        "drift.npz",
        "MANIFEST.json",
    }
    weights = folder / "member_0" / "weights.pt"
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(automl.DataError, match="checksum"):
        automl.load(str(folder))


def test_resume_continues_the_same_study(iris_frame):
    first = automl.fit(
        iris_frame, target="target", study_name="iris", n_trials=3, verbose=False, max_epochs=4
    )
    assert len(first.study.trials) == 3
    again = automl.fit(
        iris_frame, target="target", study_name="iris", n_trials=5, verbose=False, max_epochs=4
    )
    assert len(again.study.trials) == 5 and again.summary["resumed"]
    numbers = [t.number for t in again.study.trials]
    assert numbers == list(range(5))
    done = automl.fit(
        iris_frame, target="target", study_name="iris", n_trials=5, verbose=False, max_epochs=4
    )
    assert len(done.study.trials) == 5  # n_trials counts the study's trials: nothing to add


def test_resume_on_other_data_is_refused_and_leaves_study_untouched(iris_frame, adult):
    automl.fit(iris_frame, target="target", study_name="s", n_trials=2, verbose=False)
    with pytest.raises(
        automl.DataError,
        match="was started with problem_type=.multiclass.; this call has problem_type=.binary.",
    ):
        automl.fit(adult, target="class", study_name="s", n_trials=2, verbose=False)
    study = optuna.load_study(study_name="s", storage="sqlite:///studies/studies.db")
    assert len(study.trials) == 2


def test_refit_false_keeps_the_best_trial_model(iris_frame):
    result = automl.fit(iris_frame, target="target", refit=False, **FAST)
    assert result.refit is False
    x = iris_frame.drop(columns="target")
    assert result.score(x, iris_frame["target"]) > 0.85


def test_time_budget_stops_the_search(adult):
    """The search ends at the budget, plus at most the trial running then (a forest stops at its
    next chunk of trees, hist_gb at its paced iteration count, a torch trial at its next batch;
    other scikit-learn fits are not cut): no trial starts once one has ended past the budget.
    Checked on the trials' own times, not on the search's length beside a slack in seconds,
    which a loaded machine's bookkeeping between trials can use up."""
    started_at = datetime.now()  # the clock of Optuna's trial times
    result = automl.fit(adult, target="class", time_budget=6, storage=":memory:", verbose=False)
    finished = [t for t in result.study.trials if t.datetime_complete is not None]
    assert len(finished) >= 1
    end = started_at + timedelta(seconds=6)
    assert all(t.datetime_complete < end for t in finished[:-1]), [
        (t.number, t.datetime_complete - started_at) for t in finished
    ]


def test_progress_bar_prints_best_score(iris_frame, capsys):
    automl.fit(iris_frame, target="target", n_trials=2, storage=":memory:", verbose=True)
    err = capsys.readouterr()
    assert "best accuracy=" in err.err
    assert "chosen:" in err.out


def test_predict_accepts_numpy_with_the_same_columns(iris_frame):
    result = automl.fit(iris_frame, target="target", **FAST)
    x = iris_frame.drop(columns="target")
    assert (result.predict(x.to_numpy()) == result.predict(x)).all()
    shuffled = x[list(reversed(x.columns))]
    assert (result.predict(shuffled) == result.predict(x)).all()
    assert (
        result.predict(pd.concat([x, iris_frame[["target"]]], axis=1)) == result.predict(x)
    ).all()


def test_ensemble_beats_or_is_skipped_and_round_trips(tmp_path, adult):
    """Asked not to, fit returns the best trial alone; asked to, it returns the greedy ensemble,
    which here always beats the best trial: log loss (averaged probabilities of the five
    starting families lower it by several per cent on this table, where accuracy, counted on a
    few rows, may tie) and a fixed seed."""
    train, test = adult.iloc[:450], adult.iloc[450:]
    kw = {"n_trials": 8, "metric": "log_loss", "seed": 0, "max_epochs": 6}
    kw.update(verbose=False, storage=":memory:")
    # two cheap families are enough for the single-model case
    single_kw = {**kw, "n_trials": 3, "models": ["linear", "hist_gb"]}
    single = automl.fit(train, target="class", ensemble=False, refit=False, **single_kw)
    assert single.model_name != "ensemble"
    assert len(single.members) == 1 and single.valid_score == single.study.best_value
    result = automl.fit(train, target="class", **kw)
    assert result.model_name == "ensemble"
    assert result.valid_score < result.study.best_value  # log loss: lower is better
    assert len({m.trial for m in result.members}) == len(result.members) > 1
    assert abs(sum(e["weight"] for e in result.ensemble) - 1) < 1e-9
    assert result.describe().startswith("ensemble of ")
    assert result.summary["ensemble"].startswith("greedy selection by validation log_loss: ")
    assert "ensemble" not in single.summary
    from automl.report.sections.formatting import fmt
    from automl.report.sections.model import model_section

    section = model_section(result, None)
    assert dict(section["facts"])["ensemble chosen"] == result.summary["ensemble"]
    members = {m.trial: m.params for m in result.members}
    shown = section["params_trial"]
    assert shown == (result.best_trial if result.best_trial in members else min(members))
    assert dict(section["params"]) == {k: fmt(v) for k, v in members[shown].items()}
    x_test = test.drop(columns="class")
    loaded = automl.load(result.save(str(tmp_path / "ens")))
    assert np.allclose(loaded.predict_proba(x_test), result.predict_proba(x_test), atol=1e-6)
    assert loaded.describe() == result.describe()


def test_time_budget_overshoot_is_one_batch_for_torch_trials(adult, tmp_path, monkeypatch):
    """A torch trial running when the search's deadline passes stops at its next batch. Here
    what the budget keeps for saving (and the final choice) is more than the budget, so the
    deadline has passed when the search starts: the one trial it must run (a search returns a
    model) trains one batch, is scored, and says the budget stopped it, at any machine speed
    (the search's length beside a slack of 1 s depended on it)."""
    from automl.budget import Budget

    monkeypatch.chdir(tmp_path)  # the saved model folder goes to studies/ here
    assert Budget(2.0, reports=False).after_search() >= 2.0  # the deadline is at its start
    result = automl.fit(
        adult,
        target="class",
        models=["mlp"],
        time_budget=2,
        max_epochs=500,
        storage=":memory:",
        report=False,
        save=True,
        verbose=False,
        ensemble=False,
    )
    (trial,) = [t for t in result.study.trials if t.datetime_complete is not None]
    assert trial.state.name == "COMPLETE"
    attrs = trial.user_attrs
    assert attrs["stopped_by"] == "time_budget" and attrs["train_batches"] == 1, attrs
    assert {"search", "refit", "total"} <= set(result.timings)


@pytest.mark.slow
def test_a_table_fit_without_networks_imports_no_torch():
    """torch costs some 300 MB of memory (a 200,000-row fit's peak was 825 MiB with it): a fit
    whose families are all scikit-learn's imports it neither to check the device nor to register
    the vision families."""
    import subprocess
    import sys

    code = (
        "import sys; from sklearn.datasets import make_classification; import automl; "
        "x, y = make_classification(200, random_state=0); "
        "automl.fit(x, y, n_trials=2, storage=':memory:', verbose=False, models=['linear']); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
