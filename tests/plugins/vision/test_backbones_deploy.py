"""A pretrained image backbone end to end, as a user runs it: ``automl fit IMAGE_FOLDER
--pretrained resnet18=FILE``, then the report, the model folder loaded elsewhere without the
weights file, ONNX, ``automl serve`` and monitor, all on raw images (24 MNIST digits, 28x28)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import automl
from tests.deploy_models import Server, mnist, png_base64

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # a subprocess fit, a server
def test_cli_fit_with_a_backbone_reports_loads_exports_serves_and_monitors(weights, tmp_path):
    x, y, x_test, _ = mnist()
    # 24 digits (17 zeros, 7 ones): the search and the refit fine-tune every layer of the
    # backbone five epochs each on a CPU, in time proportional to the images
    keep = np.flatnonzero(np.isin(y, (0, 1)))[:24]
    for i in keep:
        folder = tmp_path / "images" / str(y[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i]).save(folder / f"{i}.png")
    own = tmp_path / "r18.pth"
    own.write_bytes(weights["resnet18"].read_bytes())
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "fit", str(tmp_path / "images"), "--pretrained",
         f"resnet18={own}", "--models", "resnet18", "--n-trials", "1", "--study", "s",
         "--out", str(tmp_path / "model")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "studies" / "s" / "report.html").read_text()
    assert (
        "Explanations of the chosen model" in report and "Are the explanations faithful?" in report
    )
    assert 'data-role="faithfulness"' in report and "SHAP deletion" in report
    assert "LIME deletion" in report
    model = tmp_path / "model"
    assert json.loads((model / "config.json").read_text())  # the model folder exists
    assert not [p for p in model.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".pth")]
    result = automl.load(str(model))
    assert result.model_name == "resnet18"
    probe = x_test[:20]
    labels = result.predict(probe)
    # a fresh process, the weights file gone, the hub off: the folder alone predicts the same
    own.unlink()
    script = (
        "import json, sys, numpy as np, automl\n"
        "r = automl.load(sys.argv[1])\n"
        "x = np.load(sys.argv[2])\n"
        "print(json.dumps([r.predict(x).tolist(), r.predict_proba(x).tolist()]))\n"
    )
    np.save(tmp_path / "probe.npy", probe)
    offline = {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TORCH_HOME": str(tmp_path / "no-torch-home")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", script, str(model), str(tmp_path / "probe.npy")],
        capture_output=True, text=True, timeout=300, env=offline,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got_labels, got_proba = json.loads(done.stdout.strip().splitlines()[-1])
    assert got_labels == labels.tolist()
    assert np.allclose(got_proba, result.predict_proba(probe), atol=1e-5)
    # ONNX: the graph takes the transformed images and agrees with torch
    import onnxruntime as ort

    info = result.export(str(tmp_path / "model.onnx"))
    assert info["check"]["passed"]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    feed = np.ascontiguousarray(result.features.transform(probe))
    got = session.run(None, {session.get_inputs()[0].name: feed})[0]
    assert np.allclose(got, result.predict_proba(probe), atol=1e-4)
    # serve: base64 PNGs of raw 28x28 digits in
    with Server(str(model), env=offline) as server:
        status, body = server.post("/predict", {"rows": [png_base64(img) for img in probe]})
    assert status == 200, body
    assert body["predictions"] == labels.tolist()
    assert np.allclose(body["probabilities"], result.predict_proba(probe), atol=1e-5)
    # monitor: raw images; the same digits do not drift, darker ones do
    assert result.monitor(x_test[:100]).summary["drift"] is False
    assert "brightness" in result.monitor((x_test[:100] // 3).astype(np.uint8)).drifted
