"""AutoGluon's calls with the target inside the frame: ``leaderboard(test_df)``,
``evaluate(test_df)``, ``score(test_df)``, ``feature_importance(test_df)`` and
``monitor(test_df)`` take the labels from the target column named at fit, also after save and
load (the name is kept in the model folder's config.json); ``evaluate(X, y)`` still works."""

import numpy as np
import pandas as pd
import pytest

import automl
from tests import DATA

TARGET = "class"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny search on the adult sample (its study kept, so a loaded model reopens it), the
    model saved and loaded back, and the test rows with their target column."""
    folder = tmp_path_factory.mktemp("target_in_frame")
    frame = pd.read_csv(DATA / "adult_sample.csv")
    train, test = frame.iloc[:450], frame.iloc[450:].reset_index(drop=True)
    result = automl.fit(
        train,
        TARGET,
        n_trials=2,
        models=["linear"],
        cv_folds=0,
        ensemble=False,
        refit=False,
        storage=f"sqlite:///{folder / 'studies.db'}",
        study_name="target-in-frame",
        report=False,
        save=False,
        verbose=False,
    )
    loaded = automl.load(result.save(str(folder / "model")))
    return result, loaded, test


def _split(test):
    return test.drop(columns=[TARGET]), test[TARGET]


@pytest.mark.parametrize("which", ["fitted", "loaded"])
def test_evaluate_and_score_take_the_labels_from_the_frame(fitted, which):
    result, loaded, test = fitted
    model = result if which == "fitted" else loaded
    x, y = _split(test)
    assert model.target_name == TARGET
    assert model.evaluate(test) == model.evaluate(x, y)  # (X, y) keeps working
    assert model.score(test) == model.score(x, y)
    assert model.score(test, metric="f1") == model.score(x, y, metric="f1")
    assert list(model.predict(test)) == list(model.predict(x))


def test_the_leaderboard_scores_kept_trial_models_on_the_frame(fitted):
    result, _, test = fitted
    board = result.leaderboard(test)
    assert board["score_test"].notna().any()
    pd.testing.assert_series_equal(
        board["score_test"], result.leaderboard(*_split(test))["score_test"]
    )


def test_a_loaded_models_leaderboard_reads_the_labels_from_the_frame_too(fitted):
    """A loaded model keeps no trial model to score, but its rows are read all the same: a
    frame without the target is refused as it is before saving."""
    _, loaded, test = fitted
    board = loaded.leaderboard(test)  # the study reopened from its storage
    assert len(board) == 2 and board["score_test"].isna().all()
    with pytest.raises(automl.DataError, match="holding the target column 'class'"):
        loaded.leaderboard(_split(test)[0])


@pytest.mark.parametrize("which", ["fitted", "loaded"])
def test_feature_importance_takes_the_labels_from_the_frame(fitted, which):
    result, loaded, test = fitted
    model = result if which == "fitted" else loaded
    table = model.feature_importance(test, n_repeats=2)
    assert TARGET not in table.index
    expected = model.feature_importance(*_split(test), n_repeats=2)
    pd.testing.assert_frame_equal(table, expected)


def test_monitor_takes_the_labels_from_the_frame(fitted):
    _, loaded, test = fitted
    report = loaded.monitor(test)
    assert report.summary["metrics"]["accuracy"] > 0.5
    assert report.summary["metrics"] == loaded.monitor(*_split(test)).summary["metrics"]
    assert TARGET not in [c.name for c in report.features]


def test_automl_monitor_reads_the_labels_from_the_target_column(fitted, tmp_path, capsys):
    import json

    from automl.cli import main

    _, loaded, test = fitted
    test.to_csv(tmp_path / "new.csv", index=False)
    folder = loaded.save(str(tmp_path / "model"))
    argv = ["monitor", folder, str(tmp_path / "new.csv"), "--out", str(tmp_path / "drift")]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "drift" / "summary.json").read_text())
    assert summary["metrics"]["accuracy"] > 0.5
    assert summary["metrics"] == loaded.monitor(*_split(test)).summary["metrics"]


def test_rows_without_the_target_and_no_y_name_the_column_to_add(fitted):
    result, _, test = fitted
    x, _ = _split(test)
    with pytest.raises(
        automl.DataError, match="pass y, or a DataFrame holding the target column 'class'"
    ):
        result.evaluate(x)
    with pytest.raises(automl.DataError, match="leaderboard needs the true labels"):
        result.leaderboard(x.to_numpy())


def test_a_model_fitted_from_an_unnamed_y_asks_for_y():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] > 0).astype(int)
    result = automl.fit(x, y, n_trials=1, models=["linear"], storage=":memory:", verbose=False)
    assert result.target_name is None
    with pytest.raises(
        automl.DataError, match=r"score needs the true labels: pass y \(score\(X, y\)\)"
    ):
        result.score(x)
    assert 0.0 <= result.score(x, y) <= 1.0
