"""Explanations of image classifiers: one attribution per pixel, on the image as the model sees
it (resized to the training size).

SHAP: expected gradients (the estimate of ``shap.GradientExplainer``) of the explained class's
probability, on the torch model, channels summed. It costs one forward and backward pass per
sample (100 a row by default) whatever the image size, where a masking explainer
(``shap.Explainer`` with an image masker) needs thousands of forward passes for a map of useful
resolution; its values add up, up to sampling error, to the probability minus its mean over
the background images. shap's explainer takes the images one at a time: with six busy
processes on two cores, 62 ms an MNIST image at 10 samples, so a 5 s allowance explained 13
images; the samples of several images go through the network together here
(``_expected_gradients``). The explained class is each image's predicted class. An ensemble
is explained member by member and the maps averaged with the ensemble's weights, every member
explaining the ensemble's class.
LIME: ``lime_image.LimeImageExplainer`` on SLIC superpixels (scikit-image), each switched off
by setting its pixels to the training split's channel mean, on the ensemble's combined output;
a pixel's LIME value is its superpixel's weight.

Faithfulness: the deletion check sets a row's top 10% pixels (or random ones) to the channel
mean (``automl.faithfulness``), on the first ``DELETION_IMAGES`` images explained.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from typing import Any

import numpy as np

from automl.plugin import (
    Drawing,
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    LimeRow,
    explained_class,
    lime_row,
    lime_rows,
    output_label,
    run_chunks,
    sample_rows,
    scored_rows,
)

GRADIENT_BACKGROUND = 100  # the shap authors' advice for GradientExplainer
CHUNK = 8  # images per SHAP step between deadline checks
MAX_SAMPLE_VALUES = 1 << 22  # input values (of all samples) in one forward and backward pass
DELETION_SHARE = 0.10  # of the pixels
# the deletion check runs on the first this many explained images (the example images first):
# seven forward passes an image, it took 0.9 s for 194 images after SHAP's deadline, which
# ran a 5 s allowance to 5.6 s on an idle machine
DELETION_IMAGES = 50
PIXELS_PER_SUPERPIXEL = 20


class VisionExplainer(Explainer):
    """SHAP (expected gradients) and LIME (superpixels) for the vision task's models."""

    unit = "image"
    examples = 6
    about = (
        "Each image is explained at the size the model sees (its training size), for the class "
        "it predicts: SHAP as expected gradients of that class's probability per pixel "
        "(channels summed), LIME as the weights of a linear model over superpixels, each "
        "switched off by setting it to the training images' mean colour."
    )

    def prepare(self, result: Any) -> None:
        """Load what the pictures use before the allowance is shared (``warm_up``): a cold
        first figure, timed as the drawing's probe, took 1.9-2.2 s at load 5 when the pictures
        were matplotlib figures, and left SHAP one image."""
        from automl_vision.explain_figures import warm_up

        warm_up()

    def explain(
        self,
        result: Any,
        x: np.ndarray,
        *,
        method: str,
        background: np.ndarray,
        bounds: ExplainBounds,
        deadline: float,
    ) -> Explanation:
        started = time.monotonic()
        x = np.asarray(x)
        if x.ndim != 4 or len(x) == 0:
            raise ExplainError(f"expected model-ready images (N, C, H, W); got shape {x.shape}")
        output = result.predictor.output(x)
        # the deletion check after the method scores ``scored_rows`` images, at the pace of the
        # predictions above: the method stops that much earlier (after it, SHAP on 75 images
        # ran 0.8 s past its deadline beside six busy processes)
        per_image = (time.monotonic() - started) / len(x)
        deadline -= per_image * scored_rows(min(len(x), DELETION_IMAGES))
        classes = explained_class(output, result.problem_type, predicted=True)
        notes: list[str] = []
        segments = local_fit = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "shap":
                values, base, algorithm = _shap(
                    result, x, background, classes, bounds, deadline, notes
                )
            elif method == "lime":
                values, base, local_fit, segments = _lime(
                    result, x, classes, bounds, deadline, notes
                )
                algorithm = "LimeImageExplainer (SLIC superpixels)"
            else:
                raise ExplainError(f"unknown method {method!r}; the vision task knows shap, lime")
        n, (h, w) = len(values), x.shape[2:]
        predictions = output[np.arange(n), classes[:n]]
        share = bounds.deletion_share or DELETION_SHARE
        checked = min(n, DELETION_IMAGES)
        deletion = _deletion(
            result, x[:checked], values[:checked], classes[:checked], share, bounds.seed
        )
        notes.append(deletion.summary(method.upper()))
        return Explanation(
            method=method,
            algorithm=algorithm,
            feature_names=[f"pixel ({r},{c})" for r in range(h) for c in range(w)],
            values=values,
            base_values=np.asarray(base, dtype=np.float64),
            predictions=np.asarray(predictions, dtype=np.float64),
            output=[output_label(result, int(c)) for c in classes[:n]],
            output_space="probability",
            rows=np.arange(n),
            local_fit=local_fit,
            notes=notes,
            seconds=time.monotonic() - started,
            segments=segments,
            deletion=deletion,
        )

    def figure_seconds(self, result: Any, x: np.ndarray) -> float | None:
        """One example picture (the image, a SHAP map, 16 superpixels outlined) of ``x[0]``'s
        size, timed."""
        from automl_vision.explain_figures import stand_in_seconds

        return stand_in_seconds(np.asarray(x[:1]))

    def draw(self, result, x, shap, lime, examples) -> Drawing:
        from automl_vision.explain_figures import drawing

        return drawing(result, np.asarray(x), shap, lime, examples)


# -- SHAP -----------------------------------------------------------------------------------------
def _members(result: Any) -> list[tuple[Any, float, str]]:
    members = getattr(result, "members", None)
    if not members:
        return [(result.predictor, 1.0, result.model_name)]
    total = sum(float(m.weight) for m in members)
    return [(m.predictor, float(m.weight) / total, m.family.name) for m in members]


def _module(predictor: Any, name: str) -> Any:
    module = getattr(getattr(predictor, "inner", predictor), "module", None)
    if module is None:
        raise ExplainError(
            f"SHAP for images runs expected gradients on torch models; member {name!r} is "
            f"{type(predictor).__name__}, which has none"
        )
    return module


def _expected_gradients(module, x, bg, classes, samples: int, rng) -> np.ndarray:
    """Expected gradients of each image's class probability (``classes[i]`` for ``x[i]``), as
    shap's GradientExplainer computes them (``local_smoothing=0``): for each of ``samples``
    draws, a background image ``r`` and a point ``t`` on [0, 1], the gradient at
    ``r + t (x - r)`` times ``x - r``, averaged. shap draws an image's samples and takes their
    gradients one image at a time (a forward and backward pass per image, and a dozen small
    tensor copies per sample); here the samples of ``x``'s images go through the network
    together, ``MAX_SAMPLE_VALUES`` input values at a time."""
    import torch

    n, per_image = len(x), int(np.prod(x.shape[1:]))
    step = max(1, MAX_SAMPLE_VALUES // max(1, samples * per_image))
    out = np.zeros(x.shape, dtype=np.float64)
    for start in range(0, n, step):
        chunk = x[start : start + step]
        m = len(chunk)
        picks = torch.as_tensor(rng.integers(0, len(bg), size=(m, samples)), device=x.device)
        t = rng.uniform(size=(m, samples) + (1,) * (x.ndim - 1))
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        reference = bg[picks]  # (m, samples, C, H, W)
        delta = chunk[:, None] - reference
        inputs = (reference + t * delta).reshape(m * samples, *x.shape[1:]).requires_grad_(True)
        which = torch.as_tensor(np.repeat(classes[start : start + m], samples), device=x.device)
        with torch.enable_grad():
            probability = module(inputs).float().softmax(dim=1)
            chosen = probability[torch.arange(m * samples, device=x.device), which]
            (grads,) = torch.autograd.grad(chosen.sum(), inputs)
        phi = (grads.reshape(delta.shape) * delta).mean(dim=1)
        out[start : start + m] = phi.detach().cpu().double().numpy()
    return out


def _shap(result, x, background, classes, bounds, deadline, notes):
    import torch

    members = [(p, w, n, _module(p, n)) for p, w, n in _members(result)]
    bg = sample_rows(background, min(bounds.background, GRADIENT_BACKGROUND), bounds.seed)
    rng = np.random.default_rng(bounds.seed)
    prepared: dict[int, tuple[Any, np.ndarray]] = {}

    def member(m: int) -> tuple[Any, np.ndarray]:
        """The member's background images on its device, and its class probabilities' means
        over them (the base values)."""
        if m not in prepared:
            module = members[m][3].eval()
            device = next(module.parameters()).device
            bg_t = torch.as_tensor(bg / 255.0, dtype=torch.float32, device=device)
            with torch.no_grad():
                means = module(bg_t).float().softmax(dim=1).mean(dim=0).cpu().double().numpy()
            prepared[m] = (bg_t, means)
        return prepared[m]

    samples = [bounds.gradient_samples]  # expected-gradient samples an image, sized below

    def run(start: int, stop: int):
        maps = np.zeros((stop - start, *x.shape[2:]))
        base = np.zeros(stop - start)
        for m, (_, weight, _, module) in enumerate(members):
            bg_t, means = member(m)
            device = bg_t.device
            chunk = torch.as_tensor(x[start:stop] / 255.0, dtype=torch.float32, device=device)
            phi = _expected_gradients(module, chunk, bg_t, classes[start:stop], samples[0], rng)
            maps += weight * phi.sum(axis=1)
            base += weight * means[classes[start:stop]]
        return maps.reshape(len(maps), -1), base

    # a timed probe (one image, the fewest samples; kept only if nothing more fits) sizes the
    # samples an image
    samples[0] = min(MIN_GRADIENT_SAMPLES, bounds.gradient_samples)
    started = time.monotonic()
    probe, _ = run_chunks(run, 1, deadline, 1, notes, "expected gradients")
    per_sample = (time.monotonic() - started) / samples[0]
    probed, samples[0] = samples[0], bounds.gradient_samples
    pieces = _sized(run, samples, per_sample, len(x), bounds, deadline, notes)
    if not pieces:  # nothing more fitted: the probe's image is all there is
        pieces, samples[0] = probe, probed
    algorithm = (
        f"expected gradients (shap's GradientExplainer estimate, the images' samples batched "
        f"together; {len(bg)} background images, {samples[0]} samples an image)"
    )
    if len(members) > 1:
        names = ", ".join(f"{n} x{w:.2f}" for _, w, n, _ in members)
        notes.append(
            f"ensemble: each member's expected gradients for the ensemble's class, averaged with "
            f"the ensemble weights ({names})"
        )
        algorithm += ", per ensemble member, weighted"
    notes.append(
        "SHAP values add up to the explained probability minus its mean over the background "
        "images, up to the sampling error of expected gradients"
    )
    values = np.concatenate([p[0] for p in pieces])
    return values, np.concatenate([p[1] for p in pieces]), algorithm


MIN_GRADIENT_SAMPLES = 10  # fewer samples than this make expected gradients mostly noise
FILL = 0.8  # the minimum images may fill this share of the time left at the first chunk's pace


def _sized(run, samples, per_sample, n, bounds, deadline, notes) -> list:  # noqa: PLR0913
    """The images in chunks until the deadline (``run_chunks``, at the probe's pace), with
    fewer expected-gradient samples an image (not under ``MIN_GRADIENT_SAMPLES``) when the
    probe's pace says that ``bounds.min_rows`` images would not fit otherwise."""
    wanted = min(bounds.min_rows, n)
    fit = FILL * (deadline - time.monotonic()) / (wanted * max(per_sample, 1e-9))
    if fit < samples[0]:  # (no clock: deadline inf, the samples asked for)
        samples[0] = max(MIN_GRADIENT_SAMPLES, int(fit))
        notes.append(
            f"expected gradients: {samples[0]} (not {bounds.gradient_samples}) samples an image, "
            f"so that {wanted} images fit the time budget"
        )
    what = "expected gradients"
    pieces, _ = run_chunks(run, n, deadline, CHUNK, notes, what, pace=per_sample * samples[0])
    return pieces


# -- LIME -----------------------------------------------------------------------------------------
def channel_mean(result: Any, channels: int) -> np.ndarray:
    """The training split's mean colour, per channel on the [0, 1] scale (0.5 when unknown)."""
    mean = (getattr(result.spec, "extra", None) or {}).get("mean") or [0.5] * channels
    return np.asarray(mean, dtype=np.float64)[:channels]


def superpixels(image: np.ndarray) -> np.ndarray:
    """SLIC superpixels of an (H, W, 3) image on the [0, 1] scale: a region id per pixel,
    about ``PIXELS_PER_SUPERPIXEL`` pixels a region."""
    from skimage.segmentation import slic

    h, w = image.shape[:2]
    n = int(np.clip(h * w // PIXELS_PER_SUPERPIXEL, 8, 100))
    return slic(image, n_segments=n, compactness=10, sigma=1.0, start_label=0)


def _lime(result, x, classes, bounds, deadline, notes):
    from lime.lime_image import LimeImageExplainer

    n, c, h, w = x.shape
    mean = channel_mean(result, c)
    hide = np.resize(mean, 3) if c == 1 else mean

    def classify(batch: np.ndarray) -> np.ndarray:  # (m, H, W, 3) on [0, 1]
        z = batch[..., :1] if c == 1 else batch
        return result.predictor.output(np.ascontiguousarray(z.transpose(0, 3, 1, 2), np.float32))

    explainer = LimeImageExplainer(random_state=bounds.seed)

    def explain_row(i: int, samples: int) -> LimeRow:
        image = x[i].transpose(1, 2, 0).astype(np.float64) / 255.0
        image = np.repeat(image, 3, axis=2) if c == 1 else image
        label = int(classes[i])
        with contextlib.redirect_stderr(io.StringIO()):  # lime's progress bar
            exp = explainer.explain_instance(
                image,
                classify,
                labels=(label,),
                top_labels=None,
                hide_color=hide,
                num_samples=samples,
                batch_size=256,
                segmentation_fn=superpixels,
                random_seed=bounds.seed,
            )
        return lime_row(exp, label, int(exp.segments.max()) + 1)  # a weight per superpixel

    rows = lime_rows(
        explain_row,
        len(x),
        deadline,
        notes,
        samples=bounds.lime_samples,
        minimum=bounds.min_examples,
    )
    notes.append(
        f"LIME: up to {bounds.lime_samples} perturbed images each, SLIC superpixels of about "
        f"{PIXELS_PER_SUPERPIXEL} pixels switched off to the mean colour; a pixel's value is "
        "its superpixel's weight"
    )
    segments = [r.explanation.segments for r in rows]
    return (
        np.stack([r.weights[s].reshape(-1) for r, s in zip(rows, segments, strict=True)]),
        np.array([r.intercept for r in rows], dtype=np.float64),
        np.array([r.score for r in rows], dtype=np.float64),
        np.stack(segments),
    )


# -- faithfulness ---------------------------------------------------------------------------------
def _deletion(result, x, values, classes, share, seed):
    from automl.plugin import deletion_check

    n, c, h, w = x.shape
    fill = np.rint(channel_mean(result, c) * 255).astype(np.uint8)

    def remove(i: int, pixels: np.ndarray) -> np.ndarray:
        image = x[i].copy().reshape(c, h * w)
        image[:, pixels] = fill[:, None]
        return image.reshape(c, h, w)

    def score(rows: list[np.ndarray], which: np.ndarray) -> np.ndarray:
        out = result.predictor.output(np.stack(rows))
        return out[np.arange(len(rows)), classes[which]]

    return deletion_check(list(values), remove, score, share=share, seed=seed)
