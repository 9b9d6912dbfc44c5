"""The report's pictures of image explanations: per example image, the image, its SHAP map
overlaid (red for the explained class, blue against) and LIME's top superpixels outlined; and
one mean |SHAP| map per explained class as the global view."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from automl.plugin import Drawing, Explanation

MAX_CLASSES = 10
LIME_TOP = 3  # superpixels outlined for the class


def drawing(
    result: Any, x: np.ndarray, shap: Explanation | None, lime: Explanation | None, examples: int
) -> Drawing:
    """The example figures (one per example image) and the per-class maps."""
    out = Drawing()
    h, w = x.shape[2:]
    for p in range(examples):
        shap_map = _map(shap, p, h, w)
        lime_map = _map(lime, p, h, w)
        if shap_map is None and lime_map is None:
            out.examples.append([])
            continue
        segments = lime.segments[p] if lime_map is not None and lime.segments is not None else None
        label = (shap if shap_map is not None else lime).output[p]
        out.examples.append(
            [(f"explained: {label}", *_example(x[p], shap_map, segments, lime_map, label))]
        )
    if shap is not None and len(shap.rows):
        figure = _class_maps(shap, h, w, [str(c) for c in result.classes_ or []])
        if figure is not None:
            out.overview.append(figure)
    return out


@functools.cache
def warm_up() -> None:
    """Draw one small image figure and throw it away, once a process: matplotlib's first image
    figure in a process costs several times the next ones (its colormaps, the image path)."""
    from automl.plugin import new_figure, to_uri

    fig = new_figure(0.5, 0.5)
    ax = fig.add_subplot()
    _show(ax, np.zeros((1, 4, 4), dtype=np.uint8))
    ax.imshow(_overlay(np.zeros((4, 4)))[0])
    to_uri(fig)


def _map(exp: Explanation | None, p: int, h: int, w: int) -> np.ndarray | None:
    if exp is None or p >= len(exp.rows):
        return None
    return np.asarray(exp.values[p], dtype=np.float64).reshape(h, w)


def _show(ax: Any, image: np.ndarray, alpha: float = 1.0) -> None:
    """An uint8 (C, H, W) image, grey or colour."""
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255, alpha=alpha, interpolation="nearest")
    else:
        ax.imshow(image[:3].transpose(1, 2, 0), alpha=alpha, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _overlay(values: np.ndarray) -> tuple[np.ndarray, float]:
    """RGBA: red where the pixel speaks for the class, blue against, opaque as it is strong."""
    from matplotlib import colormaps

    scale = float(np.percentile(np.abs(values), 99)) or float(np.abs(values).max()) or 1.0
    rgba = colormaps["bwr"](np.clip(0.5 + 0.5 * values / scale, 0, 1))
    rgba[..., 3] = np.clip(np.abs(values) / scale, 0, 1) ** 0.7
    return rgba, scale


def _example(image, shap_map, segments, lime_map, label) -> tuple[Any, str]:
    from automl.plugin import new_figure, to_uri

    panels = 1 + (shap_map is not None) + (lime_map is not None)
    fig = new_figure(1.75 * panels, 2.0)
    axes = np.atleast_1d(fig.subplots(1, panels))
    _show(axes[0], image)
    axes[0].set_title("image", fontsize=8)
    k = 1
    if shap_map is not None:
        _show(axes[k], image, alpha=0.35)
        rgba, scale = _overlay(shap_map)
        axes[k].imshow(rgba, interpolation="nearest")
        axes[k].set_title(f"SHAP (±{scale:.2g} a pixel)", fontsize=8)
        k += 1
    if lime_map is not None and segments is not None:
        _show(axes[k], image)
        weights = {int(s): float(lime_map[segments == s][0]) for s in np.unique(segments)}
        ranked = sorted(weights, key=lambda s: -weights[s])
        for s in ranked[:LIME_TOP]:
            if weights[s] > 0:
                axes[k].contour(segments == s, levels=[0.5], colors="#e8384f", linewidths=1.4)
        worst = ranked[-1]
        if weights[worst] < 0:
            axes[k].contour(segments == worst, levels=[0.5], colors="#1e88e5", linewidths=1.2)
        axes[k].set_title("LIME superpixels", fontsize=8)
    caption = (
        f"Left: the image at the model's input size. Middle: SHAP, red pixels raise the "
        f"probability of {label!s}, blue lower it. Right: LIME's {LIME_TOP} superpixels that "
        "raise it most, outlined red, and the one that lowers it most, blue."
    )
    return to_uri(fig), caption


def _class_maps(
    shap: Explanation, h: int, w: int, classes: list[str]
) -> tuple[str, Any, str] | None:
    from automl.plugin import new_figure, to_uri

    labels = list(dict.fromkeys(shap.output))
    counts = {c: shap.output.count(c) for c in labels}
    labels = sorted(labels, key=lambda c: -counts[c])[:MAX_CLASSES]
    if not labels:
        return None
    rank = {c: i for i, c in enumerate(classes)}
    labels = sorted(labels, key=lambda c: (rank.get(c, len(rank)), shap.output.index(c)))
    maps = []
    for c in labels:
        rows = [i for i, o in enumerate(shap.output) if o == c]
        maps.append(np.abs(shap.values[rows]).mean(axis=0).reshape(h, w))
    cols = min(5, len(maps))
    n_rows = -(-len(maps) // cols)
    fig = new_figure(1.5 * cols + 0.6, 1.65 * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, cols)).reshape(-1)
    top = max(float(m.max()) for m in maps) or 1.0
    for ax, c, m in zip(axes, labels, maps):
        shown = ax.imshow(m, cmap="magma", vmin=0, vmax=top, interpolation="nearest")
        ax.set_title(f"{c} ({counts[c]} images)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(maps) :]:
        ax.set_visible(False)
    bar = fig.colorbar(shown, ax=list(axes[: len(maps)]), shrink=0.8, aspect=25)
    bar.ax.tick_params(labelsize=7)
    bar.set_label("mean |SHAP| a pixel", fontsize=8)
    hidden = len(dict.fromkeys(shap.output)) - len(labels)
    caption = (
        f"Mean |SHAP value| per pixel over the {len(shap.rows)} explained held-out images, "
        "grouped by the class each was explained for (its predicted class): where the model "
        "looks for that class." + (f" {hidden} rarer classes not drawn." if hidden > 0 else "")
    )
    return ("SHAP: mean |SHAP| map per class", to_uri(fig), caption)
