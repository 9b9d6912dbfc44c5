"""``automl dashboard``: optuna-dashboard, read-only, over the study storages automl made.

Given a folder, only files that already are automl's Optuna storages are opened: SQLite files
whose studies carry automl's settings (checked through a read-only connection, so nothing is
ever created in another application's database) and journal files that record them. Anything
else is skipped with a one-line note. A URL is checked the same way (an SQLite URL as its file,
another database by its tables) and refused, before Optuna could create its tables there,
unless it holds automl studies. Every storage is served read-only (a write raises), so the
dashboard never changes a study. By default all studies of a folder share one SQLite file
(``studies/studies.db``), which one plain optuna-dashboard shows whole; several storages (a
worker's journal file beside it, say) are served side by side, one port each.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from automl.errors import AutomlError, DataError, StorageError

MARKER = "data_fingerprint"  # a study user attribute every automl study has
SQLITE_HEADER = b"SQLite format 3\x00"
OPTUNA_TABLES = {"studies", "study_user_attributes", "trials"}
log = logging.getLogger(__name__)


class ReadOnlyError(AutomlError, RuntimeError):
    """A write reached a storage the dashboard opened read-only."""


def automl_storage(file: Path) -> str | None:
    """None when ``file`` is an Optuna storage automl made; otherwise why it is skipped. Reads
    only: SQLite through a ``mode=ro`` connection, journals as text."""
    try:
        with file.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if head.startswith(SQLITE_HEADER):
        return _sqlite_reason(file)
    try:
        first = json.loads(head.split(b"\n", 1)[0])
    except (ValueError, UnicodeDecodeError):
        return "neither an SQLite database nor an Optuna journal"
    if not isinstance(first, dict) or "op_code" not in first:
        return "a JSON file, not an Optuna journal"
    if f'"{MARKER}"'.encode() not in file.read_bytes():
        return "an Optuna journal without automl studies"
    return None


def _sqlite_reason(file: Path) -> str | None:
    con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not OPTUNA_TABLES.issubset(tables):
            return "an SQLite database that is not an Optuna storage"
        found = con.execute(
            "SELECT COUNT(*) FROM study_user_attributes WHERE key = ?", (MARKER,)
        ).fetchone()[0]
        return None if found else "an Optuna storage without automl studies"
    except sqlite3.DatabaseError as exc:
        return f"an unreadable SQLite file ({exc})"
    finally:
        con.close()


def open_read_only(path: str) -> BaseStorage:
    """A storage URL or an automl storage file, opened for reading only."""
    import optuna

    if "://" in path:
        return _open_url(path)
    file = Path(path)
    not_ours = automl_storage(file)
    if not_ours is not None:
        raise StorageError(f"{file} is not a study storage of automl: {not_ours}")
    if file.read_bytes()[:16] == SQLITE_HEADER:
        url = f"sqlite:///file:{file.resolve()}?mode=ro&uri=true"
        return ReadOnlyStorage(optuna.storages.RDBStorage(url))
    from optuna.storages.journal import JournalFileBackend

    return ReadOnlyStorage(optuna.storages.JournalStorage(JournalFileBackend(str(file))))


def _open_url(url: str) -> BaseStorage:
    """The automl storage behind a URL, read-only. Any other database is refused before Optuna
    could create its tables in it: an SQLite URL is checked as its file, another database's
    tables are looked at first (and Optuna is told to create none)."""
    import optuna

    from automl.urls import check_unambiguous, redact, scrub

    if url.startswith("sqlite"):
        return open_read_only(str(_sqlite_file(url)))
    check_unambiguous(url)
    try:
        why = _database_reason(url)
        storage = None if why else optuna.storages.RDBStorage(url, skip_table_creation=True)
    except Exception as exc:  # sqlalchemy's errors, a missing driver ...
        cause = scrub(str(exc).splitlines()[0], url)
        raise StorageError(f"cannot open storage {redact(url)!r}: {cause}") from None
    if storage is None:
        raise StorageError(f"{redact(url)} is not a study storage of automl: {why}")
    return ReadOnlyStorage(storage)


def _sqlite_file(url: str) -> Path:
    """The file of an ``sqlite:///`` URL (its ``file:`` URI form too)."""
    from sqlalchemy.engine import make_url

    from automl.urls import redact

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy's ArgumentError
        raise StorageError(f"{redact(url)!r} is not a storage URL") from None
    database = parsed.database or ""
    if parsed.query.get("uri") and database.startswith("file:"):
        database = database[len("file:") :]
    if database in ("", ":memory:"):
        raise StorageError(
            f"{redact(url)} is not a study storage of automl: an in-memory database"
        )
    return Path(database)


def _database_reason(url: str) -> str | None:
    """None when the database at ``url`` holds automl studies; otherwise why it is refused.
    Reads only (the table names, then one count)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as con:
            tables = set(sqlalchemy.inspect(con).get_table_names())
            if not OPTUNA_TABLES.issubset(tables):
                return "a database that is not an Optuna storage (nothing was created in it)"
            found = con.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM study_user_attributes WHERE key = :key"),
                {"key": MARKER},
            ).scalar()
            return None if found else "an Optuna storage without automl studies"
    finally:
        engine.dispose()


def find_storages(path: str) -> tuple[list[tuple[str, BaseStorage]], list[str]]:
    """(label, read-only storage) for a URL, a storage file or every automl storage under a
    folder, and one note per file skipped."""
    if "://" in path:
        from automl.urls import redact

        return [(redact(path), open_read_only(path))], []
    root = Path(path)
    if not root.exists():
        raise StorageError(f"no such folder or file: {root}")
    if root.is_file():
        return [(str(root), open_read_only(str(root)))], []
    candidates = sorted(p for p in [*root.rglob("*.db"), *root.rglob("*.log")] if p.is_file())
    found, notes = [], []
    for file in candidates:
        why = automl_storage(file)
        if why is None:
            found.append((str(file), open_read_only(str(file))))
        else:
            notes.append(f"skipped {file}: {why}")
    if not found:
        raise StorageError(
            f"no automl study storage under {root} ({len(notes)} file(s) skipped); run "
            "`automl fit` first"
        )
    return found, notes


def serve(path: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve optuna-dashboard over each storage found (blocking); logs each URL first."""
    try:
        import optuna_dashboard
    except ImportError:
        raise DataError(
            "the dashboard needs optuna-dashboard: pip install 'automl-nn[dashboard]'"
        ) from None
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    storages, notes = find_storages(path)
    for note in notes:
        log.info("%s", note)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # no line per request
            pass

    servers = []
    for i, (label, storage) in enumerate(storages):
        app = optuna_dashboard.wsgi(storage)
        servers.append(make_server(host, port + i, app, handler_class=Quiet))
        n = len(storage.get_all_studies())
        log.info(
            "serving %d stud%s of %s (read-only) at http://%s:%d/dashboard",
            n,
            "y" if n == 1 else "ies",
            label,
            host,
            port + i,
        )
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    finally:
        for server in servers:
            server.server_close()


class ReadOnlyStorage(BaseStorage):
    """Reads go to the storage inside; writes raise ``ReadOnlyError``."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyError("the dashboard opens study storages read-only")

    create_new_study = delete_study = set_study_user_attr = set_study_system_attr = _refuse
    create_new_trial = set_trial_param = set_trial_state_values = _refuse
    set_trial_intermediate_value = set_trial_user_attr = set_trial_system_attr = _refuse

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.inner.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.inner.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[Any]:
        return self.inner.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.inner.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self.inner.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list[Any]:
        return self.inner.get_all_studies()

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self.inner.get_trial(trial_id)

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self.inner.get_all_trials(study_id, deepcopy, states)

    def get_n_trials(
        self, study_id: int, state: tuple[TrialState, ...] | TrialState | None = None
    ) -> int:
        return self.inner.get_n_trials(study_id, state)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self.inner.get_trial_id_from_study_id_trial_number(study_id, trial_number)


__all__: Sequence[str] = ["ReadOnlyStorage", "find_storages", "open_read_only", "serve"]
