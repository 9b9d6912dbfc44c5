"""automl.fit on images end to end, kept small: every input kind, each model family for one or
two epochs with a save/load round trip, and predict on the three array layouts."""

import numpy as np
import pytest
import torch
from PIL import Image

import automl
from tests import DATA

FAST = {"n_trials": 1, "max_epochs": 1, "storage": ":memory:", "verbose": False}


@pytest.fixture(scope="module")
def mnist():
    with np.load(DATA / "mnist_sample.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("family", ["convnet", "resnet", "pixel_mlp"])
def test_each_family_trains_and_round_trips(family, mnist, tmp_path):
    x, y = mnist["x_train"][:300], mnist["y_train"][:300]
    result = automl.fit((x, y), models=[family], image_size=12, refit=False, **FAST)
    assert result.task == "vision" and result.model_name == family
    assert result.problem_type == "multiclass" and result.spec.input_shape == (1, 12, 12)
    x_test = mnist["x_test"][:40]
    proba = result.predict_proba(x_test)
    assert proba.shape == (40, 10) and np.allclose(proba.sum(axis=1), 1)
    loaded = automl.load(result.save(str(tmp_path / "model")))
    assert np.allclose(loaded.predict_proba(x_test), proba, atol=1e-5)
    assert loaded.predict(x_test).tolist() == result.predict(x_test).tolist()


def test_convnet_learns_digits_and_predicts_any_layout(mnist):
    x, y = mnist["x_train"][:600], mnist["y_train"][:600]
    result = automl.fit(x, y, models=["convnet"], **{**FAST, "max_epochs": 2})
    assert result.best_params["aug.flip"] is False  # the digits default: no mirror images
    assert result.best_params["lr_schedule"] == "onecycle"
    x_test, y_test = mnist["x_test"], mnist["y_test"]
    pred = result.predict(x_test)
    assert result.score(x_test, y_test) > 0.7
    assert result.predict(x_test[..., None]).tolist() == pred.tolist()  # (N,H,W,1)
    assert result.predict(x_test[:, None]).tolist() == pred.tolist()  # (N,1,H,W)
    assert result.predict(x_test.astype(np.float32) / 255).tolist() == pred.tolist()
    rgb = np.repeat(x_test[..., None], 3, axis=-1)  # RGB in: turned to gray
    assert (result.predict(rgb) == pred).mean() > 0.9
    assert result.predict(x_test[0]).shape == (1,)  # one (H, W) image


def test_rgb_float_nchw_with_string_labels_and_augmentation_search():
    rng = np.random.default_rng(0)
    y = np.array(["red", "green"] * 40)
    x = rng.random((80, 3, 12, 12)).astype(np.float32) * 0.3
    x[y == "red", 0] += 0.6
    x[y == "green", 1] += 0.6
    result = automl.fit((x, y), models=["convnet"], **{**FAST, "n_trials": 2})
    assert result.problem_type == "binary" and result.classes_ == ["green", "red"]
    assert result.best_params["aug.flip"] in (True, False)
    nhwc = np.moveaxis(x, 1, -1)
    assert result.predict(nhwc).tolist() == result.predict(x).tolist()
    assert set(result.predict(x)) <= {"red", "green"}


def test_image_folder_fit_and_predict(tmp_path):
    rng = np.random.default_rng(1)
    for k, name in enumerate(["circle", "square"]):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(12):
            arr = rng.integers(0, 40, (10 + (i % 4 == 0), 10, 3), dtype=np.uint8)  # mixed sizes
            arr[..., k * 2] += 200
            Image.fromarray(arr).save(tmp_path / "imgs" / name / f"{i}.jpg")
    result = automl.fit(str(tmp_path / "imgs"), models=["pixel_mlp"], **FAST)
    assert result.spec.input_shape == (3, 10, 10) and result.summary["resized_images"] == 6
    pred = result.predict(str(tmp_path / "imgs"))  # a folder at predict time: every image
    assert len(pred) == 24 and set(pred) <= {"circle", "square"}


def test_torch_dataset_fit_and_predict(mnist):
    class Digits(torch.utils.data.Dataset):  # torchvision style: (tensor C,H,W in [0,1], int)
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return torch.as_tensor(self.x[i] / 255.0, dtype=torch.float32)[None], int(self.y[i])

    train = Digits(mnist["x_train"][:200], mnist["y_train"][:200])
    result = automl.fit(train, models=["pixel_mlp"], **FAST)
    assert result.task == "vision" and result.spec.input_shape == (1, 28, 28)
    test = Digits(mnist["x_test"][:30], mnist["y_test"][:30])
    assert result.predict(test).tolist() == result.predict(mnist["x_test"][:30]).tolist()
