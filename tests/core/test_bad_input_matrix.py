"""Bad input across the three modalities: each case raises automl.DataError or another
ValueError naming the problem, before any training, and a study already in storage is left
exactly as it was."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

import automl

URL = "sqlite:///studies/studies.db"


@pytest.fixture()
def kept_study(iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        study_name="keep",
        n_trials=2,
        models=["linear"],
        verbose=False,
        report=False,
    )
    before = [(t.number, t.state.name, t.value) for t in result.study.trials]
    yield result
    after = [
        (t.number, t.state.name, t.value)
        for t in optuna.load_study(study_name="keep", storage=URL).trials
    ]
    assert after == before, "a failed call touched the stored study"


def _corrupt_image_folder(root):
    from PIL import Image

    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(
                root / label / f"{i}.png"
            )
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    return str(root)


CASES = {
    "empty table": (lambda f, p: (f.iloc[:0], "target"), {}, "empty"),
    "NaN target": (
        lambda f, p: (f.assign(target=f.target.where(f.index != 5)), "target"),
        {},
        "missing or infinite",
    ),
    "inf target": (
        lambda f, p: (f.assign(y=np.where(f.index == 3, np.inf, 1.0) + f.index), "y"),
        {},
        "missing or infinite",
    ),
    "one class": (lambda f, p: (f.assign(target="setosa"), "target"), {}, "one class only"),
    "mismatched lengths": (
        lambda f, p: ((np.zeros((10, 3)), np.zeros(8)), None),
        {},
        "X has 10 rows but y has 8",
    ),
    "missing target column": (lambda f, p: (f, "species"), {}, "'species' is not in the data"),
    "unknown task name": (lambda f, p: (f, "target"), {"task": "audio"}, "unknown task 'audio'"),
    "unknown plugin": (lambda f, p: (f, "target"), {"plugins": ["nope"]}, "unknown plugin"),
    "budget <= 0": (lambda f, p: (f, "target"), {"time_budget": -1}, "time_budget must be"),
    "unwritable storage": (
        lambda f, p: (f, "target"),
        {"storage": "sqlite:////no/such/dir/s.db"},
        "not writable",
    ),
    "corrupt image file": (
        lambda f, p: (_corrupt_image_folder(p / "imgs"), None),
        {},
        "broken.png",
    ),
    "non-string text": (
        lambda f, p: ((["a good film", 3, "a bad film", "fine film"] * 3, [1, 0, 0, 1] * 3), None),
        {"task": "text"},
        "string",
    ),
    # found by the red-team pass (issue 17): each a TypeError or a silent result before
    "duplicate column names": (
        lambda f, p: (f.set_axis(["a", "a", "b", "c", "target"], axis=1), "target"),
        {},
        "duplicate column name",
    ),
    "columns 1 and '1'": (
        lambda f, p: (f.set_axis([1, "1", "b", "c", "target"], axis=1), "target"),
        {},
        "duplicate column name",
    ),
    "target as a list": (lambda f, p: (f, ["target"]), {}, "target must name one column"),
    "time_budget as text": (lambda f, p: (f, "target"), {"time_budget": "10"}, "time_budget"),
    "seed -1": (lambda f, p: (f, "target"), {"seed": -1}, "seed must be an integer"),
    "max_epochs 0": (lambda f, p: (f, "target"), {"max_epochs": 0}, "max_epochs must be"),
    "device tpu": (lambda f, p: (f, "target"), {"device": "tpu"}, "device='tpu'"),
    "texts as a generator": (
        lambda f, p: (((t for t in ["good film", "bad film"] * 6), [1, 0] * 6), None),
        {},
        "one-pass generator",
    ),
    "pair and target": (
        lambda f, p: ((f.drop(columns="target"), f.target), "target"),
        {},
        "not both",
    ),
    "y index unlike X's": (
        lambda f, p: ((f.drop(columns="target"), f.target.set_axis(f.index + 1000)), None),
        {},
        "different row indexes",
    ),
    "labels 1 and '1'": (
        lambda f, p: (f.assign(target=[1, "1", 2] * 50), "target"),
        {},
        "mix types",
    ),
    "date target": (
        lambda f, p: (f.assign(when=pd.date_range("2020-01-01", periods=150)), "when"),
        {},
        "dates or times",
    ),
    "constant regression target": (
        lambda f, p: (f.assign(y=5.0), "y"),
        {"problem_type": "regression"},
        "constant",
    ),
    "regression target of 1e37": (
        lambda f, p: (f.assign(y=np.linspace(0, 1e37, 150)), "y"),
        {},
        "rescale it",
    ),
    "zero-size images": (
        lambda f, p: ((np.zeros((20, 0, 0), dtype=np.uint8), [0, 1] * 10), None),
        {},
        "no pixels",
    ),
    "study name as a path": (
        lambda f, p: (f, "target"),
        {"study_name": "../../escaped"},
        "study_name",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_fit_input_is_refused_before_training(case, kept_study, iris_frame, tmp_path):
    make, options, message = CASES[case]
    data, target = make(iris_frame, tmp_path)
    options = {"storage": kept_study.storage, "study_name": "keep", **options}
    with pytest.raises(ValueError, match=message):
        automl.fit(data, target, n_trials=1, verbose=False, **options)
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x.drop(columns=["petal length (cm)"]), r"lacks column\(s\)"),
        (lambda x: x.rename(columns={"sepal width (cm)": "sepal_width"}), "sepal width"),
        (lambda x: x.astype(object).assign(**{"petal width (cm)": "wide"}), "numeric"),
        (lambda x: x.to_numpy()[:, :2], "X has 2 features"),
    ],
)
def test_bad_predict_input_names_the_column(change, message, kept_study, iris_frame):
    x = iris_frame.drop(columns="target")
    with pytest.raises(automl.DataError, match=message):
        kept_study.predict(change(x))


def test_cuda_without_a_gpu_is_refused_before_the_data_is_read(iris_frame):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(automl.ParameterError, match="device='cuda'"):
        automl.fit(iris_frame, target="target", device="cuda", n_trials=1, storage=":memory:")


def test_a_study_definition_named_like_a_path_writes_nothing_outside(tmp_path):
    from automl import studyfile

    toml = tmp_path / "bad.toml"
    toml.write_text('[study]\nname = "../../escaped"\ndata = "x.csv"\n')
    with pytest.raises(automl.ParameterError, match="study_name"):
        studyfile.execute(studyfile.read(str(toml)), verbose=False)
    assert not (tmp_path.parent / "escaped").exists()


def test_models_as_one_name_is_that_family(iris_frame):
    result = automl.fit(
        iris_frame,
        target="target",
        models="linear",
        n_trials=2,
        storage=":memory:",
        verbose=False,
    )
    assert {t.params["model"] for t in result.study.trials} == {"linear"}


def test_predict_on_no_rows_gives_no_predictions(kept_study, iris_frame):
    empty = iris_frame.drop(columns="target").iloc[:0]
    assert kept_study.predict(empty).shape == (0,)
    assert kept_study.predict_proba(empty).shape == (0, 3)


def test_score_with_fewer_labels_than_rows_names_both(kept_study, iris_frame):
    x = iris_frame.drop(columns="target").iloc[:3]
    with pytest.raises(automl.DataError, match="X has 3 rows but y has 2"):
        kept_study.score(x, iris_frame.target.iloc[:2])


def test_float_images_keep_their_training_scale_at_predict(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 40)
    x = rng.integers(0, 60, (80, 10, 10)).astype(np.float32)  # floats on the 0..255 scale
    x[y == 1, :5] += 180
    result = automl.fit(
        (x, y),
        models=["pixel_mlp"],
        n_trials=1,
        max_epochs=2,
        storage=":memory:",
        verbose=False,
    )
    assert result.features.float_scale == "byte"
    dark = (x[:10] > 200).astype(np.float32)  # pixels 0 and 1: still on the 0..255 scale
    as_uint8 = result.predict_proba(dark.astype(np.uint8))
    assert np.allclose(result.predict_proba(dark), as_uint8)  # not multiplied by 255
    loaded = automl.load(result.save(str(tmp_path / "m")))
    assert np.allclose(loaded.predict_proba(dark), as_uint8, atol=1e-6)
    unit = automl.fit(
        (x / 255.0, y),
        models=["pixel_mlp"],
        n_trials=1,
        max_epochs=1,
        storage=":memory:",
        verbose=False,
    )
    with pytest.raises(automl.DataError, match=r"\[0, 1\] scale"):
        unit.predict(x[:5])  # 0..255 floats handed to a model trained on [0, 1] floats


def test_extra_columns_at_predict_time_are_ignored(kept_study, iris_frame):
    x = iris_frame.drop(columns="target")
    extra = x.assign(unused=1.0)
    assert (kept_study.predict(extra) == kept_study.predict(x)).all()
    assert isinstance(kept_study.predict(pd.concat([x, iris_frame.target], axis=1)), np.ndarray)
