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
from pathlib import Path

import pytest
from browser import DevTools, chromium, console_errors, evaluate, open_page, screenshot

import automl


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


def test_dashboard_serves_every_study_in_a_browser(tmp_path, iris_frame, adult):
    binary = chromium()
    automl.fit(
        iris_frame,
        target="target",
        study_name="iris-study",
        n_trials=3,
        verbose=False,
        report=False,
        max_epochs=3,
    )
    automl.fit(
        adult,
        target="class",
        study_name="adult-study",
        n_trials=4,
        verbose=False,
        report=False,
        models=["linear", "hist_gb"],
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
    assert "at http://127.0.0.1:" in proc.stdout.read()
    assert os.path.exists(tmp_path / "dashboard-home.png")
