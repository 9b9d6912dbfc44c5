"""A misspelled option (time_budjet, n_trails, metrc) is refused where options are taken, saying
which one was meant: fit (before any data is read), a task's options, the command line, study
files and the scikit-learn estimators."""

import pytest
from sklearn.base import clone

import automl
from automl.cli import main
from automl.settings import refuse_peer_keywords


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("time_budjet", "time_budget"), ("n_trails", "n_trials"), ("metrc", "metric")],
)
def test_fit_names_the_setting_a_misspelling_meant_before_the_data_is_read(typo, meant):
    never_read = object()  # not data at all: reading it would fail differently
    with pytest.raises(automl.ParameterError, match=f"{typo}=: did you mean {meant}=\\?"):
        automl.fit(never_read, "y", **{typo: 10})


def test_every_misspelling_is_named_at_once():
    with pytest.raises(automl.ParameterError) as caught:
        automl.fit(object(), "y", metrc="f1", n_trails=3, time_limit=5)
    said = str(caught.value)
    assert "for metrc= did you mean metric=?" in said
    assert "for n_trails= did you mean n_trials=?" in said
    assert "time_limit= is time_budget= here" in said


def test_the_built_in_tasks_options_are_no_misspellings_of_fit_settings():
    """Any keyword that is not a setting goes to the task: none of theirs may look like a
    misspelled setting, or fit would refuse it."""
    options = {"text_column": "t", "empty_texts": "warn", "group_texts": False}
    refuse_peer_keywords({**options, "image_size": 32, "bad_images": "skip"})


def test_a_task_option_misspelled_names_the_option_meant():
    texts = ["a short text here", "another text to read", "one more of them", "and the last"]
    with pytest.raises(automl.ParameterError, match="text_colum=: did you mean text_column="):
        automl.fit((texts, [0, 1, 0, 1]), text_colum="body", storage=":memory:")


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["fit", "never-read.csv", "--time-budjet", "5"], "--time-budget"),
        (["fit", "never-read.csv", "--n-trails=3"], "--n-trials"),
        (["run", "never-read.toml", "--time-budjet", "5"], "--time-budget"),
        (["serve", "never-read", "--prot", "80"], "--port"),
    ],
)
def test_the_command_line_names_the_option_a_misspelling_meant(argv, meant, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"automl {argv[0]}: error: unrecognized arguments" in err
    assert f"did you mean {meant}?" in err


def test_an_unknown_option_without_a_close_one_stays_argparses_error(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "never-read.csv", "--zzz"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzz" in err and "did you mean" not in err


def test_a_study_file_key_misspelled_names_the_key_meant(tmp_path):
    from automl import studyfile

    path = tmp_path / "s.toml"
    path.write_text('[study]\ndata = "never-read.csv"\ntarget = "y"\nn_trails = 3\n')
    with pytest.raises(automl.DataError, match="'n_trails': did you mean 'n_trials'\\?"):
        studyfile.read(str(path))


def test_a_setting_misspelled_among_a_study_files_options_is_refused_on_reading(tmp_path):
    from automl import studyfile

    path = tmp_path / "s.toml"
    path.write_text('[study]\ndata = "never-read.csv"\noptions = { time_budjet = 5 }\n')
    with pytest.raises(automl.ParameterError, match="time_budjet=: did you mean time_budget="):
        studyfile.read(str(path))


@pytest.mark.parametrize("estimator", [automl.AutoMLClassifier, automl.AutoMLRegressor])
def test_an_estimator_names_the_parameter_a_misspelling_meant(estimator):
    with pytest.raises(TypeError, match="time_budjet=: did you mean time_budget=\\?"):
        estimator(time_budjet=5)  # a TypeError, as Python's own for an unknown keyword
    with pytest.raises(automl.ParameterError, match="n_trails=: did you mean n_trials=\\?"):
        estimator().set_params(n_trails=3)
    with pytest.raises(automl.ParameterError, match="random_state= is seed= here"):
        estimator(random_state=0)
    kept = clone(estimator(time_budget=5, n_trials=2))  # the contract: names only, as given
    assert kept.get_params()["time_budget"] == 5 and kept.get_params()["n_trials"] == 2


def test_a_results_calls_name_the_option_a_misspelling_meant(tmp_path):
    """``explain``, ``report`` and ``feature_importance`` refuse a misspelled option before
    any work, naming the one meant and what they take; the report writes no file."""
    import pandas as pd

    from tests import DATA
    from tests.plugins.tabular.test_explain_tabular import fitted

    result = fitted("adult_hist_gb")
    with pytest.raises(automl.ParameterError, match="'secnds': did you mean 'seconds'\\?"):
        result.explain(method="shap", secnds=3)
    page = tmp_path / "report.html"
    with pytest.raises(
        automl.ParameterError,
        match="explain_budget=: did you mean explain_budget_s=\\?; it takes: holdout=",
    ):
        result.report(str(page), explain_budget=3)
    assert not page.exists()
    rows = pd.read_csv(DATA / "adult_sample.csv").head(50)
    with pytest.raises(automl.ParameterError, match="n_repeat=: did you mean n_repeats=\\?"):
        result.feature_importance(rows, n_repeat=2)
