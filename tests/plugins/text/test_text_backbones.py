"""Pretrained Hugging Face backbones for text (``fit(pretrained=...)``), never downloaded: a
tiny BERT (width 32, 2 layers, 2 heads) with a WordPiece tokenizer trained here on the sample
texts, saved with ``save_pretrained`` once per session. Each fit is short (1-3 trials, a few
hundred texts, mostly the frozen strategy)."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest

import automl
from automl.errors import DataError, ParameterError, PluginError

pytest.importorskip("transformers")
PROBE = ["free entry to win a prize now", "see you at 6 tonight", ""]
QUICK = dict(storage=":memory:", verbose=False, max_epochs=3, cv_folds=0)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing may be downloaded: the hub is off for every test here."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _copy(folder: str, tmp_path, name: str = "copy"):
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


# -- fitting --------------------------------------------------------------------------------
def test_backbone_is_the_first_trial_and_predicts_raw_strings(sms, tiny_bert):
    result = automl.fit(sms, target="label", pretrained=tiny_bert, n_trials=2, **QUICK)
    trials = result.study.trials
    assert trials[0].params["model"] == "text-backbone"
    assert trials[0].params["text-backbone.strategy"] == "frozen"
    assert trials[0].params["text-backbone.backbone"] == tiny_bert
    # the search goes on with the from-scratch families (the TF-IDF baseline next)
    assert trials[1].params["model"] == "tfidf_linear"
    proba = result.predict_proba(PROBE)
    assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1)


def test_frozen_features_are_computed_once_per_row(sms, tiny_bert):
    """A frozen trial encodes each text once: the refit on train + validation encodes nothing
    new, nor does a second fit on the same texts (another head on the same features)."""
    from automl_text.backbone_model import CACHE

    CACHE.tables.clear()
    before = CACHE.encoded
    kw = dict(pretrained=tiny_bert, models=["text-backbone"], n_trials=1, refit=True, **QUICK)
    result = automl.fit(sms, target="label", **kw)
    assert result.refit
    assert CACHE.encoded - before == len(sms)  # train and validation rows, each once
    automl.fit(sms, target="label", **kw)
    assert CACHE.encoded - before == len(sms)


def test_fine_tuning_strategies_train(sms, tiny_bert):
    """'last' and 'all' fine-tune through the torch kind's loop; the backbone moves (slower
    than the head), the predictor still takes raw strings."""
    from automl_text.task import TextTask

    from automl.kinds import FitOptions, Split
    from automl.metrics import resolve
    from automl.plugins import load_registry

    data = TextTask().adapt(sms, "label", pretrained=((tiny_bert, None),))
    family = load_registry(None).models["text-backbone"]
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    for strategy, extra in (("last", {"text-backbone.last_layers": 1}), ("all", {})):
        params = {
            **family.default_params(data),
            "text-backbone.strategy": strategy,
            "text-backbone.backbone_lr_factor": 0.1,
            "text-backbone.epochs": 2,
            **extra,
        }
        model = family.build(params, data.spec)
        start = {k: v.clone() for k, v in model.encoder.state_dict().items()}
        split = Split(data.x_train, data.y_train, data.x_valid, data.y_valid)
        outcome = family.kind.train(family, model, params, data, metric, split, FitOptions())
        moved = [k for k, v in model.encoder.state_dict().items() if not v.equal(start[k])]
        if strategy == "last":  # only the top layer (and nothing below it) moved
            assert moved and all(".layer.1." in k for k in moved)
        else:
            assert any(".layer.0." in k for k in moved) and any("embeddings" in k for k in moved)
        out = outcome.predictor.output(np.asarray(PROBE, dtype=object))
        assert out.shape == (3, 2) and np.isfinite(out).all()


def test_backbone_lr_factor_scales_each_step():
    """An optimizer step moves the slowed weights by the factor of its step, others fully."""
    import torch
    from automl_text.backbone_kind import slower

    slow, fast = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([slow, fast], lr=0.1, weight_decay=0.0)
    (slow.sum() + fast.sum()).backward()
    with slower([slow], 0.1):
        opt.step()
    assert torch.allclose(1 - fast.detach(), torch.full((3,), 0.1), atol=1e-4)
    assert torch.allclose(1 - slow.detach(), torch.full((3,), 0.01), atol=1e-5)


def test_a_backbone_that_cannot_end_an_epoch_is_not_started(sms, tiny_bert, monkeypatch):
    import time

    from automl_text import backbone_kind
    from automl_text.task import TextTask

    from automl.kinds import FitOptions, Split
    from automl.metrics import resolve
    from automl.plugin import StoppedUnscored
    from automl.plugins import load_registry

    data = TextTask().adapt(sms, "label", pretrained=((tiny_bert, None),))
    family = load_registry(None).models["text-backbone"]
    params = {**family.default_params(data), "text-backbone.strategy": "all",
              "text-backbone.backbone_lr_factor": 0.1}  # fmt: skip
    model = family.build(params, data.spec)
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    split = Split(data.x_train, data.y_train, data.x_valid, data.y_valid)
    monkeypatch.setattr(backbone_kind, "TIMED_ROWS", 8)
    # another trial has finished (score_partial False): a fine-tuning trial is not started
    options = FitOptions(deadline=time.monotonic() + 0.001, score_partial=False)
    with pytest.raises(StoppedUnscored, match="not started: one epoch of backbone"):
        family.kind.train(family, model, params, data, metric, split, options)
    # a frozen trial whose rows are not encoded yet: not even the first trial starts
    from automl_text.backbone_model import CACHE

    CACHE.tables.clear()
    frozen = family.default_params(data)
    options = FitOptions(deadline=time.monotonic() + 0.001, score_partial=True)
    with pytest.raises(StoppedUnscored, match=r"\(frozen\) is expected to take"):
        family.kind.train(family, family.build(frozen, data.spec), frozen, data, metric, split,
                          options)  # fmt: skip


# -- the model folder --------------------------------------------------------------------------
def test_model_folder_is_standalone_safetensors_and_tokenizer(sms, tiny_bert, tmp_path):
    backbone = _copy(tiny_bert, tmp_path, "bert")
    result = automl.fit(
        sms, target="label", pretrained=str(backbone), models=["text-backbone"], n_trials=1,
        **QUICK,
    )  # fmt: skip
    before = result.predict_proba(PROBE)
    folder = tmp_path / "model"
    result.save(str(folder))
    files = json.loads((folder / "MANIFEST.json").read_text())["files"]
    member = [f for f in files if f.startswith("member_0/")]
    assert "member_0/weights.safetensors" in member
    assert "member_0/backbone/config.json" in member
    assert any(f.startswith("member_0/tokenizer/tokenizer") for f in member)
    assert not any(f.endswith((".pt", ".pkl", ".bin", ".skops")) for f in files)
    shutil.rmtree(backbone)  # loading needs neither the original folder nor the network
    loaded = automl.load(str(folder))
    assert np.allclose(loaded.predict_proba(PROBE), before, atol=1e-5)
    assert list(loaded.predict(PROBE)) == list(result.predict(PROBE))


def test_export_onnx_on_token_ids_and_explain(sms, tiny_bert, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    result = automl.fit(
        sms, target="label", pretrained=tiny_bert, models=["text-backbone"], n_trials=1,
        **QUICK,
    )  # fmt: skip
    path = tmp_path / "model.onnx"
    info = result.export(str(path))
    assert info["check"]["passed"]  # the export's own agreement check, on 100 texts
    session = ort.InferenceSession(str(path))
    predictor = result.members[0].predictor
    ids = predictor.token_ids(PROBE)
    name = session.get_inputs()[0].name
    assert name == "ids_0"
    onnx_out = session.run(None, {name: ids})[0]
    assert np.allclose(onnx_out, result.predict_proba(PROBE), atol=1e-4)
    explanation = result.explain(sms["text"].iloc[:2].tolist(), method="lime")
    assert explanation is not None


# -- errors, all raised before training -------------------------------------------------------
def test_missing_folder_is_an_error(sms, tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        automl.fit(sms, target="label", pretrained=str(tmp_path / "nope"), n_trials=1, **QUICK)


def test_folder_without_tokenizer_is_an_error(sms, tiny_bert, tmp_path):
    folder = _copy(tiny_bert, tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(DataError, match="has no tokenizer"):
        automl.fit(sms, target="label", pretrained=str(folder), n_trials=1, **QUICK)


def test_weights_that_do_not_fit_the_config_are_an_error(sms, tiny_bert, tmp_path):
    folder = _copy(tiny_bert, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["intermediate_size"] = 48
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="weights must fit its config"):
        automl.fit(sms, target="label", pretrained=str(folder), n_trials=1, **QUICK)


def test_uncached_hub_id_offline_is_a_clear_error(sms, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import time

    started = time.monotonic()
    with pytest.raises(DataError) as err:
        automl.fit(sms, target="label", pretrained="google-bert/bert-base-uncased", **QUICK)
    message = str(err.value)
    assert "'google-bert/bert-base-uncased'" in message and "HF_HUB_OFFLINE" in message
    assert "Hugging Face cache" in message and "local folder" in message
    assert time.monotonic() - started < 30  # no network wait


def test_a_separate_weights_file_is_refused(sms, tiny_bert):
    with pytest.raises(ParameterError, match="separate weights file"):
        automl.fit(sms, target="label", pretrained={tiny_bert: "w.safetensors"}, **QUICK)


def test_without_the_transformers_extra_the_error_names_it(sms, tiny_bert, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(PluginError, match=r"pip install 'automl-nn\[transformers\]'"):
        automl.fit(sms, target="label", pretrained=tiny_bert, n_trials=1, **QUICK)


def test_the_family_and_its_kind_pass_the_conformance_kit(sms, tiny_bert):
    from automl_text.task import TextTask

    from automl.plugins import load_registry
    from automl.testing import check_family, check_kind

    family = load_registry(None).models["text-backbone"]
    plain = TextTask().adapt(sms, "label")
    assert not family.supports(plain)  # searched only where pretrained= names backbones
    data = TextTask().adapt(sms, "label", pretrained=((tiny_bert, None),))
    assert family.supports(data) and data.first_families == ("text-backbone",)
    assert check_kind(family.kind, family, data)
    assert check_family(family, data)
