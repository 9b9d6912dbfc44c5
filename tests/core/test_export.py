"""ONNX and TorchScript export: onnxruntime's outputs agree with predict_proba / predict for a
table (an ensemble with preprocessing, pair columns and hist_gb), images and text (TF-IDF and a
token-id network); what cannot convert is refused by name and no file is written."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

import automl
from automl.errors import ExportError
from automl.export import TOLERANCE
from tests.deploy_models import adult, image_model, mnist, sms, table_model, text_model


def _run(path, feed):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def _meta(path) -> dict:
    model = onnx.load(str(path))
    return json.loads({p.key: p.value for p in model.metadata_props}["automl"])


def test_table_ensemble_exports_with_its_preprocessing(tmp_path):
    result, folder = table_model()
    assert len(result.members) > 1  # the graph holds every member and their weighted average
    assert "extra_trees" in [m.family.name for m in result.members]  # with pair differences
    meta = result.export(str(tmp_path / "table.onnx"))
    assert meta["check"]["passed"] and meta["check"]["source"] == "held-out rows"
    assert meta["check"]["max_abs_diff"] <= TOLERANCE
    assert _meta(tmp_path / "table.onnx")["check"] == meta["check"]
    new = adult().iloc[400:600].drop(columns="class")
    new.loc[new.index[:5], "age"] = np.nan  # missing values take the fill and indicator path
    new.loc[new.index[5:8], "workclass"] = "an unseen level"
    exporter = automl.plugins.load_registry().task("tabular").exporter()
    got = _run(tmp_path / "table.onnx", exporter.feed(result, new))
    assert np.abs(got - result.predict_proba(new)).max() <= TOLERANCE
    assert [i["name"] for i in meta["inputs"]][:2] == ["age", "workclass"]


@pytest.mark.parametrize("family", ["hist_gb", "extra_trees", "mlp"])
def test_each_tabular_family_converts(tmp_path, family):
    frame = adult().iloc[:300]
    result = automl.fit(
        frame,
        target="class",
        n_trials=1,
        models=[family],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
        max_epochs=2,
    )
    meta = result.export(str(tmp_path / "m.onnx"))
    assert meta["check"]["passed"], meta["check"]


def test_regression_values_agree(tmp_path, diabetes):
    x, y = diabetes
    result = automl.fit(
        x, y, n_trials=1, models=["hist_gb"], storage=":memory:", verbose=False, cv_folds=0
    )
    meta = result.export(str(tmp_path / "r.onnx"))
    assert meta["output"] == "value" and meta["check"]["compared_with"] == "predict"
    got = _run(tmp_path / "r.onnx", {f"x{i}": x[:50, i : i + 1] for i in range(x.shape[1])})
    assert np.abs(got - result.predict(x[:50])).max() <= TOLERANCE * np.abs(y).max()


def test_image_model_exports_whole(tmp_path):
    result, _ = image_model()
    _, _, x_test, _ = mnist()
    meta = result.export(str(tmp_path / "image.onnx"))
    assert meta["check"]["passed"]
    got = _run(tmp_path / "image.onnx", {"image": result.features.transform(x_test[:50])})
    assert np.abs(got - result.predict_proba(x_test[:50])).max() <= TOLERANCE
    ts = result.export(str(tmp_path / "image.pt"), format="torchscript")
    assert ts["check"]["passed"] and ts["check"]["runtime"] == "torch.jit"
    import torch

    module = torch.jit.load(str(tmp_path / "image.pt"))
    x = torch.as_tensor(result.features.transform(x_test[:50]))
    with torch.no_grad():
        got = module(x).numpy()
    assert np.abs(got - result.predict_proba(x_test[:50])).max() <= TOLERANCE


def test_text_tfidf_exports_with_its_vectoriser(tmp_path):
    result, folder = text_model()
    meta = result.export(str(tmp_path / "text.onnx"))
    assert meta["check"]["passed"] and meta["inputs"][0]["name"] == "text"
    texts = [*sms()["text"].iloc[450:520], "", "Ünïcode café\tTAB", "CAPS!!! £100 WIN"]
    got = _run(tmp_path / "text.onnx", {"text": np.array(texts, dtype=object)})
    assert np.abs(got - result.predict_proba(texts)).max() <= TOLERANCE
    with pytest.raises(ExportError, match="torch models only"):
        result.export(str(tmp_path / "text.pt"), format="torchscript")
    assert not (tmp_path / "text.pt").exists()


def test_token_id_networks_take_ids_and_rnn_is_refused_by_name(tmp_path):
    frame = sms().iloc[:300]
    cnn = automl.fit(
        frame,
        target="label",
        n_trials=1,
        models=["fasttext"],
        storage=":memory:",
        verbose=False,
        max_epochs=1,
        cv_folds=0,
    )
    meta = cnn.export(str(tmp_path / "ft.onnx"))
    assert meta["check"]["passed"] and meta["inputs"][0]["name"] == "ids_0"
    assert "featurizer.transform" in meta["inputs"][0]["description"]
    rnn = automl.fit(
        frame,
        target="label",
        n_trials=1,
        models=["rnn"],
        storage=":memory:",
        verbose=False,
        max_epochs=1,
        cv_folds=0,
    )
    with pytest.raises(ExportError, match=r"member 0 \(rnn\) cannot be converted to ONNX"):
        rnn.export(str(tmp_path / "rnn.onnx"))
    assert not (tmp_path / "rnn.onnx").exists()
    assert rnn.export(str(tmp_path / "rnn.pt"), format="torchscript")["check"]["passed"]


def test_dates_are_refused_by_column_name(tmp_path):
    frame = adult().iloc[:200].copy()
    frame["signed"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").astype(str)
    result = automl.fit(
        frame,
        target="class",
        n_trials=1,
        models=["linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    with pytest.raises(ExportError, match="column 'signed' holds dates"):
        result.export(str(tmp_path / "d.onnx"))
    assert list(tmp_path.iterdir()) == []


def test_a_disagreeing_graph_is_not_written(tmp_path, monkeypatch):
    result, _ = text_model()
    from automl import export_check

    monkeypatch.setattr(export_check, "TOLERANCE", 0.0)
    monkeypatch.setattr(export_check, "expected", lambda r, rows: r.predict_proba(rows) + 1e-3)
    with pytest.raises(ExportError, match="disagrees with the model"):
        result.export(str(tmp_path / "x.onnx"))
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_is_named():
    from automl.export import require

    with pytest.raises(ImportError, match=r"pip install 'automl-nn\[deploy\]'"):
        require("an_absent_module_for_this_test")


@pytest.mark.slow  # a subprocess, a browser or a server
def test_cli_exports_a_loaded_model_checked_on_reference_rows(tmp_path):
    _, folder = table_model()
    out = tmp_path / "cli.onnx"
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "export", folder, str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert '"passed": true' in done.stdout
    meta = _meta(out)
    assert meta["check"]["source"] == "rows drawn from the training reference"
    csv = tmp_path / "rows.csv"
    adult().iloc[400:450].to_csv(csv, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "export", folder, str(out), "--data", str(csv)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    check = _meta(out)["check"]
    assert check["sources"]["given rows"] == 50  # then 50 drawn rows make up the 100
    assert check["sources"]["rows drawn from the training reference"] == 50


def test_the_check_refuses_no_rows_and_tops_up_a_few(tmp_path):
    result, _ = table_model()
    with pytest.raises(ExportError, match="no rows"):
        result.export(str(tmp_path / "none.onnx"), data=adult().iloc[400:400])
    assert list(tmp_path.iterdir()) == []
    meta = result.export(str(tmp_path / "one.onnx"), data=adult().iloc[400:401])
    check = meta["check"]
    assert check["minimum_rows"] == 100  # 320 rows trained
    assert check["sources"]["given rows"] == 1
    assert check["sources"]["rows drawn from the training reference"] == 99
    assert check["rows"] == 100 + check["edge_rows"]


def test_a_model_trained_on_few_rows_is_checked_on_as_many(tmp_path):
    result = automl.fit(
        adult().iloc[:60],
        target="class",
        n_trials=1,
        models=["linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    check = result.export(str(tmp_path / "few.onnx"))["check"]
    trained = result.summary["train_rows"]
    assert check["minimum_rows"] == trained < 100
    assert sum(n for s, n in check["sources"].items() if s != "edge rows") == trained


def test_edge_rows_catch_a_graph_wrong_only_on_missing_numbers(tmp_path, monkeypatch):
    result, _ = table_model()
    from automl_tabular.export import TabularExporter

    feed = TabularExporter.feed

    def zero_for_missing(self, result, raw):  # a graph that reads a missing number as 0
        return {
            k: np.where(np.isnan(v), 0.0, v) if v.dtype.kind == "f" else v
            for k, v in feed(self, result, raw).items()
        }

    monkeypatch.setattr(TabularExporter, "feed", zero_for_missing)
    complete = adult().iloc[400:600].drop(columns="class")  # no missing number among them
    with pytest.raises(ExportError, match=r"worst: edge row '[\w-]+ missing'"):
        result.export(str(tmp_path / "gaps.onnx"), data=complete)
    assert list(tmp_path.iterdir()) == []


def test_edge_rows_are_recorded_and_named(tmp_path):
    result, _ = table_model()
    check = result.export(str(tmp_path / "t.onnx"))["check"]
    cases = check["edge_cases"]
    assert check["edge_rows"] == len(cases) == check["sources"]["edge rows"]
    for case in [
        "age missing",
        "age at the training minimum",
        "age above the training maximum",
        "workclass unseen",
        "workclass missing",
        "every column missing",
    ]:
        assert case in cases
    text, _ = text_model()
    check = text.export(str(tmp_path / "x.onnx"))["check"]
    assert check["edge_rows"] == 0 and "no edge rows" in check["edge_note"]


def test_cli_refuses_a_header_only_check_file(tmp_path, capsys):
    from automl.cli import main

    _, folder = table_model()
    header = tmp_path / "header.csv"
    adult().iloc[:0].to_csv(header, index=False)
    assert main(["export", folder, str(tmp_path / "h.onnx"), "--data", str(header)]) == 2
    assert "no rows" in capsys.readouterr().err
    assert not (tmp_path / "h.onnx").exists()
