"""A storage URL's password is redacted wherever automl writes or prints it: the model folder's
config, the report, the console and error messages."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import optuna
import pytest

import automl
from automl.urls import redact, scrub
from tests.postgres import POSTGRES, postgres_or_skip

SECRET = "s3cret-pw-4711"


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{SECRET}@{host}"


# Raw passwords as users paste them: URL delimiters, a colon, a percent sign.
RAW_SECRETS = ["se/cr3t", "se#cr3t", "se?cr3t", "s:e/c?r#3t%", "se%2Fcr3t"]


def _forms(secret: str) -> list[str]:
    """A secret as it may be written: raw and percent-encoded every usual way."""
    return [secret, quote(secret, safe=""), quote(secret), quote_plus(secret)]


def test_redact_hides_passwords_and_keeps_the_rest():
    assert redact("postgresql://u:pw@host:5432/db") == "postgresql://u:***@host:5432/db"
    assert redact("postgresql://host/db?user=u&password=pw&x=1").endswith("password=***&x=1")
    assert redact("sqlite:///studies/a/study.db") == "sqlite:///studies/a/study.db"
    assert redact("sqlite:////home/me@corp/a.db") == "sqlite:////home/me@corp/a.db"
    assert redact("studies/shared.log") == "studies/shared.log"
    assert redact("postgresql://u@host/db") == "postgresql://u@host/db"
    assert redact(None) is None and redact(3) == 3


@pytest.mark.parametrize("secret", RAW_SECRETS)
def test_a_password_with_url_delimiters_is_hidden_in_every_form(secret):
    for written in (secret, quote(secret, safe="")):  # raw, as pasted, and percent-encoded
        url = f"postgresql://u:{written}@host:5432/db"
        shown = redact(url)
        assert shown == "postgresql://u:***@host:5432/db"
        said = scrub(f"failed: {url} (password {secret}, {quote(secret, safe='')})", url)
        for form in _forms(secret):
            assert form not in shown and form not in said, (url, form)
    param = f"postgresql://host/db?user=u&password={secret}&sslmode=require"
    assert redact(param) == "postgresql://host/db?user=u&password=***&sslmode=require"


def test_a_raw_at_sign_is_hidden_and_refused_before_connecting(iris_frame):
    url = "postgresql://u:p@ss/w0rd@127.0.0.1:1/nowhere"
    assert redact(url) == "postgresql://u:***@127.0.0.1:1/nowhere"
    with pytest.raises(automl.DataError, match="%40") as refused:
        automl.fit(iris_frame, target="target", n_trials=1, storage=url, verbose=False)
    assert "p@ss" not in str(refused.value) and "ss/w0rd" not in str(refused.value)


def test_a_raw_password_never_reaches_the_config_or_an_error(iris_frame, tmp_path, capfd):
    """The model's config.json, the "cannot open storage" error of fit, worker and dashboard."""
    from automl.dashboard import find_storages
    from automl.worker import run_worker

    secret = "s:e/c?r#3t"
    url = f"postgresql://u:{secret}@127.0.0.1:1/nowhere"  # nothing listens on port 1
    result = automl.fit(
        iris_frame,
        target="target",
        models=["linear"],
        n_trials=1,
        storage=":memory:",
        verbose=False,
    )
    result.storage = url  # as a fit on that storage records it
    model = Path(result.save(str(tmp_path / "model")))
    for path in (p for p in model.rglob("*") if p.is_file()):
        assert not any(form.encode() in path.read_bytes() for form in _forms(secret)), path
    assert (
        '"storage": "postgresql://u:***@127.0.0.1:1/nowhere"'
        in (model / "config.json").read_text()
    )
    calls = [
        lambda: automl.fit(iris_frame, target="target", n_trials=1, storage=url, verbose=False),
        lambda: run_worker(url, "some-study", n_trials=1),
        lambda: find_storages(url),
    ]
    for call in calls:
        with pytest.raises(automl.DataError) as refused:
            call()
        message = str(refused.value)
        assert "u:***@127.0.0.1:1/nowhere" in message, message
        assert not any(form in message for form in _forms(secret)), message
    out, err = capfd.readouterr()
    assert not any(form in out + err for form in _forms(secret))


@pytest.mark.xdist_group("postgresql")  # one at a time: a fresh database creates its tables once
def test_a_password_never_reaches_disk_or_console(iris_frame, tmp_path, capfd):
    postgres_or_skip()
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
