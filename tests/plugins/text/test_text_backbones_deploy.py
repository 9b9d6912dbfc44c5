"""A pretrained text backbone end to end, as a user runs it: ``automl fit CSV --target label
--pretrained FOLDER`` (a tiny BERT), then the report, the model folder loaded elsewhere
without the backbone folder and with the hub off, ONNX on token ids, ``automl serve`` and
monitor, all on raw strings (60 SMS messages)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import automl
from tests.deploy_models import Server, sms

pytest.importorskip("transformers")
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # a subprocess fit, a server
def test_cli_fit_with_a_backbone_reports_loads_exports_serves_and_monitors(tiny_bert, tmp_path):
    frame = sms()
    frame.iloc[:60].to_csv(tmp_path / "train.csv", index=False)
    backbone = tmp_path / "bert"
    shutil.copytree(tiny_bert, backbone)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "fit", str(tmp_path / "train.csv"), "--target",
         "label", "--pretrained", str(backbone), "--models", "text-backbone", "--n-trials", "1",
         "--cv-folds", "0", "--study", "s", "--out", str(tmp_path / "model")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "studies" / "s" / "report.html").read_text()
    assert (
        "Explanations of the chosen model" in report and "Are the explanations faithful?" in report
    )
    assert 'data-role="faithfulness"' in report
    assert "SHAP" in report and "LIME" in report
    model = tmp_path / "model"
    assert not [p for p in model.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".bin")]
    assert (model / "member_0" / "weights.safetensors").is_file()
    result = automl.load(str(model))
    assert result.model_name == "text-backbone"
    probe = [*frame["text"].iloc[60:80], "", "free entry to win a prize now"]
    labels = result.predict(probe)
    # a fresh process, the backbone folder gone, the hub off: the folder alone predicts the same
    shutil.rmtree(backbone)
    script = (
        "import json, sys, automl\n"
        "r = automl.load(sys.argv[1])\n"
        "x = json.loads(sys.argv[2])\n"
        "print(json.dumps([r.predict(x).tolist(), r.predict_proba(x).tolist()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(model), json.dumps(probe)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got_labels, got_proba = json.loads(done.stdout.strip().splitlines()[-1])
    assert got_labels == labels.tolist()
    assert np.allclose(got_proba, result.predict_proba(probe), atol=1e-5)
    # ONNX: token ids in (the tokenizer stays outside the graph), agrees with torch
    import onnxruntime as ort

    info = result.export(str(tmp_path / "model.onnx"))
    assert info["check"]["passed"] and info["inputs"][0]["name"] == "ids_0"
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    ids = result.members[0].predictor.token_ids(probe)
    got = session.run(None, {"ids_0": ids})[0]
    assert np.allclose(got, result.predict_proba(probe), atol=1e-4)
    # as documented: the ids made by the tokenizer saved in the folder, cut at the max length
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model / "member_0" / "tokenizer")
    max_len = result.best_params["text-backbone.max_len"]
    ids = tokenizer(probe, padding="longest", truncation=True, max_length=max_len)["input_ids"]
    got = session.run(None, {"ids_0": np.asarray(ids, dtype=np.int64)})[0]
    assert np.allclose(got, result.predict_proba(probe), atol=1e-4)
    # serve: raw strings in
    with Server(str(model), env=env) as server:
        status, body = server.post("/predict", {"rows": probe})
    assert status == 200, body
    assert body["predictions"] == labels.tolist()
    assert np.allclose(body["probabilities"], result.predict_proba(probe), atol=1e-5)
    # monitor: raw strings; gibberish drifts in unknown words
    texts = frame["text"].iloc[60:160].tolist()
    assert result.monitor(texts).summary["drift"] is False
    rng = np.random.default_rng(0)
    gibberish = [
        " ".join("".join(rng.choice(list("qxzjvk"), 6)) for _ in t.split()) for t in texts
    ]
    assert "oov_rate" in result.monitor(gibberish).drifted
