"""The report's numbers agree with each other (found by using it as a new user would): every
validation score says what it was measured on, a SHAP waterfall ends at the prediction it
explains, epochs the time budget cut are not counted as savings, and explained rows show the
values as given."""

from __future__ import annotations

import html
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import automl
from automl.explain import ExplainBounds, explain
from automl.report import render_report, sections
from automl.report.figures import waterfall_steps
from automl.report.sections.pruning import pruning_summary
from tests import DATA

FIT = {"storage": ":memory:", "verbose": False, "report": False, "seed": 0}
BOUNDS = ExplainBounds(seconds=math.inf, rows=20, lime_samples=200, gradient_samples=20)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _text(page: str) -> str:
    """The page's text, tags and repeated spaces gone, entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# -- scores say what they are --------------------------------------------------------------------
def test_each_validation_score_says_what_it_was_measured_on(iris_frame):
    result = automl.fit(iris_frame, target="target", models=["linear"], n_trials=4, **FIT)
    assert "5-fold" in result.summary["validation"]  # a small table: cross-validated
    page = _text(render_report(result, explain=False))
    origin = sections.score_origin(result)
    header = sections.score(result.valid_score)
    assert f"accuracy in the search {header} on {origin}" in page
    assert f"measured on {origin}" in page
    assert "Each trial's accuracy is measured on 5-fold cross-validation" in page
    held_out = re.search(r"Held-out metrics on the (\d+) validation rows", page)
    assert held_out and int(held_out.group(1)) == len(result.holdout[1])
    here = re.search(r"accuracy (\d\.\d{4}) balanced accuracy", page).group(1)
    if here != header:  # another number on other rows: the page says which rows
        assert f"The accuracy on these {held_out.group(1)} rows is {here}" in page
        assert f"is measured on {origin}: other rows, so another number" in page
    else:
        assert f"The accuracy on these rows, {here}, is the search's score" in page


def test_score_origin_names_ensembles_and_folds():
    base = {"train_rows": 400, "valid_rows": 100}
    cv = SimpleNamespace(
        summary={**base, "validation": "5-fold cross-validation over train+valid (500 rows)"},
        members=[1, 2],
        study=None,
        best_trial=None,
    )
    assert sections.score_origin(cv) == (
        "the ensemble's out-of-fold outputs over all 500 rows, on which it was chosen"
    )
    holdout = SimpleNamespace(**{**vars(cv), "summary": {**base, "validation": "holdout"}})
    assert "on the 100 validation rows, on which it was chosen" in sections.score_origin(holdout)
    single = SimpleNamespace(**{**vars(holdout), "members": [1]})
    assert sections.score_origin(single) == "the 100 validation rows"


# -- a waterfall ends at its prediction -----------------------------------------------------------
def test_waterfall_steps_end_at_the_prediction():
    values = np.array([3.0, -1.0, 0.5, 0.25, 0.1])
    names = [f"f{i}" for i in range(5)]
    labels, steps = waterfall_steps(values, 10.0, names, names, top=3, prediction=11.0)
    assert labels[-2:] == ["2 other features", "approximation gap"]
    assert 10.0 + sum(steps) == pytest.approx(11.0) and steps[-1] == pytest.approx(-1.85)
    labels, steps = waterfall_steps(values, 10.0, names, names, top=5, prediction=12.85)
    assert "approximation gap" not in labels and 10.0 + sum(steps) == pytest.approx(12.85)


def test_a_regression_mlp_waterfall_says_its_gap(diabetes):
    x, y = diabetes
    result = automl.fit((x, y), models=["mlp"], n_trials=1, max_epochs=5, cv_folds=0, **FIT)
    exp = explain(result, method="shap", seconds=math.inf, rows=10, gradient_samples=20)
    output = result.predictor.output(result.holdout[0][:10])
    np.testing.assert_allclose(exp.predictions, output)  # the model's, not base + sum
    gaps = exp.predictions - (exp.base_values + exp.values.sum(axis=1))
    assert np.abs(gaps).max() > 1e-3  # expected gradients are sampled
    page = _text(render_report(result, bounds=BOUNDS))
    notes = re.findall(
        r"The SHAP values of this row add up to ([-\d.,]+), the model's output is "
        r"([-\d.,]+): the explainer's approximation error",
        page,
    )
    assert notes, "no waterfall says its gap"
    predicted = re.findall(r"Held-out row \d+: predicted ([-\d.,]+), true", page)
    assert {out for _, out in notes} <= set(predicted)  # it ends at the printed prediction


# -- epochs the budget cut are not savings ------------------------------------------------------
def _trial(number, epochs, state="complete", stopped_by="max_epochs"):
    return {
        "number": number,
        "model": "mlp",
        "state": state,
        "value": 0.5,
        "last": 0.5,
        "epochs": epochs,
        "by_epoch": True,
        "stopped_by": stopped_by,
    }


def test_pruning_counts_no_budget_cut_epochs_as_saved():
    study = SimpleNamespace(user_attrs={"max_epochs": 15}, pruner=None)
    cut = pruning_summary(study, [_trial(0, 1, stopped_by="time_budget")])
    assert "saved by pruning" not in cut["text"] and "%" not in cut["text"]
    assert "nothing can be credited to pruning or early stopping" in cut["text"]
    assert "not counted: epochs a budget cuts are not savings" in cut["text"]
    mixed = pruning_summary(
        study,
        [_trial(0, 15), _trial(1, 3, "pruned", None), _trial(2, 2, stopped_by="time_budget")],
    )
    assert (
        "ran 18 epochs where full runs of 15 epochs would have taken 30: 40% saved"
        in (mixed["text"])
    )
    assert ("stopped by the time budget", "1") in mixed["facts"]


def test_a_one_epoch_run_the_budget_cut_claims_no_saving():
    with np.load(DATA / "mnist_sample.npz") as f:
        x, y = f["x_train"][:600], f["y_train"][:600]
    result = automl.fit((x, y), models=["convnet"], time_budget=0.5, **FIT)
    trial = result.study.trials[0]
    assert trial.user_attrs["stopped_by"] == "time_budget"
    text = sections.search_section(result)["pruning"]["text"]
    assert "saved by pruning" not in text and "not counted" in text


# -- values as given ----------------------------------------------------------------------------
def test_explained_rows_show_the_raw_values():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "parch": rng.choice([0, 0, 0, 1, 2], n),
            "age": np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 80, n).astype(float)),
            "sex": rng.choice(["female", "male"], n),
        }
    )
    frame["survived"] = (frame["sex"] == "female") ^ (rng.random(n) < 0.2)
    result = automl.fit(
        frame, target="survived", models=["mlp"], n_trials=1, max_epochs=2, cv_folds=0, **FIT
    )
    raw = result.holdout_raw
    assert len(raw) == len(result.holdout[1])
    exp = explain(result, method="shap", seconds=math.inf, rows=30, gradient_samples=10)
    assert exp.display["parch"].tolist() == [str(v) for v in raw["parch"][:30]]
    assert exp.display["age"].tolist() == [
        "missing" if np.isnan(v) else f"{v:g}" for v in raw["age"][:30]
    ]
    assert "-0" not in exp.display["parch"].tolist()
    given = explain(result, raw.iloc[5:8], method="lime", seconds=math.inf, lime_samples=100)
    assert given.display["sex"].tolist() == raw["sex"][5:8].tolist()
    page = render_report(result, bounds=BOUNDS)
    assert not re.search(r"<td>-0</td>", page)
