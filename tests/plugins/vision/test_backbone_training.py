"""How a pretrained backbone trains on few labelled images: the first trial's defaults, the
minimum steps (small sets repeat), the searched resolution. Random-initialised weights made in
the tests (conftest), sklearn's 8x8 digits at 16x16; nothing is downloaded."""

import numpy as np
import optuna
import pytest
import torch
from automl_vision.backbone_family import MIN_EPOCH_STEPS, MIN_HEAD_STEPS
from automl_vision.backbone_features import repeated
from sklearn.datasets import load_digits

from automl.kinds import Split
from automl.metrics import resolve
from automl.objective import train_candidate
from automl.plugins import load_registry


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = (np.kron(d.images, np.ones((2, 2))) * 255 / 16).astype(np.uint8)
    return x[:100], d.target[:100]


def _setup(digits, weights, arch="resnet18"):
    task = load_registry().tasks["vision"]
    data = task.adapt(digits, pretrained=((arch, weights[arch]),), seed=0)
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    return data, load_registry().models[arch], metric


def test_first_trial_on_a_cpu_fine_tunes_every_layer_at_32_px(digits, weights, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data, family, _ = _setup(digits, weights)
    params = family.default_params(data)
    assert params["resnet18.strategy"] == "all"
    assert params["resnet18.lr"] == 0.03 and params["resnet18.backbone_lr_factor"] == 0.3
    assert params["resnet18.resolution"] == 32  # 16 px digits: the smallest 32-px step
    assert params["aug.crop_pad"] >= 1 and params["aug.flip"] is False  # grayscale: no flip


def test_small_splits_repeat_whole_rows_up_to_the_minimum():
    x, y, w = np.arange(10).reshape(5, 2), np.arange(5), np.ones(5)
    split = repeated(Split(x, y, x[:2], y[:2], w), 12)
    assert len(split.x_train) == len(split.y_train) == len(split.w_train) == 15
    assert np.array_equal(split.y_train, np.tile(y, 3)) and np.array_equal(split.x_valid, x[:2])
    big = Split(x, y)
    assert repeated(big, 5) is big


def test_a_fine_tuning_epoch_has_the_minimum_steps(digits, weights):
    data, family, metric = _setup(digits, weights, "mobilenet_v3_small")  # the quicker one
    params = {
        **family.default_params(data),
        "mobilenet_v3_small.strategy": "all",
        "mobilenet_v3_small.backbone_lr_factor": 0.3,
        "mobilenet_v3_small.resolution": 32,
        "mobilenet_v3_small.epochs": 1,
    }
    outcome = train_candidate(family, params, data, metric, device="cpu", seed=0)
    assert data.n_train < 32 * 3  # by itself a few steps of 32 images
    assert outcome.batches == outcome.batches_per_epoch >= MIN_EPOCH_STEPS


def test_a_frozen_head_trains_the_minimum_steps(digits, weights):
    data, family, metric = _setup(digits, weights)
    params = {
        **family.default_params(data),
        "resnet18.strategy": "frozen",
        "resnet18.lr": 3e-3,
        "resnet18.epochs": 2,
    }
    outcome = train_candidate(family, params, data, metric, device="cpu", seed=0)
    assert outcome.batches >= MIN_HEAD_STEPS and outcome.epochs_run == 2


def _suggested(study, family, data):
    trial = study.ask()
    family.suggest(trial, data)
    return trial.distributions["resnet18.resolution"], trial.params["resnet18.resolution"]


def test_resolution_is_searched_in_32_px_steps_and_old_studies_keep_theirs(digits, weights):
    data, family, _ = _setup(digits, weights)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    distribution, side = _suggested(study, family, data)
    assert isinstance(distribution, optuna.distributions.IntDistribution)
    assert (distribution.low, distribution.high, distribution.step) == (32, 224, 32)
    assert side % 32 == 0
    old = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    categorical = optuna.distributions.CategoricalDistribution((32, 64, 96, 128, 224))
    old.add_trial(
        optuna.trial.create_trial(
            params={"resnet18.resolution": 96},
            distributions={"resnet18.resolution": categorical},
            value=0.5,
        )
    )
    distribution, side = _suggested(old, family, data)
    assert distribution == categorical and side in categorical.choices
