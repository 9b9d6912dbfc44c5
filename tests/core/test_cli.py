"""The automl command: every subcommand, study definitions, and one-line usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

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
