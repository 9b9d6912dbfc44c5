"""The automl command: every subcommand, study definitions, and one-line usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automl.cli import build_parser, main
from tests import DATA as DATA_DIR

DATA = DATA_DIR / "adult_sample.csv"


def test_help_of_every_command_is_complete(capsys):
    parser = build_parser()
    commands = {"fit", "run", "predict", "report", "dashboard", "plugins", "worker"}
    commands |= {"export", "serve", "monitor"}
    assert set(parser._subparsers._group_actions[0].choices) == commands
    for command in sorted(commands):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: automl {command}")
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    fit_help = capsys.readouterr().out
    for option in (
        "--target",
        "--task",
        "--time-budget",
        "--n-trials",
        "--study",
        "--storage",
        "--metric",
    ):
        assert option in fit_help


def test_plugins_lists_tasks_models_and_distributions(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "tabular  (automl_tabular, from automl" in out and "hist_gb" in out


def test_fit_predict_and_resume(capsys, tmp_path):
    args = ["fit", str(DATA), "--target", "class", "--n-trials", "2", "--quiet", "--no-report"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trial" in out and "chosen:" in out and "model: studies/adult_sample/model" in out
    study = optuna.load_study(study_name="adult_sample", storage="sqlite:///studies/studies.db")
    assert len(study.trials) == 2
    assert not Path("studies/adult_sample/report.html").exists()  # --no-report
    assert main([*args[:4], "--n-trials", "3", "--quiet", "--no-report"]) == 0
    assert len(study.trials) == 3  # resumed, not restarted
    assert main(["predict", "studies/adult_sample/model", str(DATA), "--out", "p.csv"]) == 0
    preds = pd.read_csv("p.csv")
    assert list(preds.columns) == ["prediction", "proba_<=50K", "proba_>50K"]
    assert len(preds) == 600


def test_run_a_study_definition_lands_in_its_folder(tmp_path, capsys):
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        f'[study]\ndata = "{DATA}"\ntarget = "class"\nmetric = "roc_auc"\nn_trials = 2\n'
        "test_size = 0.25\n"
    )
    assert main(["run", str(toml)]) == 0
    out = capsys.readouterr().out
    assert "test roc_auc:" in out
    assert (tmp_path / "studies" / "studies.db").is_file()
    assert (tmp_path / "studies" / "tiny" / "model" / "config.json").is_file()


def test_workers_share_a_journal_file(capsys):
    journal = "studies/shared.log"
    Path("studies").mkdir()
    base = [
        "fit",
        str(DATA),
        "--target",
        "class",
        "--study",
        "shared",
        "--storage",
        journal,
        "--quiet",
        "--no-report",
    ]
    assert main([*base, "--n-trials", "2"]) == 0
    assert main(["worker", "--storage", journal, "--study", "shared", "--n-trials", "2"]) == 0
    assert "worker finished 2 trial(s)" in capsys.readouterr().out
    study = optuna.load_study(
        study_name="shared",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(journal)
        ),
    )
    assert len(study.trials) == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "data.xyz", "--target", "a"], "unknown file type 'data.xyz'"),
        (["fit", "missing.csv", "--target", "a"], "no such file or folder"),
        (["fit", str(DATA), "--target", "income"], "target column 'income' is not in"),
        (["fit", "broken.csv", "--target", "a"], "cannot read"),
        (["run", "studies/nope.toml"], "no such study definition"),
        (["report", "studies/nope"], "holds no saved model"),
        (["worker", "--storage", "sqlite:///x.db", "--study", "s"], "SQLite cannot serve"),
        (["worker", "--storage", "studies/none.log", "--study", "s"], "no study 's'"),
    ],
)
def test_wrong_usage_is_one_line_and_exit_2(argv, message, capsys):
    Path("data.xyz").write_text("x")
    Path("broken.csv").write_bytes(b"\xff\xfe\x00\x00garbage")
    Path("studies").mkdir(exist_ok=True)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow  # a subprocess, a browser or a server
def test_console_script_errors_without_traceback():
    script = Path(sys.executable).with_name("automl")
    out = subprocess.run(
        [str(script), "fit", "nope.parquet", "--target", "y"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == "automl fit: error: no such file or folder: nope.parquet"


@pytest.fixture(scope="module")
def iris_folder(tmp_path_factory):
    """A small saved model (with its drift reference) and rows to give it, as CSV files."""
    import automl

    root = tmp_path_factory.mktemp("iris")
    frame = load_iris(as_frame=True).frame
    result = automl.fit(
        frame, target="target", models=["linear"], n_trials=1, storage=":memory:", verbose=False
    )
    frame.drop(columns="target").to_csv(root / "rows.csv", index=False)
    return result, str(result.save(str(root / "model"))), str(root / "rows.csv")


def _outputs_in_the_way() -> tuple[Path, Path]:
    """A file where a folder goes, and a folder where a file goes."""
    Path("taken.txt").write_text("mine")
    Path("somewhere").mkdir()
    return Path("taken.txt"), Path("somewhere")


def test_an_output_path_in_the_way_is_a_data_error_before_any_work(iris_folder):
    import automl

    result, _, rows = iris_folder
    file, folder = _outputs_in_the_way()
    x = pd.read_csv(rows)
    with pytest.raises(automl.DataError, match="taken.txt is a file, not a folder"):
        result.save(str(file / "model"))
    with pytest.raises(automl.DataError, match="somewhere: it is a folder"):
        result.export(str(folder))
    with pytest.raises(automl.DataError, match="taken.txt is a file, not a folder"):
        result.export(str(file / "model.onnx"))
    report = result.monitor(x)
    for write in (report.write_json, report.write_html, result.report):
        with pytest.raises(automl.DataError, match="somewhere: it is a folder"):
            write(str(folder))
    assert file.read_text() == "mine" and list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["monitor", "{model}", "{rows}", "--out", "taken.txt"], "taken.txt: it is a file"),
        (["export", "{model}", "somewhere"], "somewhere: it is a folder"),
        (["predict", "{model}", "{rows}", "--out", "somewhere"], "somewhere: it is a folder"),
        (["predict", "{model}", "{rows}", "--out", "taken.txt/p.csv"], "taken.txt is a file"),
        (["fit", str(DATA), "--target", "class", "--out", "taken.txt/m"], "taken.txt is a file"),
    ],
)
def test_an_output_path_in_the_way_is_one_line_and_exit_2(command, message, iris_folder, capsys):
    _, model, rows = iris_folder
    file, _ = _outputs_in_the_way()
    argv = [a.format(model=model, rows=rows) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert file.read_text() == "mine" and not Path("studies").exists()  # refused before work


def test_a_filesystem_error_while_writing_is_one_line_and_exit_2(iris_folder, capsys):
    _, model, rows = iris_folder
    too_long = "p" * 300 + ".csv"  # past any file system's name limit, for root as for others
    assert main(["predict", model, rows, "--out", too_long]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"automl predict: error: File name too long: {too_long}"


def test_fit_warns_and_keeps_its_result_when_its_report_path_is_a_folder():
    import automl

    Path("studies/blocked/report.html").mkdir(parents=True)
    frame = load_iris(as_frame=True).frame
    with pytest.warns(UserWarning, match="could not write the report .* it is a folder"):
        result = automl.fit(
            frame,
            target="target",
            study_name="blocked",
            models=["linear"],
            n_trials=1,
            verbose=False,
        )
    assert result.report_path is None and result.model_path
