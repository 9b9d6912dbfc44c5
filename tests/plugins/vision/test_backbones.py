"""Pretrained torchvision backbones (``pretrained=``), kept small and offline: the weights are
random-initialised torchvision models saved here (nothing is ever downloaded: the network is
switched off where the default weights are looked up), the images sklearn's 8x8 digits at
16x16, the frozen strategy mostly."""

import socket
import time

import numpy as np
import pytest
import torch
import torchvision
from automl_vision import backbones
from automl_vision.backbone_model import BackboneModel
from sklearn.datasets import load_digits

import automl
from automl import kinds
from automl.errors import DataError, ParameterError
from automl.metrics import resolve
from automl.objective import train_candidate
from automl.plugins import load_registry
from automl.testing import check_family, check_kind
from automl.training import StoppedUnscored

FAST = {"storage": ":memory:", "verbose": False, "report": False}


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = (np.kron(d.images, np.ones((2, 2))) * 255 / 16).astype(np.uint8)
    return x[:240], d.target[:240]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch cache and no network: a connection attempt fails at once."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def refuse(*args, **kwargs):
        raise OSError("network is off in the tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return tmp_path / "torch" / "hub" / "checkpoints"


def _data(digits, pretrained):
    return load_registry().tasks["vision"].adapt(digits, pretrained=pretrained, seed=0)


def test_frozen_fit_saves_safetensors_that_load_without_the_weights_file(
    digits, weights, tmp_path, frozen_first
):
    own = tmp_path / "r18.pth"
    own.write_bytes(weights["resnet18"].read_bytes())
    x, y = digits
    result = automl.fit(
        (x, y), pretrained={"resnet18": own}, models=["resnet18"], n_trials=1, max_epochs=3, **FAST
    )
    assert result.model_name == "resnet18" and result.best_params["resnet18.strategy"] == "frozen"
    assert result.spec.extra["backbones"]["resnet18"]["source"] == "local file"
    proba = result.predict_proba(x[:30])
    folder = result.save(str(tmp_path / "model"))
    files = sorted(p.name for p in (tmp_path / "model").rglob("*") if p.is_file())
    assert "weights.safetensors" in files and not [f for f in files if f.endswith((".pt", ".pth"))]
    own.unlink()
    backbones._STATES.clear()  # nothing of the original weights left in this process
    loaded = automl.load(folder)
    assert np.allclose(loaded.predict_proba(x[:30]), proba, atol=1e-5)
    # uint8 (N,H,W) digits in, as every image family takes them: gray -> 3 channels, resized
    assert loaded.predict(x[:5]).shape == (5,)


def test_named_backbones_are_the_first_trials_in_the_callers_order(digits, weights, frozen_first):
    pretrained = {
        "mobilenet_v3_small": weights["mobilenet_v3_small"],
        "resnet18": weights["resnet18"],
    }
    result = automl.fit(digits, pretrained=pretrained, n_trials=3, max_epochs=1, **FAST)
    board = result.leaderboard().sort_values("trial")
    assert board["model"].tolist()[:3] == ["mobilenet_v3_small", "resnet18", "convnet"]
    data = _data(digits, tuple(pretrained.items()))
    assert data.first_families == ("mobilenet_v3_small", "resnet18")


def test_a_backbone_not_named_is_not_searched(digits):
    data = _data(digits, None)
    family = load_registry().models["resnet18"]
    assert not family.supports(data)
    assert "backbones" not in data.spec.extra


def test_backbone_family_and_kind_pass_the_conformance_kit(digits, weights):
    x, y = digits
    data = _data((x[:120], y[:120]), (("mobilenet_v3_small", weights["mobilenet_v3_small"]),))
    family = load_registry().models["mobilenet_v3_small"]
    assert check_family(family, data)[:3] == ["suggest", "build", "train"]
    done = check_kind(kinds.of(family), family, data)
    assert "save and load" in done and kinds.of(family).name == "vision-backbone"


def test_frozen_features_are_computed_once_per_split(digits, weights, monkeypatch):
    data = _data(digits, (("resnet18", weights["resnet18"]),))
    family = load_registry().models["resnet18"]
    params = {**family.default_params(data), "resnet18.strategy": "frozen"}
    kinds.of(family).cache.entries.clear()  # (a fit above may have cached these very features)
    calls = []
    embed = BackboneModel.embed
    monkeypatch.setattr(
        BackboneModel, "embed", lambda self, x, d: calls.append(len(x)) or embed(self, x, d)
    )
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    first = train_candidate(family, params, data, metric, device="cpu", seed=0)
    assert sorted(calls) == sorted([data.n_train, data.n_valid])
    again = train_candidate(
        family, {**params, "resnet18.lr": 0.01}, data, metric, device="cpu", seed=1
    )
    assert sorted(calls) == sorted([data.n_train, data.n_valid])  # from the cache
    assert np.isfinite(first.score) and np.isfinite(again.score)


def test_fine_tuning_strategies_train_the_right_layers(digits, weights):
    data = _data(digits, (("resnet18", weights["resnet18"]),))
    family = load_registry().models["resnet18"]
    base = {
        **family.default_params(data),
        "resnet18.backbone_lr_factor": 0.1,
        "resnet18.epochs": 1,
    }
    last = family.build({**base, "resnet18.strategy": "last"}, data.spec).train()
    trained = {n for n, p in last.body.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith("layer4.") for n in trained)
    assert not last.body.layer1[0].bn1.training and last.body.layer4[0].bn1.training
    params = {**base, "resnet18.strategy": "all", "aug.crop_pad": 1, "aug.flip": False}
    before = family.build(params, data.spec).body.conv1.weight.detach().clone()
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    outcome = train_candidate(family, params, data, metric, device="cpu", seed=0)
    after = outcome.predictor.module.body.conv1.weight.detach()
    assert not torch.equal(before, after)  # every layer trained
    assert outcome.predictor.output(data.x_valid).shape == (data.n_valid, 10)


@pytest.mark.parametrize(
    ("strategy", "what"), [("all", "an epoch"), ("frozen", "the features of the frozen backbone")]
)
def test_a_backbone_too_slow_for_its_time_is_not_started(digits, weights, strategy, what):
    data = _data(digits, (("resnet18", weights["resnet18"]),))
    family = load_registry().models["resnet18"]
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    params = {
        **family.default_params(data),
        "resnet18.strategy": strategy,
        "resnet18.backbone_lr_factor": 0.3,
        "resnet18.resolution": 224,
    }
    kinds.of(family).cache.entries.clear()  # features cached by another test: nothing to time
    expected = f"not started: resnet18 at 224 px needs about .* s for {what}"
    with pytest.raises(StoppedUnscored, match=expected):
        train_candidate(
            family,
            params,
            data,
            metric,
            device="cpu",
            seed=0,
            deadline=time.monotonic() + 0.05,
            score_partial=False,
        )


def test_export_is_onnx_parity_and_explanations_work(digits, weights, tmp_path):
    x, y = digits
    result = automl.fit(
        (x, y),
        pretrained={"mobilenet_v3_small": weights["mobilenet_v3_small"]},
        models=["mobilenet_v3_small"],
        n_trials=1,
        max_epochs=2,
        **FAST,
    )
    path = tmp_path / "model.onnx"
    result.export(str(path))  # the core checks the agreement itself
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))
    feed = np.ascontiguousarray(result.features.transform(x[:8]))
    onnx_proba = session.run(None, {session.get_inputs()[0].name: feed})[0]
    assert np.allclose(onnx_proba, result.predict_proba(x[:8]), atol=1e-4)
    shap = result.explain(x[:2], method="shap", seconds=60, background=x[:10], gradient_samples=10)
    assert np.asarray(shap.values).shape == (2, 256) and np.isfinite(shap.values).all()
    lime = result.explain(x[:1], method="lime", seconds=60, lime_samples=100)
    assert np.asarray(lime.values).shape == (1, 256)


# -- errors, raised by adapt before any training -------------------------------------------------
def test_unknown_architecture_names_the_known_ones(digits):
    with pytest.raises(ParameterError, match=r"'resnet19'.*did you mean 'resnet18'.*vit_b_16"):
        automl.fit(digits, pretrained="resnet19", **FAST)


def test_missing_unreadable_and_wrong_shaped_files_are_named(digits, weights, tmp_path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(DataError, match=f"resnet18 weights file {missing} does not exist"):
        automl.fit(digits, pretrained={"resnet18": missing}, **FAST)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a state dict")
    with pytest.raises(DataError, match=f"cannot read the resnet18 weights file {garbage}"):
        automl.fit(digits, pretrained={"resnet18": garbage}, **FAST)
    with pytest.raises(
        DataError, match=r"mobilenet_v3_small\.pth does not fit torchvision's resnet18"
    ):
        automl.fit(digits, pretrained={"resnet18": weights["mobilenet_v3_small"]}, **FAST)
    pickled = tmp_path / "object.pth"
    torch.save({"net": torchvision.models.resnet18()}, pickled)  # a whole module: refused
    with pytest.raises(DataError, match=f"cannot read the resnet18 weights file {pickled}"):
        automl.fit(digits, pretrained={"resnet18": pickled}, **FAST)


def test_a_head_of_other_classes_is_replaced(digits, tmp_path):
    file = tmp_path / "r18_1000.pth"
    torch.save({"state_dict": torchvision.models.resnet18().state_dict()}, file)  # 1000 classes
    data = _data(digits, (("resnet18", file),))
    assert data.spec.extra["backbones"]["resnet18"]["file"] == str(file)


def test_default_weights_offline_and_not_cached_is_a_clear_error(digits, offline):
    started = time.monotonic()
    with pytest.raises(DataError) as caught:
        automl.fit(digits, pretrained="resnet18", **FAST)
    message = str(caught.value)
    assert "resnet18-f37072fd.pth" in message and str(offline / "resnet18-f37072fd.pth") in message
    assert "pretrained={'resnet18': " in message and "offline" in message
    assert time.monotonic() - started < 10


def test_default_weights_found_in_torchs_cache_need_no_network(digits, offline):
    offline.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), offline / "resnet18-f37072fd.pth")
    data = _data(digits, (("resnet18", None),))
    info = data.spec.extra["backbones"]["resnet18"]
    assert info["source"] == "torchvision ResNet18_Weights.IMAGENET1K_V1"
    assert info["mean"] == [0.485, 0.456, 0.406] and info["size"] == 224
