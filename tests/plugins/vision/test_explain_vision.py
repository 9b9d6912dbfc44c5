"""Explanations of image models: SHAP (expected gradients) and LIME (superpixels) on a synthetic
set where the class is decided by a bright patch in one quadrant (noise elsewhere), so that where
the explanations should point is known; ensembles; and the image report.

The fitted results are cached for the session (``fitted``) and shared with
tests/core/test_report.py.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest

import automl
from automl.explain import ExplainBounds, explain

SIDE, PATCH = 16, 6
FIT = {"n_trials": 1, "storage": ":memory:", "verbose": False, "report": False, "seed": 0}
REPORT_BOUNDS = ExplainBounds(seconds=math.inf, rows=40, lime_samples=300, gradient_samples=50)
TABLE_WORDS = ("one-hot", "missing indicator", "date parts", "input column", "Missing values")


@pytest.fixture(autouse=True)
def _one_thread():
    """Two busy shared cores: one torch thread avoids oversubscription in these tiny runs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def quadrant_patches(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, classes, masks): class q has a bright PATCH x PATCH square in quadrant q of a
    noisy SIDE x SIDE image; ``masks[q]`` marks that square."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.integers(0, 90, (n, SIDE, SIDE)).astype(np.uint8)
    half, pad = SIDE // 2, (SIDE // 2 - PATCH) // 2
    masks = np.zeros((4, SIDE, SIDE), dtype=bool)
    for q in range(4):
        top, left = (q // 2) * half + pad, (q % 2) * half + pad
        masks[q, top : top + PATCH, left : left + PATCH] = True
    for i in range(n):
        x[i][masks[y[i]]] = rng.integers(200, 256, PATCH * PATCH)
    return x, y, masks


@functools.cache
def fitted(name: str):
    """``patches``: a ConvNet on 400 patch images; ``ensemble``: it and a pixel MLP, weighted."""
    x, y, _ = quadrant_patches(400)
    if name == "patches":
        return automl.fit((x, y), models=["convnet"], max_epochs=3, **FIT)
    if name == "ensemble":
        from automl.ensemble import EnsemblePredictor
        from automl.result import Member

        convnet = fitted("patches")
        mlp = automl.fit((x, y), models=["pixel_mlp"], max_epochs=3, **FIT)
        blend = copy.copy(convnet)
        blend.members = [
            Member(0, convnet.family, convnet.best_params, convnet.predictor, weight=3.0),
            Member(1, mlp.family, mlp.best_params, mlp.predictor, weight=1.0),
        ]
        blend.predictor = EnsemblePredictor([(convnet.predictor, 3.0), (mlp.predictor, 1.0)])
        blend.model_name = "ensemble"
        return blend
    raise KeyError(name)


def _truth(result, rows: np.ndarray) -> np.ndarray:
    return np.asarray(result.holdout[1])[rows]


def test_shap_pixels_of_correct_images_lie_in_the_patch():
    result = fitted("patches")
    _, _, masks = quadrant_patches(1)
    exp = explain(result, method="shap", seconds=math.inf, rows=40, gradient_samples=60)
    assert exp.algorithm.startswith("expected gradients") and exp.output_space == "probability"
    maps = exp.values.reshape(len(exp.rows), SIDE, SIDE)  # one attribution per pixel
    predicted = result.predictor.output(result.holdout[0][exp.rows]).argmax(axis=1)
    assert exp.output == [str(result.classes_[c]) for c in predicted]  # the explained class
    correct = np.flatnonzero(predicted == _truth(result, exp.rows))
    assert len(correct) >= 30
    k = round(0.1 * SIDE * SIDE)  # the top 10% of the pixels
    shares = []
    for i in correct:
        top = np.argsort(-np.abs(maps[i]).ravel())[:k]
        shares.append(masks[_truth(result, [i])[0]].ravel()[top].mean())
    assert np.mean(shares) > 0.75 and np.min(shares) > 0.5, shares
    # expected gradients add up to the probability minus its background mean, approximately
    gap = exp.base_values + exp.values.sum(axis=1) - exp.predictions
    assert np.abs(gap).mean() < 0.1
    assert exp.deletion is not None and exp.deletion.above_random and exp.deletion.significant
    assert exp.deletion.k.tolist() == [k] * len(exp.rows)


def test_lime_top_superpixel_overlaps_the_patch():
    result = fitted("patches")
    _, _, masks = quadrant_patches(1)
    exp = explain(result, method="lime", seconds=math.inf, rows=10, lime_samples=400)
    assert exp.algorithm.startswith("LimeImageExplainer") and exp.segments.shape == (
        10,
        SIDE,
        SIDE,
    )
    predicted = result.predictor.output(result.holdout[0][:10]).argmax(axis=1)
    np.testing.assert_allclose(
        exp.predictions, result.predictor.output(result.holdout[0][:10]).max(axis=1)
    )
    for i in np.flatnonzero(predicted == _truth(result, np.arange(10))):
        segments = exp.segments[i]
        top = segments == segments.ravel()[np.argmax(exp.values[i])]
        assert (top & masks[_truth(result, [i])[0]]).any(), i
        # a pixel's LIME value is its superpixel's weight
        assert len(np.unique(exp.values[i][top.ravel()])) == 1
    assert exp.local_fit is not None and len(exp.local_fit) == 10


def test_an_ensemble_is_explained_member_by_member_for_its_own_class():
    result = fitted("ensemble")
    x = result.holdout[0][:12]
    exp = explain(result, x, method="shap", seconds=math.inf, gradient_samples=60)
    assert "per ensemble member, weighted" in exp.algorithm
    assert any("convnet x0.75" in n and "pixel_mlp x0.25" in n for n in exp.notes)
    ensemble = result.predictor.output(x)
    assert exp.output == [str(result.classes_[c]) for c in ensemble.argmax(axis=1)]
    np.testing.assert_allclose(exp.predictions, ensemble.max(axis=1))
    gap = exp.base_values + exp.values.sum(axis=1) - exp.predictions
    assert np.abs(gap).mean() < 0.1
    lime = explain(result, x[:3], method="lime", seconds=math.inf, lime_samples=300)
    np.testing.assert_allclose(lime.predictions, ensemble[:3].max(axis=1))


def test_the_image_report_shows_pictures_and_no_table_wording(tmp_path):
    from automl.report import write_report

    path = write_report(fitted("patches"), tmp_path / "report.html", bounds=REPORT_BOUNDS)
    page = Path(path).read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert page.count('data-role="example"') == 6
    assert re.search(r"Held-out image \d+: predicted \d \(p = [\d.]+\), true \d", page)
    assert "SHAP: mean |SHAP| map per class" in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) >= 8  # 6 examples + maps
    assert 'data-role="faithfulness"' in page and 'data-role="agreement"' in page
    assert page.count('data-role="row-faithfulness"') == 6
    assert "images explained (global view)" in page and "training images" in page
    for word in TABLE_WORDS:
        assert word not in page, word
    assert "validation rows" not in page and "each row&#39;s" not in page  # images, not rows
    assert "validation images" in page and "deletion check on " in page


def test_expected_gradient_samples_are_sized_so_the_minimum_images_fit():
    """At the probe's pace (10 ms a sample), 50 images of 100 samples would take 50 s: with
    a second left each image gets the fewest samples (10) and the note says why; without a
    clock the samples asked for are kept."""
    import math
    import time

    from automl_vision.explain import MIN_GRADIENT_SAMPLES, _sized

    from automl.explain import ExplainBounds

    calls = []

    def run(start, stop):
        calls.append((start, stop))
        return np.zeros((stop - start, 4)), np.zeros(stop - start)

    bounds = ExplainBounds(min_rows=50, gradient_samples=100)
    notes: list[str] = []
    samples = [100]
    pieces = _sized(run, samples, 0.01, 200, bounds, time.monotonic() + 1.0, notes)
    assert samples == [MIN_GRADIENT_SAMPLES]
    assert any("10 (not 100) samples an image, so that 50 images fit" in n for n in notes)
    assert sum(len(p[1]) for p in pieces) >= 1 and calls[0][0] == 0
    notes, samples = [], [100]
    pieces = _sized(run, samples, 0.01, 20, bounds, math.inf, notes)
    assert samples == [100] and notes == [] and sum(len(p[1]) for p in pieces) == 20


def test_batched_expected_gradients_estimate_what_shaps_gradient_explainer_does():
    """The images' samples go through the network together; the estimate is shap's
    GradientExplainer's (local_smoothing=0): with many samples both converge to the same
    attributions, and they add up to the probability less its background mean."""
    import shap
    import torch
    from automl_vision.explain import _expected_gradients
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)
    ).eval()
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.random((3, 1, 8, 8)), dtype=torch.float32)
    bg = torch.as_tensor(rng.random((20, 1, 8, 8)), dtype=torch.float32)
    classes = np.array([0, 2, 1])
    ours = _expected_gradients(module, x, bg, classes, 4000, np.random.default_rng(1))
    for i, cls in enumerate(classes):

        class Probability(nn.Module):
            def forward(self, z, cls=int(cls)):
                return module(z).softmax(dim=1)[:, cls : cls + 1]

        theirs = shap.GradientExplainer(Probability().eval(), bg, batch_size=500)
        values = np.asarray(theirs.shap_values(x[i : i + 1], nsamples=4000, rseed=0))[..., 0]
        assert np.corrcoef(ours[i].ravel(), values.ravel())[0, 1] > 0.95
        with torch.no_grad():
            gap = module(x[i : i + 1]).softmax(1)[0, cls] - module(bg).softmax(1)[:, cls].mean()
        assert abs(ours[i].sum() - float(gap)) < 0.05 * max(abs(float(gap)), 0.05)


def _png(image) -> np.ndarray:
    """An embedded PNG (``pixels_uri``'s) as an RGB array."""
    import base64
    import io

    from PIL import Image

    data = base64.b64decode(image.src.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_image_pictures_are_drawn_as_pixels_with_shap_colours_and_lime_outlines():
    """The example picture and the class maps are pixels written as PNG (matplotlib's figures
    of them took 3.8-4.5 s of a 5 s allowance beside six busy processes): the image, its SHAP
    map (red for the class, blue against) and LIME's superpixels outlined (red the best,
    blue the worst), side by side; the captions carry the titles and scales."""
    from types import SimpleNamespace

    from automl_vision.explain_figures import BLUE, GAP, RED, drawing

    from automl.explain import Explanation

    side = 8
    image = np.full((1, 1, side, side), 128, dtype=np.uint8)
    shap_map = np.where(np.arange(side) < side // 2, 1.0, -1.0)[None, :].repeat(side, 0)
    quadrant = (np.arange(side)[:, None] >= side // 2) * 2 + (np.arange(side) >= side // 2)
    weights = np.array([0.5, 0.2, -0.1, -0.3])  # quadrants: top left, top right, bottom ...

    def explanation(values, segments=None):
        return Explanation(
            method="m",
            algorithm="a",
            feature_names=[f"p{i}" for i in range(side * side)],
            values=values.reshape(1, -1),
            base_values=np.zeros(1),
            predictions=np.ones(1),
            output=["7"],
            output_space="probability",
            rows=np.array([0]),
            segments=segments,
        )

    shap = explanation(shap_map)
    lime = explanation(weights[quadrant], segments=quadrant[None])
    out = drawing(SimpleNamespace(classes_=["7"]), image, shap, lime, 1)
    ((title, picture, caption),) = out.examples[0]
    assert title == "explained: 7"
    assert caption.startswith("Left: the image") and "Middle: SHAP" in caption
    assert "Right: LIME's 3 superpixels" in caption and "±1 a pixel" in caption
    pixels = _png(picture)
    zoom = pixels.shape[0] // side
    assert pixels.shape == (side * zoom, 3 * side * zoom + 2 * GAP, 3)
    assert picture.width == pixels.shape[1] // 2  # shown at the figures' density
    assert tuple(pixels[zoom, zoom]) == (128, 128, 128)  # the image, as it is
    middle = side * zoom + GAP
    red, blue = pixels[zoom, middle + zoom], pixels[zoom, middle + side * zoom - zoom]
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60
    right = 2 * (side * zoom + GAP)
    edge = side // 2 * zoom  # the quadrants meet here
    assert tuple(pixels[edge - 1, right + zoom]) == RED  # the best superpixel's lower edge
    assert tuple(pixels[edge, right + edge + zoom]) == BLUE  # the worst's upper edge
    assert tuple(pixels[zoom, right + zoom]) == (128, 128, 128)  # inside: the image
    # LIME alone: two panels, and the caption names only them
    ((_, alone, words),) = drawing(SimpleNamespace(classes_=["7"]), image, None, lime, 1).examples[
        0
    ]
    assert _png(alone).shape[1] == 2 * side * zoom + GAP and "Middle" not in words
    # the class maps: one per class, the colour scale in the caption
    ((name, maps, about),) = out.overview
    assert name == "SHAP: mean |SHAP| map per class" and "from 0 (black) to 1" in about
    assert _png(maps).shape[0] > side * zoom // 2


@pytest.mark.parametrize("method", ["shap", "lime"])
def test_each_method_stops_before_its_deadline_by_the_deletion_checks_time(monkeypatch, method):
    """The deletion check after a method scores ``scored_rows`` images at the model's pace:
    the method gets a deadline that much earlier (after it, SHAP on 75 images ran 0.8 s past
    its deadline beside six busy processes). Here the model takes at least 2 ms an image."""
    import time

    from automl_vision import explain as vision_explain

    from automl.faithfulness import scored_rows

    result = copy.copy(fitted("patches"))
    inner = result.predictor

    class Slow:
        def output(self, x):
            time.sleep(0.002 * len(x))
            return inner.output(x)

        def __getattr__(self, name):
            return getattr(inner, name)

    result.predictor = Slow()
    seen = {}

    def method_at(*args):
        seen["deadline"] = args[-2]
        raise RuntimeError("stop here")

    monkeypatch.setattr(vision_explain, f"_{method}", method_at)
    x = np.asarray(result.holdout[0])[:20]
    deadline = time.monotonic() + 100.0
    with pytest.raises(RuntimeError, match="stop here"):
        vision_explain.VisionExplainer().explain(
            result, x, method=method, background=x, bounds=ExplainBounds(), deadline=deadline
        )
    assert seen["deadline"] <= deadline - 0.002 * scored_rows(20)
    assert seen["deadline"] > deadline - 50.0
