"""Headless Chromium for the browser tests, driven over the DevTools protocol through
--remote-debugging-pipe (standard library only). Without Chromium a test skips with how to
install it; under CI (CI=true) it fails instead."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

# Chromium without a network: no host name resolves, and every request but loopback's goes to
# a proxy on a closed port (Chromium sends loopback requests around a proxy)
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = (
        "Chromium is needed for the browser tests: install it with "
        "`apt-get install -y chromium` (Debian; .ci/run does this)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {why}")
    pytest.skip(why)


class DevTools:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, binary: str, profile: Path, extra_args: tuple[str, ...] = ()) -> None:
        """``extra_args``: further Chromium switches (``OFFLINE``: no network but loopback)."""
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        high = [os.dup(fd) for fd in (to_child_r, from_child_w)]  # never 3 or 4 themselves

        def fds() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *extra_args,
                "about:blank",
            ],
            preexec_fn=fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (to_child_r, from_child_w, *high):
            os.close(fd)
        self._buffer, self._next, self.events = b"", 0, []
        self.session = None

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(timeout)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, event: str, timeout: float = 60) -> dict:
        for seen in self.events:
            if seen["method"] == event:
                return seen
        while True:
            message = self._receive(timeout)
            if message.get("method") == event:
                return message

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(0.0, left))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def close(self) -> None:
        try:
            self.session = None
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_child)
        os.close(self._from_child)


def console_errors(events: list[dict]) -> list[str]:
    """Exceptions, console.error calls and error log entries seen in the events."""
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(str(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def open_page(tools: DevTools, url: str, width: int = 1280, height: int = 900) -> None:
    """A new tab on ``url``, with Page/Runtime/Log/Network events on; waits for the load."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    tools.session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.send(f"{domain}.enable")
    tools.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    tools.events.clear()
    tools.send("Page.navigate", {"url": url})
    tools.wait_for("Page.loadEventFired")


def evaluate(tools: DevTools, expression: str):
    found = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    return found["result"].get("value")


def screenshot(tools: DevTools, path: Path) -> None:
    import base64

    shot = tools.send("Page.captureScreenshot", {"format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))
    keep = os.environ.get("AUTOML_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
