"""Small real models for the export, serve and monitor tests, fitted once per test session and
saved as model folders (a table, images and text, each in a few seconds on a CPU)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"
_ROOT = Path(tempfile.mkdtemp(prefix="automl-deploy-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult_sample.csv")


def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = np.load(DATA / "mnist_sample.npz")
    return d["x_train"], d["y_train"], d["x_test"], d["y_test"]


def sms() -> pd.DataFrame:
    return pd.read_csv(DATA / "sms_spam_sample.csv")


@functools.cache
def table_model():
    """An ensemble of tabular models (hist_gb and extra-trees with pair columns) fitted on the
    first 400 rows of the adult sample; rows 400-599 are new data of the same distribution."""
    import automl

    result = automl.fit(
        adult().iloc[:400],
        target="class",
        n_trials=6,
        models=["hist_gb", "extra_trees", "linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    return result, str(Path(result.save(str(_ROOT / "table"))))


@functools.cache
def image_model():
    """A one-epoch ConvNet on 600 MNIST digits."""
    import automl

    x, y, _, _ = mnist()
    result = automl.fit(
        x[:600],
        y[:600],
        n_trials=1,
        models=["convnet"],
        storage=":memory:",
        verbose=False,
        max_epochs=1,
    )
    return result, str(Path(result.save(str(_ROOT / "image"))))


@functools.cache
def text_model():
    """The TF-IDF baseline on the first 450 SMS messages."""
    import automl

    result = automl.fit(
        sms().iloc[:450],
        target="label",
        n_trials=1,
        models=["tfidf_linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    return result, str(Path(result.save(str(_ROOT / "text"))))


@functools.cache
def regression_model():
    """A linear model on the first 300 rows of scikit-learn's diabetes set; rows 300-339 (a
    frame, columns x0..x9) are new data, with their true values."""
    from sklearn.datasets import load_diabetes

    import automl

    x, y = load_diabetes(return_X_y=True)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    result = automl.fit(
        frame.iloc[:300],
        y[:300],
        n_trials=1,
        models=["linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    new = (frame.iloc[300:340], y[300:340])
    return result, str(Path(result.save(str(_ROOT / "regression")))), new


# -- a real server in a subprocess ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``automl serve MODEL_DIR`` on a free port of 127.0.0.1, stopped on exit; ``env`` is added
    to the server's environment, ``token`` sent as a bearer token; what the server printed is in
    ``stdout`` and ``stderr`` once it is stopped."""

    def __init__(
        self, model_dir: str, *extra: str, env: dict | None = None, token: str | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token, self.stdout, self.stderr = token, "", ""
        command = [
            sys.executable,
            "-m",
            "automl.cli",
            "serve",
            model_dir,
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(
            [*command, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def wait(self, timeout: float = 300) -> Server:
        """Poll /health until it answers (a loaded 2-core machine took 30 s to import and load;
        a poll costs nothing when the server is up, so the limit only bounds a hang)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"automl serve exited: {self.proc.stderr.read()}")
            try:
                if self.get("/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the server did not answer at {self.url}")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        """``headers`` replace the defaults (JSON content, the bearer token); None drops one."""
        sent = {"Content-Type": "application/json"}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        req = urllib.request.Request(self.url + path, data=body, method=method)
        for name, value in sent.items():
            if value is not None:
                req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=60) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post(self, path: str, obj: object, headers: dict | None = None) -> tuple[int, dict]:
        import json

        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        status, data = self.request("POST", path, body, headers)
        return status, json.loads(data)

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples: {'name{labels}': value}."""
        text = self.get("/metrics")[1].decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate()

    def __enter__(self) -> Server:
        return self.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON records, missing values as null."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def png_base64(image: np.ndarray) -> str:
    """A (H, W) uint8 image as a base64 PNG."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
