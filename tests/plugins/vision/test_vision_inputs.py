"""Vision inputs without training: IDX files, layouts, folders, datasets, augmentation and every
bad-input case (each a DataError naming the problem)."""

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from automl_vision import inputs
from automl_vision.augment import ImageModel, default_augmentation
from automl_vision.families import ConvNetFamily
from automl_vision.idx import load_idx
from automl_vision.task import VisionTask
from PIL import Image

import automl
from automl.api import choose_task
from automl.plugins import load_registry
from automl.task import DataSpec
from tests import DATA


@pytest.fixture(scope="module")
def mnist():
    with np.load(DATA / "mnist_sample.npz") as f:
        return {k: f[k] for k in f.files}


def write_idx(path: Path, arr: np.ndarray, compress: bool = True) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def make_folder(root: Path, classes: dict[str, int], size=(12, 12), mode="L") -> Path:
    rng = np.random.default_rng(0)
    for k, (name, n) in enumerate(classes.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = rng.integers(0, 60, size=(*size, 3), dtype=np.uint8)
            arr[..., k % 3] += 150  # a class-specific colour
            Image.fromarray(arr).convert(mode).save(root / name / f"{i}.png")
    return root


# -- IDX ----------------------------------------------------------------------------------------
def test_load_idx_gz_and_raw(tmp_path, mnist):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", mnist["x_train"][:50])
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", mnist["y_train"][:50])
    write_idx(tmp_path / "t10k-images-idx3-ubyte", mnist["x_test"][:20], compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", mnist["y_test"][:20], compress=False)
    x, y = load_idx(tmp_path)
    assert x.shape == (50, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x, mnist["x_train"][:50]) and np.array_equal(y, mnist["y_train"][:50])
    xt, yt = load_idx(tmp_path, split="test")
    assert np.array_equal(xt, mnist["x_test"][:20]) and len(yt) == 20


def test_load_idx_bad_files(tmp_path, mnist):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x08\x03\x00\x00garbage")
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", mnist["y_train"][:5])
    with pytest.raises(automl.DataError, match="bad magic number"):
        load_idx(tmp_path)
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 5, 28, 28)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + b"\x00" * 100)
    with pytest.raises(automl.DataError, match="truncated or corrupt"):
        load_idx(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", mnist["x_train"][:6], compress=False)
    with pytest.raises(automl.DataError, match="6 images but .* 5 labels"):
        load_idx(tmp_path)
    with pytest.raises(automl.DataError, match="no test"):
        load_idx(tmp_path, split="test")


@pytest.mark.slow  # a subprocess, a browser or a server
def test_import_stays_light():
    code = "import sys, automl, automl_vision.idx; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- recognising and reading inputs -------------------------------------------------------------
def test_choose_task_by_input(tmp_path, mnist):
    registry = load_registry()
    x, y = mnist["x_train"][:20], mnist["y_train"][:20]
    assert choose_task(registry, (x, y), None, None).name == "vision"
    assert choose_task(registry, x, y, None).name == "vision"
    assert choose_task(registry, (x[..., None], y), None, None).name == "vision"
    assert choose_task(registry, (x.reshape(20, -1), y), None, None).name == "tabular"
    folder = make_folder(tmp_path / "imgs", {"a": 2, "b": 2})
    assert choose_task(registry, str(folder), None, None).name == "vision"
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x[:, None]), torch.as_tensor(y))
    assert choose_task(registry, dataset, None, None).name == "vision"


def test_three_layouts_and_floats_give_the_same_array(mnist):
    rgb = np.stack([mnist["x_train"][:8]] * 3, axis=-1)  # (N,H,W,3)
    nhwc = inputs.array_to_nchw(rgb)
    nchw = inputs.array_to_nchw(np.moveaxis(rgb, -1, 1))
    assert nhwc.shape == nchw.shape == (8, 3, 28, 28) and np.array_equal(nhwc, nchw)
    assert inputs.array_to_nchw(mnist["x_train"][:8]).shape == (8, 1, 28, 28)
    as_float = inputs.to_uint8(mnist["x_train"][:8] / 255.0)
    assert np.array_equal(as_float, mnist["x_train"][:8])
    with pytest.raises(automl.DataError, match="Normalize"):
        inputs.to_uint8(np.array([[-1.0, 2.0]]))


def test_folder_mixed_sizes_and_modes(tmp_path):
    root = make_folder(tmp_path / "imgs", {"cat": 4, "dog": 3}, size=(12, 12), mode="RGB")
    Image.new("L", (20, 10), 128).save(root / "dog" / "wide.png")  # gray, other size
    (root / "dog" / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning, match="ignored 1 file"):
        data = VisionTask().adapt(str(root))
    assert data.spec.input_shape == (3, 12, 12)  # the most common size; RGB wins
    assert data.summary["resized_images"] == 1 and data.summary["source"] == "folder"
    assert data.target.classes == ["cat", "dog"]
    with pytest.warns(UserWarning, match="not images"):
        sized = VisionTask().adapt(str(root), image_size=8)
    assert sized.spec.input_shape == (3, 8, 8)
    assert inputs.choose_size([(400, 300)] * 3 + [(10, 10)]) == (128, 96)


def test_dataset_of_pil_images_and_tensor_labels():
    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            img = Image.fromarray(np.full((10, 10), 20 * i, dtype=np.uint8))
            return img, torch.tensor(i % 2)

    data = VisionTask().adapt(Pairs())
    assert data.spec.input_shape == (1, 10, 10) and data.problem_type == "binary"
    assert data.x_train.dtype == np.uint8 and data.n_train + data.n_valid == 12


# -- augmentation -------------------------------------------------------------------------------
def _model(params):
    spec = DataSpec((1, 8, 8), 2, "binary", {"mean": [0.0], "std": [1.0]})
    return ImageModel(torch.nn.Flatten(), spec, params)


def test_augmentation_on_and_off():
    x = torch.zeros((64, 1, 8, 8), dtype=torch.uint8)
    x[:, :, :, :2] = 255  # a bar on the left
    plain = _model({"aug.crop_pad": 0, "aug.flip": False})
    assert torch.equal(plain.train()(x), plain.eval()(x))  # no augmentation configured
    flipping = _model({"aug.flip": True})
    out = flipping.train()(x).view(64, 8, 8)
    assert (out[:, :, -1] == 1).any() and (out[:, :, 0] == 1).any()  # some mirrored, some not
    assert torch.equal(flipping.eval()(x), plain.eval()(x))  # never at predict time
    shifted = _model({"aug.crop_pad": 2, "aug.rotate": 10, "aug.scale": 0.1}).train()(x)
    assert shifted.shape == (64, 64) and not torch.equal(shifted, plain.eval()(x))
    assert default_augmentation(1, 28)["aug.flip"] is False  # digits: no mirror images
    assert default_augmentation(3, 32)["aug.flip"] is True


def test_search_space_has_schedule_smoothing_and_augmentation(mnist):
    import optuna

    data = VisionTask().adapt((mnist["x_train"][:60], mnist["y_train"][:60]))
    study = optuna.create_study()
    trial = study.ask()
    ConvNetFamily().suggest(trial, data)
    assert {"lr_schedule", "label_smoothing", "aug.flip", "aug.crop_pad"} <= set(trial.params)
    assert data.spec.extra["mean"][0] == pytest.approx(0.13, abs=0.03)


# -- bad input: each a DataError ----------------------------------------------------------------
def test_bad_count_mismatch(mnist):
    with pytest.raises(automl.DataError, match="20 images but 19 labels"):
        automl.fit((mnist["x_train"][:20], mnist["y_train"][:19]), storage=":memory:")


def test_bad_empty_class_folder(tmp_path):
    root = make_folder(tmp_path / "imgs", {"a": 3, "b": 3})
    (root / "empty_class").mkdir()
    with pytest.raises(automl.DataError, match="empty_class"):
        automl.fit(str(root), storage=":memory:")


def test_bad_corrupt_file_named_or_skipped_with_count(tmp_path):
    root = make_folder(tmp_path / "imgs", {"a": 4, "b": 4})
    (root / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(automl.DataError, match=r"1 image file.*b/broken\.png"):
        automl.fit(str(root), storage=":memory:")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable.*broken\.png"):
        data = VisionTask().adapt(str(root), bad_images="skip")
    assert data.n_train + data.n_valid == 8 and len(data.summary["skipped_files"]) == 1


def test_bad_fewer_than_two_classes(tmp_path, mnist):
    with pytest.raises(automl.DataError, match="one class only"):
        automl.fit((mnist["x_train"][:10], np.zeros(10, dtype=int)), storage=":memory:")
    root = make_folder(tmp_path / "imgs", {"only": 4})
    with pytest.raises(automl.DataError, match="one class only"):
        automl.fit(str(root), storage=":memory:")


def test_bad_float_labels(mnist):
    y = mnist["y_train"][:20] + 0.5
    with pytest.raises(automl.DataError, match="integers or strings"):
        automl.fit((mnist["x_train"][:20], y), storage=":memory:")
    with pytest.raises(automl.DataError, match="integers or strings"):
        automl.fit((mnist["x_train"][:2], [1, None]), storage=":memory:")
