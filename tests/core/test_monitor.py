"""Drift monitoring: the reference is computed at fit time and kept in the model folder's
manifest; new rows of the training distribution are not flagged, shifted ones are (a column
multiplied by 10, darker or larger images, texts of unknown words); the HTML report opens in
headless Chromium; ``automl monitor`` writes the report and the JSON summary.

Set AUTOML_SCREENSHOT_DIR to keep the screenshot somewhere to look at."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import automl
from automl import drift
from automl.errors import DataError
from tests.browser import DevTools, chromium, console_errors, evaluate, open_page, screenshot
from tests.deploy_models import adult, image_model, mnist, sms, table_model, text_model


def test_psi_is_zero_on_the_reference_and_the_threshold_tightens_with_rows():
    counts = np.array([50.0, 30.0, 20.0, 0.0])
    assert drift.psi(counts, counts) == pytest.approx(0.0, abs=1e-12)
    assert drift.psi(counts, counts * 3) == pytest.approx(0.0, abs=1e-3)
    assert drift.psi(counts, np.array([0.0, 0.0, 100.0, 0.0])) > 1.0
    small = drift.threshold(counts * 10, counts / 5)  # 20 rows: noise alone reaches far
    large = drift.threshold(counts * 10, counts * 10)
    assert small > large == drift.PSI_THRESHOLD
    bins = drift.FeatureBins.fit("x", np.arange(100.0))
    assert bins.n_bins == 11 and bins.counts.sum() == 100
    assert bins.index([np.nan, -5.0, 1e9]).tolist() == [10, 0, 9]
    levels = drift.FeatureBins.fit("c", ["a"] * 90 + ["b"] * 9 + ["rare"])
    assert levels.levels == ["a", "b", "rare", "other"]
    assert levels.index(["a", "zzz", None]).tolist() == [0, 3, 4]


def test_the_reference_is_in_the_manifest_and_checked():
    result, folder = table_model()
    listed = json.loads((Path(folder) / "MANIFEST.json").read_text())["files"]
    assert {"drift.json", "drift.npz", "profile.json"} <= set(listed)
    loaded = automl.load(folder)
    assert [f.name for f in loaded.drift.features] == [f.name for f in result.drift.features]
    assert loaded.drift.rows == result.drift.rows == 320  # the training split of 400 rows
    assert not any(p.suffix == ".pkl" for p in Path(folder).rglob("*"))


def test_table_drift_flags_a_column_times_ten_and_nothing_else():
    result, _ = table_model()
    new = adult().iloc[400:600]
    x, y = new.drop(columns="class"), new["class"]
    same = result.monitor(x, y)
    assert same.summary["drift"] is False and same.drifted == []
    assert same.summary["metrics"]["accuracy"] == pytest.approx(result.score(x, y))
    assert same.summary["prediction"]["drift"] is False
    shifted = result.monitor(x.assign(age=x["age"] * 10))
    assert shifted.drifted == ["age"]
    age = next(f for f in shifted.summary["features"] if f["name"] == "age")
    assert age["psi"] > 1.0 and age["current"][-2] > 0.9  # all above the top decile
    with pytest.raises(DataError, match="lacks column"):
        result.monitor(x.drop(columns="age"))


def test_image_drift_watches_brightness_and_size():
    result, _ = image_model()
    _, _, x_test, _ = mnist()
    same = result.monitor(x_test[:200])
    assert same.summary["drift"] is False, same.drifted
    darker = result.monitor((x_test[:200] // 3).astype(np.uint8))
    assert "brightness" in darker.drifted and "height" not in darker.drifted
    bigger = np.zeros((200, 40, 40), dtype=np.uint8)
    bigger[:, 6:34, 6:34] = x_test[:200]
    assert {"height", "width"} <= set(result.monitor(bigger).drifted)


def test_text_drift_watches_unknown_words():
    result, _ = text_model()
    texts = sms()["text"].iloc[450:600].tolist()
    assert result.monitor(texts).summary["drift"] is False
    rng = np.random.default_rng(0)
    gibberish = [
        " ".join("".join(rng.choice(list("qxzjvk"), 6)) for _ in range(len(t.split())))
        for t in texts
    ]
    assert "oov_rate" in result.monitor(gibberish).drifted


@pytest.mark.slow  # a subprocess, a browser or a server
def test_the_report_opens_in_chromium(tmp_path):
    binary = chromium()
    result, _ = table_model()
    x = adult().iloc[400:600].drop(columns="class")
    page = Path(result.monitor(x.assign(age=x["age"] * 10)).write_html(str(tmp_path / "d.html")))
    shot = tmp_path / "drift-report.png"
    tools = DevTools(binary, tmp_path / "profile")
    try:
        open_page(tools, page.resolve().as_uri())
        state = evaluate(
            tools,
            """(() => ({verdict: document.querySelector('#verdict').innerText,
                rows: document.querySelectorAll('#features tr').length,
                images: document.images.length,
                broken: [...document.images].filter(i => !i.complete || !i.naturalWidth).length,
                height: document.documentElement.scrollHeight}))()""",
        )
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": 1280,
                "height": min(int(state["height"]), 4000),
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )
        screenshot(tools, shot)
        errors = console_errors(tools.events)
        requests = [
            e["params"]["request"]["url"][:60]
            for e in tools.events
            if e["method"] == "Network.requestWillBeSent"
        ]
    finally:
        tools.close()
    assert state["verdict"] == "Drift in 1 of 14 features: age"
    assert state["rows"] == 15  # a header and one row per feature
    assert state["images"] == 15 and state["broken"] == 0  # every feature and the predictions
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert shot.stat().st_size > 30_000


@pytest.mark.slow  # a subprocess, a browser or a server
def test_cli_monitor_writes_report_and_summary(tmp_path):
    _, folder = table_model()
    csv = tmp_path / "new.csv"
    frame = adult().iloc[400:600]
    frame.assign(age=frame["age"] * 10).to_csv(csv, index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl.cli",
            "monitor",
            folder,
            str(csv),
            "--labels",
            "class",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "drift: yes (features drifted: age)" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["drifted_features"] == ["age"] and "accuracy" in summary["metrics"]
    assert {f["name"]: f["drift"] for f in summary["features"]}["workclass"] is False
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "monitor", folder, str(csv), "--labels", "nope"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "--labels 'nope' is not a column" in done.stderr


def test_a_regression_model_on_arrays_is_monitored_by_column_position(diabetes):
    x, y = diabetes
    result = automl.fit(
        x[:300],
        y[:300],
        n_trials=1,
        models=["linear"],
        storage=":memory:",
        verbose=False,
        cv_folds=0,
    )
    same = result.monitor(x[300:], y[300:])
    assert same.summary["drift"] is False and same.summary["prediction"]["kind"] == "numeric"
    assert set(same.summary["metrics"]) >= {"r2", "rmse", "mae"}
    shifted = x[300:].copy()
    shifted[:, 2] *= 10
    assert result.monitor(shifted).drifted == ["x2"]
    with pytest.raises(DataError, match="X has 3 features"):
        result.monitor(x[:, :3])
