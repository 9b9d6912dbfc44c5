"""What ``automl serve`` refuses, and how: labels that are not finite numbers, JSON nested too
deeply, images that decode to too many pixels, posts that are not JSON or lack the bearer
token, and serve options out of range. Every refusal is a counted 4xx JSON naming the problem;
an unexpected error is a counted, logged JSON 500; a bad option stops the start with one line."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from tests.deploy_models import (
    Server,
    image_model,
    mnist,
    png_base64,
    records,
    regression_model,
    text_model,
)


def test_regression_feedback_refuses_labels_that_are_not_finite_numbers():
    result, folder, (x, y) = regression_model()
    with Server(folder) as server:
        status, body = server.post("/predict", {"rows": records(x)})
        assert status == 200
        ids = body["ids"]
        # NaN and Infinity are what Python's json.dumps writes for float nan / inf; 1e39 is
        # over float32's range; "NaN" is a string float() reads
        for label in [float("nan"), float("inf"), float("-inf"), 1e39, "NaN"]:
            items = [{"id": ids[0], "label": 1.0}, {"id": ids[1], "label": label}]
            status, answer = server.post("/feedback", {"items": items})
            assert status == 422, answer
            assert "item 1" in answer["error"] and "finite" in answer["error"]
        items = [{"id": i, "label": float(v)} for i, v in zip(ids, y)]
        assert server.post("/feedback", {"items": items})[0] == 200
        metrics = server.metrics()
    assert metrics["automl_live_labelled_rows"] == len(y)  # the refused batches added nothing
    assert metrics["automl_live_mae"] == pytest.approx(
        float(np.abs(result.predict(x) - y).mean()), rel=1e-4
    )
    assert metrics['automl_request_errors_total{endpoint="/feedback",status="422"}'] == 5


def test_deeply_nested_json_is_a_counted_400():
    _, folder = text_model()
    deepest = b'{"rows": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # json's RecursionError
    deep = {"rows": ["a"]}
    for _ in range(40):
        deep = {"rows": [deep]}
    with Server(folder) as server:
        for path in ("/predict", "/feedback"):
            for body in (deepest, json.dumps(deep).encode()):
                status, answer = server.post(path, body)
                assert status == 400, answer
                assert "nested more than 32 levels" in answer["error"]
        assert server.post("/predict", {"rows": ["still serving?"]})[0] == 200
        metrics = server.metrics()
    for path in ("/predict", "/feedback"):
        assert metrics[f'automl_request_errors_total{{endpoint="{path}",status="400"}}'] == 2
    assert metrics['automl_requests_total{endpoint="/predict"}'] == 3
    assert metrics['automl_requests_total{endpoint="/feedback"}'] == 2


def blank_png(width: int, height: int) -> str:
    """A base64 black 1-bit PNG of width x height: a few kB that decode to width * height
    pixels (PIL keeps one byte per pixel)."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    packer = zlib.compressobj(9)
    block = row * max(1, 2**22 // len(row))
    rows_per_block = len(block) // len(row)
    data = b"".join(packer.compress(block) for _ in range(height // rows_per_block))
    data += packer.compress(row * (height % rows_per_block)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
    return base64.b64encode(png + chunk(b"IEND", b"")).decode()


def test_images_that_decode_to_too_many_pixels_are_a_counted_422():
    _, folder = image_model()
    _, _, x_test, _ = mnist()
    digit = png_base64(x_test[0])
    bombs = [
        ([blank_png(20_000, 20_000)], "row 0 has too many pixels"),  # over PIL's own limit
        ([digit, blank_png(5_000, 5_000)], "row 1 is a 5000x5000 image"),  # under PIL's limit
        ([blank_png(3_000, 3_000)] * 5, "up to row 3 have 36000000 pixels in all"),
    ]
    with Server(folder) as server:
        for rows, words in bombs:
            status, answer = server.post("/predict", {"rows": rows})
            assert status == 422, answer
            assert words in answer["error"], answer
        assert server.post("/predict", {"rows": [digit, blank_png(300, 200)]})[0] == 200
        metrics = server.metrics()
    assert metrics['automl_request_errors_total{endpoint="/predict",status="422"}'] == 3
    assert metrics['automl_requests_total{endpoint="/predict"}'] == 4


def asgi_call(app, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """One request to an ASGI app in this process: (status, headers, body)."""
    sent = []
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 60))
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), data


def test_an_unexpected_error_is_a_logged_and_counted_json_500(caplog):
    from automl.serve import create_app

    _, folder = text_model()
    app = create_app(folder)

    def broken(payload):
        raise RuntimeError("a bug the server did not foresee")

    app.state.served.predict = broken
    json_post = {"Content-Type": "application/json"}
    with caplog.at_level(logging.ERROR, logger="automl.serve"):
        status, headers, body = asgi_call(app, "POST", "/predict", b'{"rows": ["hi"]}', json_post)
    assert status == 500 and headers[b"content-type"] == b"application/json"
    assert "RuntimeError" in json.loads(body)["error"]
    assert "a bug the server did not foresee" in caplog.text  # with its traceback
    assert "Traceback" in caplog.text
    status, _, metrics = asgi_call(app, "GET", "/metrics")
    assert b'automl_requests_total{endpoint="/predict"} 1.0' in metrics
    assert b'automl_request_errors_total{endpoint="/predict",status="500"} 1.0' in metrics


def test_posts_need_json_and_the_bearer_token_when_one_is_set():
    _, folder = text_model()
    token = secrets.token_urlsafe(24)
    row = {"rows": ["free entry to win"]}
    with Server(folder, env={"AUTOML_SERVE_TOKEN": token}, token=token) as server:
        status, body = server.post("/predict", row)
        assert status == 200
        utf8 = {"Content-Type": "application/json; charset=utf-8"}
        assert server.post("/predict", row, utf8)[0] == 200
        feedback = {"id": body["ids"][0], "label": "spam"}
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            for path, payload in (("/predict", row), ("/feedback", feedback)):
                status, answer = server.post(path, payload, {"Content-Type": content_type})
                assert status == 415, answer
                assert "Content-Type: application/json" in answer["error"]
        for auth in (None, "Bearer wrong-token", f"Basic {token}", token, f"Bearer {token}x"):
            for path, payload in (("/predict", row), ("/feedback", feedback)):
                status, answer = server.post(path, payload, {"Authorization": auth})
                assert status == 401, answer
                assert "Authorization: Bearer" in answer["error"]
            assert server.request("GET", "/metadata", headers={"Authorization": auth})[0] == 401
        assert server.post("/feedback", feedback)[0] == 200
        assert server.request("GET", "/metadata")[0] == 200
        no_token = {"Authorization": None}
        assert server.request("GET", "/health", headers=no_token)[0] == 200
        status, text = server.request("GET", "/metrics", headers=no_token)
        assert status == 200
        metrics = server.metrics()
    assert metrics['automl_request_errors_total{endpoint="/predict",status="415"}'] == 3
    assert metrics['automl_request_errors_total{endpoint="/predict",status="401"}'] == 5
    assert metrics['automl_request_errors_total{endpoint="/metadata",status="401"}'] == 5
    assert "token" in server.stderr and token not in server.stdout + server.stderr  # the banner

    flag_token = secrets.token_urlsafe(24)  # --token wins over the environment
    env = {"AUTOML_SERVE_TOKEN": token}
    # --token=VALUE: a URL-safe token may begin with "-" (1 in 64), which argparse would read
    # as the next option after a bare --token
    with Server(folder, f"--token={flag_token}", env=env, token=flag_token) as server:
        assert server.post("/predict", row)[0] == 200
        assert server.post("/predict", row, {"Authorization": f"Bearer {token}"})[0] == 401
    assert flag_token not in server.stdout + server.stderr


@pytest.mark.slow  # a subprocess, a browser or a server
@pytest.mark.parametrize(
    "options, env, words",
    [
        (["--window", "0"], {}, "--window"),
        (["--window", "5000000"], {}, "--window"),
        (["--threads", "-3"], {}, "--threads"),
        (["--max-body-mb", "0"], {}, "--max-body-mb"),
        (["--max-body-mb", "nan"], {}, "--max-body-mb"),
        (["--max-body-mb", "inf"], {}, "--max-body-mb"),
        (["--port", "99999"], {}, "--port"),
        (["--port", "0"], {}, "--port"),
        (["--token", "short"], {}, "at least 16"),
        ([], {"AUTOML_SERVE_TOKEN": ""}, "AUTOML_SERVE_TOKEN is set but empty"),
        ([], {"AUTOML_SERVE_TOKEN": "has a space in it, which no header carries"}, "spaces"),
    ],
)
def test_serve_options_out_of_range_stop_the_start_with_one_line(options, env, words):
    _, folder = text_model()
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "serve", folder, "--port", "8765", *options],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **env},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], done.stderr
    assert done.stdout == ""  # refused before the banner
    for value in env.values():
        assert not value or value not in done.stderr
