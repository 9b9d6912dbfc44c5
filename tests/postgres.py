"""The PostgreSQL server the storage tests use (trust auth, database ``test``), and the one way
they find it missing: skipped on a developer's machine, failed under CI (CI=true)."""

from __future__ import annotations

import os

import pytest

POSTGRES = os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_or_skip() -> None:
    """Skip the test (fail it under CI) when the server cannot be reached."""
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        message = f"PostgreSQL at {POSTGRES} is not reachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
