"""automl logs through one ``automl`` logger tree, library style: silent (a NullHandler) until
the CLI or ``fit(verbose=True)`` shows it, or the application configures logging itself."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

import automl
from automl.cli import main


def test_import_leaves_only_a_null_handler():
    code = (
        "import logging, automl; h = logging.getLogger('automl').handlers; "
        "print([type(x).__name__ for x in h], logging.getLogger('automl').level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['NullHandler']", "0"]


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> str:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    folder = tmp_path_factory.mktemp("served") / "model"
    result = automl.fit(frame, target="target", models=["linear"], n_trials=1, verbose=False)
    return str(result.save(str(folder)))


@pytest.fixture()
def no_uvicorn(monkeypatch):
    """serve() up to the point where uvicorn would start serving."""
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)


def test_serve_reports_through_logging(model_folder, no_uvicorn, caplog):
    from automl.serve import serve

    caplog.set_level(logging.INFO, logger="automl")
    serve(model_folder, port=8765)
    banner = [r for r in caplog.records if r.name == "automl.serve"]
    assert len(banner) == 1 and banner[0].levelno == logging.INFO
    assert banner[0].getMessage().startswith(f"serving {model_folder} on http://127.0.0.1:8765")


def test_the_cli_shows_info_lines_on_stderr_for_its_command_only(model_folder, no_uvicorn, capsys):
    assert main(["serve", model_folder, "--port", "8765"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"serving {model_folder} on http://127.0.0.1:8765")
    logger = logging.getLogger("automl")
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]
    assert logger.level == logging.NOTSET
    assert main(["-v", "serve", model_folder, "--port", "8765"]) == 0
    assert "serving " in capsys.readouterr().err


def test_verbose_fit_shows_info_lines_only_when_logging_is_not_configured(monkeypatch, capsys):
    from automl.logs import shown_when_verbose

    @shown_when_verbose
    def reports(*, verbose: bool = True) -> None:
        logging.getLogger("automl.api").info("a status line")

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a script that configured nothing
    reports()
    reports(verbose=False)
    assert capsys.readouterr().err == "a status line\n"
    assert [type(h) for h in logging.getLogger("automl").handlers] == [logging.NullHandler]
    monkeypatch.setattr(root, "handlers", [logging.StreamHandler(sys.stdout)])
    root.setLevel(logging.INFO)  # the application's own configuration decides, not fit
    try:
        reports()
    finally:
        root.setLevel(logging.WARNING)
    out, err = capsys.readouterr()
    assert out == "a status line\n" and err == ""


def test_a_verbose_fit_shows_its_info_lines(iris_frame, monkeypatch, capsys):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # a script that configured nothing
    options = {"target": "target", "models": ["linear"], "study_name": "s", "report": False}
    automl.fit(iris_frame, n_trials=1, verbose=False, **options)
    automl.fit(iris_frame, n_trials=2, verbose=False, **options)
    assert "resuming study" not in capsys.readouterr().err
    automl.fit(iris_frame, n_trials=3, verbose=True, **options)
    assert "resuming study 's': 2 finished trials (" in capsys.readouterr().err
    assert [type(h) for h in logging.getLogger("automl").handlers] == [logging.NullHandler]
