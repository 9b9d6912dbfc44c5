"""The report's pictures of image explanations: per example image, the image, its SHAP map
overlaid (red for the explained class, blue against) and LIME's top superpixels outlined; and
one mean |SHAP| map per explained class as the global view.

They are drawn as pixels (numpy, written as PNG by ``automl.plugin.pixels_uri``), not as
matplotlib figures: the image pictures are pixels enlarged, and matplotlib's layout, text and
rendering of three example figures and the maps took 1.0-1.3 s idle and 3.8-4.5 s beside six
busy processes, most of a 5 s explanation allowance. Titles and scales are in the captions and
the page's headings; the maps' class names and their colour scale are drawn with Pillow.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from automl.plugin import Drawing, Explanation, pixels_uri

MAX_CLASSES = 10
LIME_TOP = 3  # superpixels outlined for the class
EXAMPLE_PIXELS = 280  # an example panel's longer side at least (140 CSS px on the page)
MAP_PIXELS = 220  # a class map's longer side at least
GAP = 16  # white pixels between panels
SHADE = 0.35  # the image's opacity under its SHAP map
OUTLINE = 3  # pixels of a superpixel's outline
RED = (232, 56, 79)  # raises the explained class (the report's SHAP red)
BLUE = (30, 136, 229)
INK = (32, 33, 36)
TEXT_PIXELS = 24  # the maps' class names and scale
MAP_COLUMNS = 5


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
    """Load what the pictures use once a process (Pillow's PNG writer, the font, the maps'
    colours), so that the drawing's timed probe is not a cold one's."""
    pixels_uri(np.zeros((4, 4, 3), dtype=np.uint8))
    _font()
    _magma()


def stand_in_seconds(x: np.ndarray) -> float:
    """Seconds to draw one example picture of an image shaped like ``x[0]``: a SHAP map and
    16 superpixels (4 x 4 blocks) of made-up weights."""
    h, w = x.shape[2:]
    blocks = (np.arange(h)[:, None] * 4 // h) * 4 + np.arange(w)[None, :] * 4 // w
    weights = np.linspace(-1.0, 1.0, 16)[blocks]
    started = time.monotonic()
    _example(x[0], weights, blocks, weights, "stand-in")
    return time.monotonic() - started


def _map(exp: Explanation | None, p: int, h: int, w: int) -> np.ndarray | None:
    if exp is None or p >= len(exp.rows):
        return None
    return np.asarray(exp.values[p], dtype=np.float64).reshape(h, w)


def _zoom(h: int, w: int, pixels: int) -> int:
    """The whole enlargement that gives an image's longer side at least ``pixels``."""
    return max(1, -(-pixels // max(h, w, 1)))


def _enlarge(a: np.ndarray, zoom: int) -> np.ndarray:
    """Each pixel as a ``zoom`` x ``zoom`` block (an image's pixels stay sharp)."""
    return np.repeat(np.repeat(a, zoom, axis=0), zoom, axis=1)


def _rgb(image: np.ndarray) -> np.ndarray:
    """An uint8 (C, H, W) image, grey or colour, as float (H, W, 3) in 0-255."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape[0] == 1:
        return np.repeat(image[0][..., None], 3, axis=2)
    return image[:3].transpose(1, 2, 0)


def _overlay(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """RGB (0-1) and opacity: red where the pixel speaks for the class, blue against, white
    between (matplotlib's "bwr"), opaque as it is strong, full at the 99th percentile of |v|
    (the scale, returned)."""
    scale = float(np.percentile(np.abs(values), 99)) or float(np.abs(values).max()) or 1.0
    t = np.clip(0.5 + 0.5 * values / scale, 0, 1)
    low, high = np.minimum(2 * t, 1.0), np.minimum(2 - 2 * t, 1.0)
    rgb = np.stack([low, np.minimum(low, high), high], axis=-1)
    alpha = np.clip(np.abs(values) / scale, 0, 1) ** 0.7
    return rgb, alpha, scale


def _outline(mask: np.ndarray, zoom: int) -> np.ndarray:
    """The enlarged mask's inner edge, ``OUTLINE`` pixels wide (none along the image's border,
    as a contour has none there)."""
    big = _enlarge(mask.astype(bool), zoom)
    inner = big.copy()
    for _ in range(min(OUTLINE, zoom)):
        padded = np.pad(inner, 1, mode="edge")
        inner = inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return big & ~inner


def _side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    """Panels of one height in a row, ``GAP`` white pixels apart, as uint8 RGB."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + GAP * (len(panels) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    left = 0
    for panel in panels:
        out[: panel.shape[0], left : left + panel.shape[1]] = np.clip(panel, 0, 255)
        left += panel.shape[1] + GAP
    return out


def _example(image, shap_map, segments, lime_map, label) -> tuple[Any, str]:
    h, w = image.shape[1:]
    zoom = _zoom(h, w, EXAMPLE_PIXELS)
    shown = _enlarge(_rgb(image), zoom)
    panels = [shown]
    words = ["the image at the model's input size"]
    if shap_map is not None:
        rgb, alpha, scale = _overlay(shap_map)
        under = 255 - SHADE * (255 - shown)  # the image faded over white
        alpha = _enlarge(alpha, zoom)[..., None]
        panels.append(under * (1 - alpha) + 255 * _enlarge(rgb, zoom) * alpha)
        words.append(
            f"SHAP: red pixels raise the probability of {label!s}, blue lower it (full colour "
            f"at ±{scale:.2g} a pixel)"
        )
    if lime_map is not None and segments is not None:
        panel = shown.copy()
        weights = {int(s): float(lime_map[segments == s][0]) for s in np.unique(segments)}
        ranked = sorted(weights, key=lambda s: -weights[s])
        for s in ranked[:LIME_TOP]:
            if weights[s] > 0:
                panel[_outline(segments == s, zoom)] = RED
        if weights[ranked[-1]] < 0:
            panel[_outline(segments == ranked[-1], zoom)] = BLUE
        panels.append(panel)
        words.append(
            f"LIME's {LIME_TOP} superpixels that raise it most, outlined red, and the one that "
            "lowers it most, blue"
        )
    places = ["Left", "Middle", "Right"] if len(panels) == 3 else ["Left", "Right"]
    caption = ". ".join(f"{place}: {text}" for place, text in zip(places, words)) + "."
    if len(panels) == 1:
        caption = f"The image at the model's input size, explained for {label!s}."
    return pixels_uri(_side_by_side(panels)), caption


@functools.cache
def _font() -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=TEXT_PIXELS)


@functools.cache
def _magma() -> np.ndarray:
    """matplotlib's "magma" as 256 RGB rows (0-255)."""
    from matplotlib import colormaps

    return np.round(colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def _fitted(draw: Any, text: str, width: int) -> str:
    """``text``, shortened with an ellipsis to ``width`` pixels."""
    font = _font()
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _class_maps(
    shap: Explanation, h: int, w: int, classes: list[str]
) -> tuple[str, Any, str] | None:
    from PIL import Image as PILImage
    from PIL import ImageDraw

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
    top = max(float(m.max()) for m in maps) or 1.0
    zoom = _zoom(h, w, MAP_PIXELS)
    cell_w, cell_h, title = w * zoom, h * zoom, TEXT_PIXELS + 10
    cols = min(MAP_COLUMNS, len(maps))
    n_rows = -(-len(maps) // cols)
    scale_w = 140  # the colour scale and its numbers, right of the maps
    width = cols * cell_w + (cols - 1) * GAP + GAP + scale_w
    height = n_rows * (title + cell_h) + (n_rows - 1) * GAP
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    lut = _magma()
    for k, m in enumerate(maps):
        top_y = (k // cols) * (title + cell_h + GAP) + title
        left = (k % cols) * (cell_w + GAP)
        index = np.clip(np.round(m / top * 255), 0, 255).astype(np.intp)
        pixels[top_y : top_y + cell_h, left : left + cell_w] = _enlarge(lut[index], zoom)
    # the colour scale: top at the top, 0 at the bottom, beside the first row of maps
    bar_left, bar_top, bar_h = cols * (cell_w + GAP), title, cell_h
    ramp = lut[np.linspace(255, 0, bar_h).round().astype(np.intp)]
    pixels[bar_top : bar_top + bar_h, bar_left : bar_left + 18] = ramp[:, None, :]
    picture = PILImage.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(picture)
    for k, c in enumerate(labels):
        left = (k % cols) * (cell_w + GAP)
        text = _fitted(draw, f"{c} ({counts[c]} images)", cell_w)
        draw.text((left, (k // cols) * (title + cell_h + GAP)), text, fill=INK, font=_font())
    for value, y in ((top, bar_top), (top / 2, bar_top + bar_h // 2), (0.0, bar_top + bar_h)):
        draw.text((bar_left + 26, y), f"{value:.2g}", fill=INK, font=_font(), anchor="lm")
    hidden = len(dict.fromkeys(shap.output)) - len(labels)
    caption = (
        f"Mean |SHAP value| per pixel over the {len(shap.rows)} explained held-out images, "
        "grouped by the class each was explained for (its predicted class): where the model "
        f"looks for that class. Colour: mean |SHAP| a pixel, from 0 (black) to {top:.2g} "
        "(light yellow)." + (f" {hidden} rarer classes not drawn." if hidden > 0 else "")
    )
    return ("SHAP: mean |SHAP| map per class", pixels_uri(np.asarray(picture)), caption)
