"""`automl serve` for real: uvicorn in a subprocess on a free port of 127.0.0.1, spoken to over
HTTP. Predictions equal ``result.predict`` for a table, images and text; bad requests get their
4xx and the server keeps answering; /metrics counts what was sent, shows drift for shifted rows
and live accuracy from /feedback; a damaged model folder is refused at start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.deploy_models import (
    Server,
    adult,
    image_model,
    mnist,
    png_base64,
    records,
    sms,
    table_model,
    text_model,
)


def test_table_server_predicts_counts_and_survives_bad_requests():
    result, folder = table_model()
    new = adult().iloc[400:600]
    x = new.drop(columns="class")
    with Server(folder, "--max-body-mb", "1") as server:
        status, body = server.post("/predict", {"rows": records(x)})
        assert status == 200
        assert body["predictions"] == result.predict(x).tolist()
        assert np.allclose(body["probabilities"], result.predict_proba(x), atol=1e-6)
        assert body["classes"] == list(result.classes_)
        assert len(set(body["ids"])) == len(x)
        columns = {c: x[c].head(3).tolist() for c in x.columns}
        status, by_columns = server.post("/predict", {"columns": columns})
        assert status == 200 and by_columns["predictions"] == body["predictions"][:3]

        bad_value = records(x.head(1))
        bad_value[0]["age"] = "forty"
        bad = [
            (b"", 400, "empty body"),
            (b"{not json", 400, "not valid JSON"),
            ({"rows": [{"age": 30}]}, 422, "missing column"),
            ({"rows": bad_value}, 422, "'age' takes numbers"),
            ({"rows": []}, 422, "no rows"),
            ({"wrong": 1}, 422, '"rows"'),
        ]
        for payload, code, words in bad:
            status, answer = server.post("/predict", payload)
            assert status == code, answer
            assert words in answer["error"]
            assert server.post("/predict", {"rows": records(x.head(2))})[0] == 200
        padded = b" " * (2 * 2**20) + json.dumps({"rows": records(x.head(1))}).encode()
        status, answer = server.request("POST", "/predict", padded)  # over --max-body-mb 1
        assert status == 413 and b"over the 1048576-byte limit" in answer
        assert server.get("/health")[0] == 200

        metrics = server.metrics()
        good = 1 + 1 + len(bad)  # the batch, the columns, one good row after each bad one
        assert metrics['automl_requests_total{endpoint="/predict"}'] == good + len(bad) + 1
        assert metrics['automl_request_errors_total{endpoint="/predict",status="422"}'] == 4
        assert metrics['automl_request_errors_total{endpoint="/predict",status="400"}'] == 2
        assert metrics['automl_request_errors_total{endpoint="/predict",status="413"}'] == 1
        assert metrics["automl_rows_predicted_total"] == len(x) + 3 + 2 * len(bad)
        per_class = sum(
            v for k, v in metrics.items() if k.startswith("automl_predicted_class_total")
        )
        assert per_class == metrics["automl_rows_predicted_total"]
        assert metrics['automl_request_latency_seconds_count{endpoint="/predict"}'] >= good

        # same distribution: no feature drifts; live accuracy from labels sent back
        flags = {k: v for k, v in metrics.items() if k.startswith("automl_feature_drift{")}
        assert len(flags) == len(result.drift.features) and sum(flags.values()) == 0
        labels = new["class"].tolist()
        items = [{"id": i, "label": y} for i, y in zip(body["ids"], labels)]
        status, fed = server.post("/feedback", {"items": items + [{"id": "nope", "label": "x"}]})
        assert status == 422  # an unknown label is named
        status, fed = server.post(
            "/feedback", {"items": items + [{"id": "nope", "label": labels[0]}]}
        )
        assert status == 200 and fed == {"received": 201, "matched": 200, "unknown": 1}
        live = server.metrics()["automl_live_accuracy"]
        assert live == pytest.approx(float(np.mean(result.predict(x) == new["class"])))

        meta = json.loads(server.get("/metadata")[1])
        assert meta["task"] == "tabular" and meta["classes"] == list(result.classes_)
        assert meta["features"][0] == {
            "name": "age",
            "type": "number",
            "detail": "null for missing",
        }
        assert server.get("/docs")[0] == 200 and server.get("/openapi.json")[0] == 200


def test_drift_shows_in_metrics_for_shifted_rows():
    result, folder = table_model()
    x = adult().iloc[400:600].drop(columns="class")
    shifted = x.assign(age=x["age"] * 10)
    with Server(folder, "--window", "200") as server:
        assert server.post("/predict", {"rows": records(shifted)})[0] == 200
        metrics = server.metrics()
    assert metrics["automl_drift_window_rows"] == 200
    assert metrics['automl_feature_drift{feature="age"}'] == 1.0
    assert metrics['automl_feature_drift_psi{feature="age"}'] > 1.0
    others = [
        v for k, v in metrics.items() if k.startswith("automl_feature_drift{") and "age" not in k
    ]
    assert sum(others) == 0


def test_image_server_reads_base64_pngs():
    result, folder = image_model()
    _, _, x_test, _ = mnist()
    images = x_test[:20]
    with Server(folder) as server:
        status, body = server.post("/predict", {"rows": [png_base64(img) for img in images]})
        assert status == 200
        assert body["predictions"] == result.predict(images).tolist()
        assert np.allclose(body["probabilities"], result.predict_proba(images), atol=1e-6)
        status, answer = server.post("/predict", {"rows": ["bm90IGFuIGltYWdl"]})
        assert status == 422 and "could not be decoded as a PNG or JPEG" in answer["error"]
        status, answer = server.post("/predict", {"rows": ["%%%"]})
        assert status == 422 and "not valid base64" in answer["error"]
        assert server.post("/predict", {"rows": [png_base64(images[0])]})[0] == 200
        metrics = server.metrics()
        assert metrics["automl_rows_predicted_total"] == 21
        assert 'automl_feature_drift_psi{feature="brightness"}' in metrics


def test_text_server_reads_strings():
    result, folder = text_model()
    texts = sms()["text"].iloc[450:500].tolist()
    with Server(folder) as server:
        status, body = server.post("/predict", {"rows": texts})
        assert status == 200
        assert body["predictions"] == result.predict(texts).tolist()
        assert np.allclose(body["probabilities"], result.predict_proba(texts), atol=1e-6)
        status, answer = server.post("/predict", {"rows": ["ok", 5]})
        assert status == 422 and "row 1 is a int" in answer["error"]
        assert server.post("/predict", {"rows": ["still serving?"]})[0] == 200
        metrics = server.metrics()
    assert metrics['automl_request_errors_total{endpoint="/predict",status="422"}'] == 1
    assert 'automl_feature_drift_psi{feature="oov_rate"}' in metrics


@pytest.mark.slow  # a subprocess, a browser or a server
def test_a_damaged_model_folder_is_refused_at_start(tmp_path):
    _, folder = text_model()
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    with (copy / "drift.json").open("a") as fh:
        fh.write(" ")
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "serve", str(copy), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=300,  # serve's imports took 30 s on a loaded machine; a hang guard only
    )
    assert done.returncode == 2
    assert "does not match its checksum" in done.stderr


def test_regression_server_histograms_values_and_reports_live_error(tmp_path, diabetes):
    import automl

    x, y = diabetes
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    result = automl.fit(
        x[:300],
        y[:300],
        n_trials=1,
        models=["linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    folder = result.save(str(tmp_path / "reg"))
    new = frame.iloc[300:340]
    with Server(folder) as server:
        status, body = server.post("/predict", {"rows": records(new)})
        assert status == 200 and "probabilities" not in body
        assert np.allclose(body["predictions"], result.predict(x[300:340]), rtol=1e-6)
        items = [{"id": i, "label": float(v)} for i, v in zip(body["ids"], y[300:340])]
        assert server.post("/feedback", {"items": items})[0] == 200
        metrics = server.metrics()
    assert metrics["automl_predicted_value_count"] == 40
    assert metrics["automl_live_mae"] == pytest.approx(
        float(np.abs(result.predict(x[300:340]) - y[300:340]).mean()), rel=1e-4
    )
    assert metrics["automl_live_rmse"] >= metrics["automl_live_mae"]
