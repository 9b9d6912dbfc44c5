"""A storage URL's password is redacted wherever automl writes or prints it: the model folder's
config, the report, the console and error messages."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import optuna
import pytest

import automl
from automl.search import redact

SECRET = "s3cret-pw-4711"
POSTGRES = os.environ.get("AUTOML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{SECRET}@{host}"


def test_redact_hides_passwords_and_keeps_the_rest():
    assert redact("postgresql://u:pw@host:5432/db") == "postgresql://u:***@host:5432/db"
    assert redact("postgresql://host/db?user=u&password=pw&x=1").endswith("password=***&x=1")
    assert redact("sqlite:///studies/a/study.db") == "sqlite:///studies/a/study.db"
    assert redact("studies/shared.log") == "studies/shared.log"


@pytest.mark.xdist_group("postgresql")  # one at a time: a fresh database creates its tables once
def test_a_password_never_reaches_disk_or_console(iris_frame, tmp_path, capfd):
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES} is not reachable: {exc}")
    url = _with_password(POSTGRES)  # trust authentication accepts any password
    name = f"secret-{uuid.uuid4().hex[:8]}"
    try:
        result = automl.fit(
            iris_frame,
            target="target",
            models=["linear"],
            n_trials=1,
            study_name=name,
            storage=url,
            report=True,
            verbose=True,
        )
        model = Path(result.save(str(tmp_path / "model")))
        written = [p for p in [*model.rglob("*"), Path(result.report_path)] if p.is_file()]
        for path in written:
            assert SECRET.encode() not in path.read_bytes(), path
        assert "***" in (model / "config.json").read_text()
        loaded = automl.load(str(model), storage=url)  # the real URL reopens the study
        assert loaded.study is not None and len(loaded.study.trials) == 1
    finally:
        optuna.delete_study(study_name=name, storage=POSTGRES)
    bad = f"postgresql://u:{SECRET}@127.0.0.1:1/nowhere"
    with pytest.raises(automl.DataError) as refused:
        automl.fit(iris_frame, target="target", n_trials=1, storage=bad, verbose=False)
    assert SECRET not in str(refused.value) and "***" in str(refused.value)
    out, err = capfd.readouterr()
    assert SECRET not in out + err
