"""`automl dashboard` for real: a server on a free port over two study storages, opened in
headless Chromium; the page shows each study and, on a study's page, its trials."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

import automl
from tests.browser import DevTools, chromium, console_errors, evaluate, open_page, screenshot
from tests.postgres import POSTGRES, postgres_or_skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"automl dashboard exited: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer at {url}")


def _wait_for_text(tools: DevTools, needle: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = evaluate(tools, "document.body ? document.body.innerText : ''") or ""
        if needle in text:
            return text
        time.sleep(0.5)
    pytest.fail(f"{needle!r} never appeared; the page says: {text[:500]!r}")


@pytest.mark.slow  # a subprocess, a browser or a server
def test_dashboard_serves_every_study_in_a_browser(tmp_path, iris_frame, adult):
    binary = chromium()
    # two studies to list, cheap ones (the dashboard is under test, not the fits): the quick
    # families on one holdout split
    automl.fit(
        iris_frame,
        target="target",
        study_name="iris-study",
        n_trials=3,
        verbose=False,
        report=False,
        models=["linear"],
        cv_folds=0,
    )
    automl.fit(
        adult,
        target="class",
        study_name="adult-study",
        n_trials=4,
        verbose=False,
        report=False,
        models=["linear", "hist_gb"],
        cv_folds=0,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("automl")),
            "dashboard",
            "studies",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tools = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/api/studies", proc)
        tools = DevTools(binary, tmp_path / "profile")
        open_page(tools, f"{base}/dashboard")
        home = _wait_for_text(tools, "adult-study")
        assert "iris-study" in home
        screenshot(tools, tmp_path / "dashboard-home.png")
        study_id = re.search(r"(\d+)\. adult-study", home).group(1)
        open_page(tools, f"{base}/dashboard/studies/{study_id}")
        _wait_for_text(tools, f"adult-study (id={study_id})")
        _wait_for_text(tools, "Best Trial")
        screenshot(tools, tmp_path / "dashboard-study.png")
        open_page(tools, f"{base}/dashboard/studies/{study_id}/trials")
        listing = _wait_for_text(tools, "Trial 3")
        assert sorted(set(re.findall(r"Trial \d+", listing))) == [f"Trial {i}" for i in range(4)]
        assert console_errors(tools.events) == []
        assert (tmp_path / "dashboard-study.png").stat().st_size > 20_000
    finally:
        if tools is not None:
            tools.close()
        proc.terminate()
        proc.wait(timeout=20)
    assert "at http://127.0.0.1:" in proc.stderr.read()  # a log line of the command
    assert os.path.exists(tmp_path / "dashboard-home.png")


def test_only_automl_storages_are_opened_and_nothing_is_written(tmp_path, iris_frame):
    """Another application's SQLite file, a plain log and an Optuna study automl did not make
    are skipped with a note and left byte for byte as they were; the storages are read-only."""
    import hashlib
    import sqlite3

    import optuna

    from automl.dashboard import ReadOnlyError, find_storages

    automl.fit(
        iris_frame,
        target="target",
        study_name="ours",
        n_trials=1,
        verbose=False,
        report=False,
        models=["linear"],
    )
    app = Path("studies") / "app.db"
    with sqlite3.connect(app) as con:
        con.execute("CREATE TABLE users (name TEXT)")
        con.execute("INSERT INTO users VALUES ('ada')")
    (Path("studies") / "server.log").write_text("GET / 200\nnot json at all\n")
    other = optuna.create_study(study_name="theirs", storage="sqlite:///studies/other.db")
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    files = [app, Path("studies/server.log"), Path("studies/other.db")]

    def digest(p):
        return hashlib.sha256(p.read_bytes()).hexdigest()

    before = {p: digest(p) for p in files}
    found, notes = find_storages("studies")
    assert [label for label, _ in found] == ["studies/studies.db"]
    assert len(notes) == 3 and all(n.startswith("skipped ") for n in notes)
    assert any("app.db: an SQLite database that is not an Optuna storage" in n for n in notes)
    assert any("other.db: an Optuna storage without automl studies" in n for n in notes)
    assert {p: digest(p) for p in files} == before
    with sqlite3.connect(app) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
    assert tables == ["users"]  # no Optuna tables created in someone else's database
    storage = found[0][1]
    (study,) = storage.get_all_studies()
    assert study.study_name == "ours"
    with pytest.raises(ReadOnlyError):
        storage.set_study_user_attr(storage.get_study_id_from_name("ours"), "touched", True)
    with pytest.raises(automl.DataError, match="not a study storage of automl"):
        find_storages(str(app))
    ((label, by_url),) = find_storages("sqlite:///studies/studies.db")[0]
    assert label == "sqlite:///studies/studies.db"
    assert [s.study_name for s in by_url.get_all_studies()] == ["ours"]
    with pytest.raises(ReadOnlyError):
        by_url.set_study_user_attr(by_url.get_study_id_from_name("ours"), "touched", True)


def test_a_url_to_a_database_automl_did_not_make_is_refused_untouched(capsys):
    """`automl dashboard sqlite:///...` on another application's file, or on no file, says so
    in one line and exits 2; the file keeps its bytes and no file is created."""
    import sqlite3

    from automl.cli import main
    from automl.dashboard import find_storages

    foreign = Path("foreign.db")
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE users (name TEXT)")
    before = foreign.read_bytes()
    for url in ("sqlite:///foreign.db", "sqlite:///missing.db"):
        with pytest.raises(automl.DataError, match="not a study storage of automl"):
            find_storages(url)  # (before, the dashboard made Optuna's tables and served)
        assert main(["dashboard", url]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a study storage of automl" in err, err
    assert foreign.read_bytes() == before
    assert not Path("missing.db").exists()


@pytest.fixture()
def empty_postgres_database():
    """A fresh, empty PostgreSQL database (dropped after): (user, host:port, name)."""
    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    postgres_or_skip()
    server = make_url(POSTGRES)
    name = f"automl_foreign_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.username, f"{server.host}:{server.port or 5432}", name
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as con:
            con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.xdist_group("postgresql")
def test_an_empty_postgresql_database_is_refused_and_left_empty(
    empty_postgres_database, iris_frame, capsys
):
    """No Optuna table is created in a database automl did not make; once automl made a
    study there, the dashboard serves it and its banner hides the raw password."""
    import psycopg

    from automl.cli import main
    from automl.dashboard import find_storages

    user, server, name = empty_postgres_database
    url = f"postgresql://{user}:se/cr3t@{server}/{name}"  # trust authentication: any password
    with pytest.raises(automl.DataError, match="not a study storage of automl"):
        find_storages(url)
    assert main(["dashboard", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a study storage of automl" in err, err
    assert "se/cr3t" not in err and "se%2Fcr3t" not in err
    with psycopg.connect(POSTGRES.rsplit("/", 1)[0] + f"/{name}") as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert tables == []
    automl.fit(
        iris_frame,
        target="target",
        models=["linear"],
        n_trials=1,
        study_name="ours",
        storage=url,
        verbose=False,
        report=False,
    )
    ((label, storage),) = find_storages(url)[0]
    assert label == f"postgresql://{user}:***@{server}/{name}"
    assert [s.study_name for s in storage.get_all_studies()] == ["ours"]
