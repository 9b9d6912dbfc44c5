"""The calls and options AutoGluon, FLAML and scikit-learn users reach for first (issue 18):
fit(X, y) on every task, a user's own validation data, sample weights, custom metrics, the
positive class, presets, permutation importance, kept trial models, best_config, the model saved
by fit, the CLI's flags and a leaderboard that fits a terminal."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.metrics import accuracy_score, f1_score

import automl
from automl.cli import build_parser, main
from automl.console import leaderboard_text
from automl.settings import FitSettings
from tests import DATA, ROOT

QUICK = {"storage": ":memory:", "verbose": False, "report": False}


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, y.map(dict(enumerate(["setosa", "versicolor", "virginica"])))


@pytest.fixture(scope="module")
def cancer():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return x, y.map({0: "malignant", 1: "benign"})


# -- fit(X, y) -----------------------------------------------------------------------------------
def test_fit_x_y_on_tables_numpy_and_pandas(iris):
    x, y = iris
    arrays = automl.fit(x.to_numpy(), y.to_numpy(), models=["linear"], n_trials=1, **QUICK)
    frames = automl.fit(x, y, models=["linear"], n_trials=1, **QUICK)
    assert arrays.task == frames.task == "tabular"
    assert accuracy_score(y, frames.predict(x)) > 0.9


def test_fit_x_y_on_images_and_texts():
    with np.load(DATA / "mnist_sample.npz") as f:
        images, digits = f["x_train"][:200], f["y_train"][:200]
    vision = automl.fit(
        images, digits, models=["pixel_mlp"], n_trials=1, max_epochs=1, image_size=10, **QUICK
    )
    sms = pd.read_csv(DATA / "sms_spam_sample.csv")
    text = automl.fit(
        sms["text"].tolist(), sms["label"], models=["tfidf_linear"], n_trials=1, **QUICK
    )
    assert vision.task == "vision" and text.task == "text"


def test_a_refused_input_never_prints_a_whole_array():
    big = np.arange(100_000)
    with pytest.raises(automl.DataError) as refused:
        automl.fit({1, 2, 3}, big, n_trials=1, **QUICK)
    message = str(refused.value)
    assert "ndarray of shape (100000,)" in message and "99999" not in message
    assert len(message) < 1500


# -- the user's own validation data ---------------------------------------------------------------
def test_valid_rows_are_used_as_given_and_no_split_is_made(iris):
    x, y = iris
    x_val, y_val = x.iloc[::5], y.iloc[::5]
    train = x.drop(index=x_val.index).assign(species=y.drop(index=x_val.index))
    result = automl.fit(
        train,
        target="species",
        valid=x_val.assign(species=y_val),
        models=["linear"],
        n_trials=1,
        refit=False,
        **QUICK,
    )
    assert result.summary["valid_rows"] == len(x_val) == len(result.holdout[1])
    assert result.summary["train_rows"] == len(train)
    assert any("given by the caller" in n for n in result.summary["notes"])
    assert result.summary["validation"].startswith("holdout split of 30 rows")
    pair = automl.fit(
        train,
        target="species",
        valid=(x_val, y_val),
        models=["linear"],
        n_trials=1,
        refit=False,
        **QUICK,
    )
    assert pair.valid_score == result.valid_score
    assert result.valid_score == pytest.approx(accuracy_score(y_val, result.predict(x_val)))


def test_valid_rows_for_texts_and_images():
    sms = pd.read_csv(DATA / "sms_spam_sample.csv")
    text = automl.fit(
        sms.iloc[:500],
        target="label",
        valid=sms.iloc[500:],
        models=["tfidf_linear"],
        n_trials=1,
        **QUICK,
    )
    assert text.summary["valid_rows"] == 100
    with np.load(DATA / "mnist_sample.npz") as f:
        x, y = f["x_train"][:240], f["y_train"][:240]
    vision = automl.fit(
        (x[:200], y[:200]),
        valid=(x[200:], y[200:]),
        models=["pixel_mlp"],
        n_trials=1,
        max_epochs=1,
        **QUICK,
    )
    assert vision.summary["valid_rows"] == 40


def test_valid_and_cv_folds_together_are_refused(iris):
    x, y = iris
    with pytest.raises(automl.ParameterError, match="valid= .*cv_folds"):
        automl.fit(x, y, valid=(x, y), cv_folds=5, n_trials=1, **QUICK)


# -- sample weights ---------------------------------------------------------------------
def test_sample_weight_column_is_used_in_the_metric_not_as_a_feature(iris):
    x, y = iris
    rng = np.random.default_rng(0)
    frame = x.assign(species=y, w=rng.uniform(0.1, 3.0, len(x)))
    x_val = frame.iloc[::4]
    train = frame.drop(index=x_val.index)
    result = automl.fit(
        train,
        target="species",
        sample_weight="w",
        valid=x_val,
        models=["linear"],
        n_trials=1,
        refit=False,
        **QUICK,
    )
    assert "w" not in result.features.input_columns
    pred = result.predict(x_val.drop(columns=["species", "w"]))
    weighted = np.average(pred == x_val["species"].to_numpy(), weights=x_val["w"])
    assert result.valid_score == pytest.approx(weighted)


def test_sample_weight_changes_what_models_learn(iris):
    """Every row twice, the second copy with a wrong label: weighted, the wrong copies weigh
    nothing and the model learns the flowers; unweighted, the labels contradict each other."""
    x, y = iris
    shifted = y.map({"setosa": "versicolor", "versicolor": "virginica", "virginica": "setosa"})
    x2 = pd.concat([x, x], ignore_index=True)
    y2 = pd.concat([y, shifted], ignore_index=True)
    weights = np.r_[np.ones(len(x)), np.zeros(len(x))]
    for family in ("linear", "mlp"):
        kw = {"models": [family], "n_trials": 1, "max_epochs": 30, "cv_folds": 0, **QUICK}
        weighted = automl.fit((x2, y2), sample_weight=weights, **kw)
        plain = automl.fit((x2, y2), **kw)
        assert accuracy_score(y, weighted.predict(x)) > 0.85, family
        assert accuracy_score(y, plain.predict(x)) < 0.75, family


def test_sample_weight_of_the_wrong_length_is_refused(iris):
    x, y = iris
    with pytest.raises(automl.ParameterError, match="sample_weight has 10 values"):
        automl.fit((x, y), sample_weight=np.ones(10), n_trials=1, **QUICK)
    with pytest.raises(automl.ParameterError, match="non-negative"):
        automl.fit((x, y), sample_weight=-np.ones(len(x)), n_trials=1, **QUICK)


# -- metrics -----------------------------------------------------------------------------------
def test_a_custom_metric_callable_and_a_scorer_name(cancer):
    x, y = cancer

    def share_right(y_true, y_pred):
        return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))

    custom = automl.fit(
        (x, y), metric=share_right, models=["linear"], n_trials=1, refit=False, cv_folds=0, **QUICK
    )
    assert custom.metric == "share_right"
    assert custom.study.metric_names == ["share_right"]
    lower = automl.make_metric(
        lambda t, p: float(np.mean((p - (np.asarray(t) == "malignant")) ** 2)),
        greater_is_better=False,
        needs_proba=True,
        name="brier_malignant",
    )
    brier = automl.fit(
        (x, y),
        metric=lower,
        positive_class="malignant",
        models=["linear"],
        n_trials=1,
        cv_folds=0,
        **QUICK,
    )
    assert brier.study.direction.name == "MINIMIZE" and 0 <= brier.valid_score < 0.2
    scorer = automl.fit(
        (x, y), metric="f1_macro", models=["linear"], n_trials=1, cv_folds=0, **QUICK
    )
    assert 0.8 < scorer.valid_score <= 1.0
    assert scorer.score(x, y) == pytest.approx(f1_score(y, scorer.predict(x), average="macro"))


def test_positive_class_decides_what_binary_metrics_score(cancer):
    x, y = cancer
    scores = {}
    for positive in ("malignant", "benign"):
        result = automl.fit(
            (x, y), metric="f1", positive_class=positive, models=["linear"], n_trials=1, **QUICK
        )
        pred = result.predict(x)
        scores[positive] = result.score(x, y)
        assert scores[positive] == pytest.approx(f1_score(y, pred, pos_label=positive))
    assert scores["malignant"] != scores["benign"]
    with pytest.raises(automl.ParameterError, match="not one of the classes"):
        automl.fit((x, y), positive_class="yes", n_trials=1, **QUICK)


# -- presets -------------------------------------------------------------------------------------
def test_presets_bundle_families_budget_and_ensembling(iris):
    assert FitSettings.build(preset="best").time_budget == 600
    assert FitSettings.build().time_budget == 120 and FitSettings.build().preset == "medium"
    fast = FitSettings.build(preset="fast")
    assert (fast.time_budget, fast.refit, fast.ensemble, fast.cv_folds) == (60, False, False, 0)
    assert FitSettings.build(preset="fast", refit=True).refit  # what the caller says wins
    x, y = iris
    result = automl.fit((x, y), preset="fast", n_trials=3, **QUICK)
    searched = {t.params["model"] for t in result.study.trials}
    assert searched <= {"linear", "hist_gb"} and not result.refit
    with pytest.raises(automl.ParameterError, match="preset must be one of"):
        automl.fit((x, y), preset="quick", n_trials=1, **QUICK)


# -- importance, kept models, best_config ------------------------------------------------------
def test_feature_importance_ranks_an_informative_column_above_noise(iris):
    x, y = iris
    noisy = x.assign(noise=np.random.default_rng(0).normal(size=len(x)))
    result = automl.fit((noisy, y), models=["linear"], n_trials=1, **QUICK)
    table = result.feature_importance(noisy, y, n_repeats=3)
    assert list(table.columns) == ["importance", "stddev", "n"]
    assert set(table.index) == set(noisy.columns)
    assert table.loc["petal length (cm)", "importance"] > table.loc["noise", "importance"]


def test_kept_trial_models_predict_and_score_on_given_rows(iris):
    x, y = iris
    result = automl.fit((x, y), models=["linear", "hist_gb"], n_trials=3, **QUICK)
    kept = sorted(result.trial_models)
    assert kept and set(kept) <= {t.number for t in result.study.trials}
    board = result.leaderboard(x, y)
    assert "score_test" in board.columns
    first = board[board["trial"] == kept[0]].iloc[0]
    pred = result.predict(x, model=kept[0])
    assert first["score_test"] == pytest.approx(accuracy_score(y, pred))
    with pytest.raises(automl.DataError, match="not kept"):
        result.predict(x, model=999)


def test_best_config_has_the_family_s_own_names(iris):
    x, y = iris
    result = automl.fit((x, y), models=["hist_gb"], n_trials=1, **QUICK)
    config = result.best_config
    assert config["model"] == "hist_gb" and "learning_rate" in config
    assert not any(k.startswith("hist_gb.") for k in config)


# -- saving, the CLI, the console -------------------------------------------------------
def test_fit_saves_a_kept_study_s_model_and_the_cli_predicts_from_the_study(tmp_path, iris):
    x, y = iris
    result = automl.fit(
        x.assign(species=y),
        target="species",
        study_name="flowers",
        models=["linear"],
        n_trials=1,
        verbose=False,
        report=False,
    )
    assert result.model_path == str(Path("studies") / "flowers" / "model")
    assert automl.load(result.model_path).predict(x).tolist() == result.predict(x).tolist()
    x.to_csv(tmp_path / "x.csv", index=False)
    assert main(["predict", "studies/flowers", str(tmp_path / "x.csv"), "--out", "p.csv"]) == 0
    assert pd.read_csv("p.csv")["prediction"].tolist() == result.predict(x).tolist()
    memory = automl.fit((x, y), models=["linear"], n_trials=1, **QUICK)
    assert memory.model_path is None  # nothing kept, nothing saved


def test_the_cli_has_a_version_and_fit_s_flags(capsys, tmp_path, iris):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"automl {automl.__version__}"
    args = build_parser().parse_args(
        [
            "fit",
            "d.csv",
            "--models",
            "linear,hist_gb",
            "--problem-type",
            "multiclass",
            "--text-column",
            "body",
            "--device",
            "cpu",
            "--cv-folds",
            "3",
            "--n-jobs",
            "1",
            "--preset",
            "fast",
            "--valid",
            "v.csv",
        ]
    )
    assert (args.models, args.problem_type, args.text_column, args.device) == (
        "linear,hist_gb",
        "multiclass",
        "body",
        "cpu",
    )
    assert (args.cv_folds, args.n_jobs, args.preset, args.valid) == (3, 1, "fast", "v.csv")
    x, y = iris
    frame = x.assign(species=y)
    frame.iloc[::5].to_csv(tmp_path / "valid.csv", index=False)
    frame.drop(index=frame.index[::5]).to_csv(tmp_path / "train.csv", index=False)
    code = main(
        [
            "fit",
            str(tmp_path / "train.csv"),
            "--target",
            "species",
            "--models",
            "linear",
            "--valid",
            str(tmp_path / "valid.csv"),
            "--n-trials",
            "1",
            "--n-jobs",
            "1",
            "--quiet",
            "--no-report",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.count("chosen:") == 1 and out.count("model: ") == 1


def test_the_printed_leaderboard_fits_120_columns(capsys, iris):
    x, y = iris
    automl.fit(
        (x, y),
        models=["hist_gb", "linear"],
        n_trials=3,
        storage=":memory:",
        report=False,
        verbose=True,
    )
    out = capsys.readouterr().out
    table = out[: out.index("chosen:")].strip().splitlines()
    assert table and max(len(line) for line in table) <= 120
    assert out.count("chosen:") == 1
    board = pd.DataFrame({"trial": [0], "params": ["x=" * 200], "note": ["n" * 300]})
    assert max(len(line) for line in leaderboard_text(board).splitlines()) <= 120


def test_an_interrupted_trial_says_so_and_the_search_keeps_what_it_found(iris):
    from automl import ModelFamily, hookimpl

    class _Stops(ModelFamily):
        name, task, kind = "stops", "tabular", "sklearn"

        def suggest(self, trial, data):
            trial.suggest_int("stops.x", 0, 1)

        def default_params(self, data):
            return {"stops.x": 0}

        def build(self, params, spec):
            raise KeyboardInterrupt  # as Ctrl-C during this trial

    class _Plugin:
        @hookimpl
        def automl_register_models(self, register):
            register(_Stops())

    x, y = iris
    result = automl.fit(
        (x, y), models=["linear", "stops"], plugins=["tabular", _Plugin()], n_trials=3, **QUICK
    )
    board = result.leaderboard().set_index("trial")
    assert board.loc[0, "state"] == "complete" and result.model_name == "linear"
    assert board.loc[1, "state"] == "fail"
    assert board.loc[1, "note"].startswith("interrupted")


def test_the_distribution_name_is_free_on_pypi_and_the_readme_installs_it():
    dist = metadata.distribution("automl-nn")
    assert {ep.name for ep in dist.entry_points if ep.group == "automl.plugins"} >= {
        "tabular",
        "vision",
        "text",
    }
    readme = (ROOT / "README.md").read_text()
    assert "pip install" in readme and "automl-nn" in readme
    assert "pip install 'automl[" not in readme
    assert not re.search(r"\bat (commit )?[0-9a-f]{7}\b", readme)  # history goes to docs/
