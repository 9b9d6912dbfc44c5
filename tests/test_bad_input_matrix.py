"""Bad input across the three modalities: each case raises automl.DataError or another
ValueError naming the problem, before any training, and a study already in storage is left
exactly as it was."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

import automl

URL = "sqlite:///studies/keep/study.db"


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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_fit_input_is_refused_before_training(case, kept_study, iris_frame, tmp_path):
    make, options, message = CASES[case]
    data, target = make(iris_frame, tmp_path)
    options = {"storage": kept_study.storage, **options}
    with pytest.raises(ValueError, match=message):
        automl.fit(data, target, study_name="keep", n_trials=1, verbose=False, **options)


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


def test_extra_columns_at_predict_time_are_ignored(kept_study, iris_frame):
    x = iris_frame.drop(columns="target")
    extra = x.assign(unused=1.0)
    assert (kept_study.predict(extra) == kept_study.predict(x)).all()
    assert isinstance(kept_study.predict(pd.concat([x, iris_frame.target], axis=1)), np.ndarray)
