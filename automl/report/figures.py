"""The report's figures: matplotlib (Agg, no pyplot state) rendered to base64 PNG data URIs, so
the page carries them inside itself and opens offline; pictures that are pixels (images and
their maps) written as PNG directly (``pixels_uri``)."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

POSITIVE = "#e8384f"  # pushes the output up (SHAP's red)
NEGATIVE = "#1e88e5"  # pushes it down (SHAP's blue)
NEUTRAL = "#9aa0a6"
INK = "#202124"
DPI = 192
CSS_DPI = 96
FAMILY_COLOURS = ("#1e88e5", "#f4511e", "#43a047", "#8e24aa", "#fdd835", "#00acc1", "#6d4c41")


def new_figure(width: float, height: float) -> Any:
    """A matplotlib figure (no pyplot state) sized in inches, for plugins drawing their own
    report figures; ``to_uri`` embeds it."""
    return _figure(width, height)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8, colors=INK)
    ax.xaxis.label.set_size(9)
    ax.yaxis.label.set_size(9)


@dataclass(frozen=True)
class Image:
    """An embedded PNG: ``src`` a data URI, ``width`` its CSS width (the figure's inches at 96
    px an inch; the PNG has DPI/96 times the pixels, so it stays sharp on dense screens)."""

    src: str
    width: int

    def __str__(self) -> str:
        return self.src


_PAGE: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "figure_seconds", default=None
)  # the seconds of each figure rendered for the page being drawn (``timed_page``)
RECENT = 5  # the pace is the median of this many latest figures


@contextlib.contextmanager
def timed_page() -> Iterator[None]:
    """Time the figures rendered in the block (one page): ``recent_pace`` reads them."""
    token = _PAGE.set([])
    try:
        yield
    finally:
        _PAGE.reset(token)


def recent_pace() -> float | None:
    """The median seconds of the latest figures of the page being drawn (``timed_page``), or
    None before its first or outside a page: what its explanations keep for their figures."""
    seconds = _PAGE.get()
    return float(np.median(seconds[-RECENT:])) if seconds else None


def to_uri(fig: Any) -> Image:
    """The figure as an embedded PNG (``data:image/png;base64,...``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    started = time.monotonic()
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    data = buffer.getvalue()
    pixels = int.from_bytes(data[16:20], "big")  # the PNG header's width
    src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    page = _PAGE.get()
    if page is not None:
        page.append(time.monotonic() - started)
    return Image(src, round(pixels * CSS_DPI / DPI))


def pixels_uri(pixels: np.ndarray) -> Image:
    """An RGB picture (an uint8 (H, W, 3) array) as an embedded PNG written by Pillow, shown at
    the figures' density (``DPI`` pixels an inch): for pictures that are pixels (an image and
    its maps), where a matplotlib figure's layout and text cost 0.1 s idle and 0.3-0.5 s on a
    busy machine. Timed as a figure of the page (``recent_pace``)."""
    from PIL import Image as PILImage

    started = time.monotonic()
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(buffer, format="PNG")
    src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    page = _PAGE.get()
    if page is not None:
        page.append(time.monotonic() - started)
    return Image(src, round(pixels.shape[1] * CSS_DPI / DPI))


def _num(value: float) -> str:
    """Three significant digits; float noise around zero reads as 0."""
    return "0" if abs(value) < 1e-9 else f"{value:.3g}"


def _short(text: str, width: int = 28) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- the search ---------------------------------------------------------------------------------
def history(  # noqa: C901
    trials: Sequence[dict[str, Any]], metric: str, maximize: bool, best_number: int | None
) -> Image:
    """Each finished trial's score by trial number, coloured by family; the best so far as a
    line; pruned trials at their last reported score (hollow), failed ones (and trials pruned
    before any score) as marks along the bottom."""
    fig = _figure(10.4, 3.4)
    ax = fig.add_subplot()
    families = list(dict.fromkeys(t["model"] for t in trials if t["model"]))
    colours = {f: FAMILY_COLOURS[i % len(FAMILY_COLOURS)] for i, f in enumerate(families)}
    complete = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    pruned = [t for t in trials if t["state"] == "pruned" and t["last"] is not None]
    failed = [t for t in trials if t["state"] == "fail"]
    unscored = [t for t in trials if t["state"] == "pruned" and t["last"] is None]
    for family in families:
        done = [t for t in complete if t["model"] == family]
        if done:
            ax.scatter(
                [t["number"] for t in done],
                [t["value"] for t in done],
                s=28,
                color=colours[family],
                label=family,
                zorder=3,
            )
        cut = [t for t in pruned if t["model"] == family]
        if cut:
            ax.scatter(
                [t["number"] for t in cut],
                [t["last"] for t in cut],
                s=28,
                facecolors="none",
                edgecolors=colours[family],
                label=f"{family} (pruned)",
                zorder=3,
            )
    if complete:
        ordered = sorted(complete, key=lambda t: t["number"])
        best, xs, ys = None, [], []
        for t in ordered:
            if best is None or (t["value"] > best if maximize else t["value"] < best):
                best = t["value"]
            xs.append(t["number"])
            ys.append(best)
        ax.step(xs, ys, where="post", color=INK, linewidth=1.2, label="best so far", zorder=2)
        chosen = [t for t in complete if t["number"] == best_number]
        if chosen:
            ax.scatter(
                [chosen[0]["number"]],
                [chosen[0]["value"]],
                s=160,
                marker="*",
                color="#fbbc04",
                edgecolors=INK,
                linewidths=0.6,
                label="chosen trial",
                zorder=4,
            )
    for group, marker, colour, label in (
        (failed, "x", "#d93025", "failed"),
        (unscored, "v", "#f9ab00", "pruned before a score"),
    ):
        if group:
            ax.scatter(
                [t["number"] for t in group],
                [0.02] * len(group),
                transform=ax.get_xaxis_transform(),
                marker=marker,
                color=colour,
                s=30,
                clip_on=False,
                label=label,
                zorder=4,
            )
    numbers = [t["number"] for t in trials]
    if numbers:
        ax.set_xlim(min(numbers) - 0.6, max(numbers) + 0.6)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.25)
    _style(ax)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return to_uri(fig)


def bars(
    labels: Sequence[str], values: Sequence[float], xlabel: str, colour: str = NEGATIVE
) -> Image:
    """Horizontal bars, the first label on top."""
    labels, values = list(labels), list(values)
    fig = _figure(5.3, 0.9 + 0.28 * len(labels))
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=colour, height=0.65)
    ax.set_yticks(y, [_short(v, 34) for v in labels])
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v:.3g}", va="center", fontsize=7, color=INK)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(values or [1]) * 1.18 or 1)
    _style(ax)
    return to_uri(fig)


# -- the model -----------------------------------------------------------------------------------
def confusion(matrix: np.ndarray, labels: Sequence[str]) -> Image:
    """Counts with the share of each true class, darker for larger shares."""
    matrix = np.asarray(matrix)
    k = len(labels)
    size = min(5.2, 2.4 + 0.45 * k)
    fig = _figure(size, size * 0.85)
    ax = fig.add_subplot()
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8 if k <= 6 else 6,
                color="white" if share[i, j] > 0.6 else INK,
            )
    names = [_short(v, 16) for v in labels]
    ax.set_xticks(range(k), names, rotation=30 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(labelsize=8)
    return to_uri(fig)


def residuals(y_true: np.ndarray, y_pred: np.ndarray) -> Image:
    """Predicted against true values, and residuals against predicted values."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    resid = y_true - y_pred
    fig = _figure(10.4, 3.8)
    left, right = fig.subplots(1, 2)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    left.scatter(y_true, y_pred, s=12, alpha=0.6, color=NEGATIVE, edgecolors="none")
    left.plot([lo, hi], [lo, hi], color=INK, linewidth=1, linestyle="--")
    left.set_xlabel("true value")
    left.set_ylabel("predicted value")
    left.set_title("predicted vs true", fontsize=9)
    right.scatter(y_pred, resid, s=12, alpha=0.6, color=POSITIVE, edgecolors="none")
    right.axhline(0, color=INK, linewidth=1, linestyle="--")
    right.set_xlabel("predicted value")
    right.set_ylabel("residual (true − predicted)")
    right.set_title("residuals", fontsize=9)
    for ax in (left, right):
        ax.grid(alpha=0.25)
        _style(ax)
    return to_uri(fig)


# -- explanations --------------------------------------------------------------------------------
def beeswarm(
    values: np.ndarray, colour: np.ndarray | None, names: Sequence[str], order: Sequence[int]
) -> Image:
    """One row of dots per feature (``order``: feature indices, most important first): each
    dot a row's attribution, coloured by the feature's value (low blue, high red; grey when the
    feature is a category or missing)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("shap", [NEGATIVE, "#b32ee0", POSITIVE])
    fig = _figure(5.3, 1.0 + 0.32 * len(order))
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    for pos, j in enumerate(order):
        y0 = len(order) - 1 - pos
        v = values[:, j]
        jitter = _swarm_offsets(v, rng)
        c = None if colour is None else colour[:, j]
        if c is None or np.all(np.isnan(c)):
            ax.scatter(v, y0 + jitter, s=9, color=NEUTRAL, edgecolors="none", alpha=0.85)
            continue
        lo, hi = np.nanpercentile(c, 5), np.nanpercentile(c, 95)
        scaled = np.clip((c - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        known = ~np.isnan(c)
        ax.scatter(
            v[~known], y0 + jitter[~known], s=9, color=NEUTRAL, edgecolors="none", alpha=0.85
        )
        ax.scatter(
            v[known],
            y0 + jitter[known],
            s=9,
            c=scaled[known],
            cmap=cmap,
            vmin=0,
            vmax=1,
            edgecolors="none",
            alpha=0.9,
        )
    ax.axvline(0, color=NEUTRAL, linewidth=0.8)
    ax.set_yticks(range(len(order))[::-1], [_short(names[j], 30) for j in order])
    ax.set_xlabel("attribution to the explained output (SHAP value)")
    _style(ax)
    bar = fig.colorbar(ScalarMappable(cmap=cmap), ax=ax, pad=0.01, aspect=30)
    bar.set_ticks([0, 1], labels=["low", "high"])
    bar.set_label("feature value", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    bar.outline.set_visible(False)
    return to_uri(fig)


def _swarm_offsets(v: np.ndarray, rng: np.random.Generator, width: float = 0.38) -> np.ndarray:
    """Vertical offsets that spread dots by local density (a light beeswarm)."""
    if len(v) < 2 or np.ptp(v) == 0:
        return rng.uniform(-width / 3, width / 3, len(v))
    bins = np.linspace(v.min(), v.max(), 41)
    idx = np.clip(np.digitize(v, bins) - 1, 0, 39)
    counts = np.bincount(idx, minlength=40)
    spread = width * counts[idx] / counts.max()
    return rng.uniform(-1, 1, len(v)) * spread


def has_gap(total: float, prediction: float) -> bool:
    """Whether attributions that add up to ``total`` miss the ``prediction`` by more than
    rounding (a sampling explainer's approximation error)."""
    return abs(prediction - total) > 1e-6 * max(1.0, abs(prediction))


def waterfall_steps(
    values: np.ndarray,
    base: float,
    names: Sequence[str],
    shown: Sequence[str],
    top: int = 10,
    prediction: float | None = None,
) -> tuple[list[str], list[float]]:
    """The waterfall's labels and steps: the ``top`` largest attributions, the rest summed into
    one, and (when ``prediction`` is given and the attributions miss it) the approximation gap,
    so that ``base + sum(steps)`` is the prediction."""
    values = np.asarray(values, float)
    order = list(np.argsort(-np.abs(values))[:top])
    labels = [f"{_short(names[j], 22)} = {_short(shown[j], 18)}" for j in order]
    steps = [float(values[j]) for j in order]
    if len(values) > top:
        labels.append(f"{len(values) - top} other features")
        steps.append(float(values.sum() - values[order].sum()))
    total = base + float(values.sum())
    if prediction is not None and has_gap(total, prediction):
        labels.append("approximation gap")
        steps.append(float(prediction - total))
    return labels, steps


def waterfall(
    values: np.ndarray,
    base: float,
    names: Sequence[str],
    shown: Sequence[str],
    top: int = 10,
    space: str = "",
    prediction: float | None = None,
) -> Image:
    """From the base value to the row's output: the ``top`` largest attributions as steps, the
    rest summed into one; ends at ``prediction`` when given (see ``waterfall_steps``)."""
    labels, steps = waterfall_steps(values, base, names, shown, top, prediction)
    fig = _figure(5.3, 1.2 + 0.3 * len(steps))
    ax = fig.add_subplot()
    span = max(abs(base), abs(base + sum(steps)), 1e-12)
    total = sum(abs(s) for s in steps) or span
    cursor = base
    for i, (label, step) in enumerate(zip(labels, steps)):
        y = len(steps) - 1 - i
        gap = label == "approximation gap" and i == len(steps) - 1
        ax.barh(
            y,
            step,
            left=cursor,
            color=NEUTRAL if gap else POSITIVE if step >= 0 else NEGATIVE,
            height=0.62,
        )
        ax.text(
            cursor + step + (0.01 * total if step >= 0 else -0.01 * total),
            y,
            f"{step:+.3g}",
            va="center",
            ha="left" if step >= 0 else "right",
            fontsize=7,
            color=INK,
        )
        cursor += step
    ax.axvline(base, color=NEUTRAL, linewidth=0.8, linestyle="--")
    ax.axvline(cursor, color=INK, linewidth=0.8)
    ax.set_yticks(range(len(steps))[::-1], labels)
    label = space or "output"
    ax.set_xlabel(f"{label}: base {_num(base)} → {_num(cursor)}")
    xs = [base, cursor]
    c = base
    for s in steps:
        c += s
        xs.append(c)
    pad = 0.2 * ((max(xs) - min(xs)) or span)
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    _style(ax)
    return to_uri(fig)


def signed_bars(values: np.ndarray, names: Sequence[str], shown: Sequence[str], top: int = 10):
    """The ``top`` largest weights of one row (LIME), positive red, negative blue."""
    values = np.asarray(values, float)
    order = list(np.argsort(-np.abs(values))[:top])
    labels = [f"{_short(names[j], 22)} = {_short(shown[j], 18)}" for j in order]
    fig = _figure(5.3, 1.0 + 0.3 * len(order))
    ax = fig.add_subplot()
    y = np.arange(len(order))[::-1]
    vals = values[order]
    ax.barh(y, vals, color=[POSITIVE if v >= 0 else NEGATIVE for v in vals], height=0.62)
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("LIME weight (local linear model)")
    lim = float(np.abs(vals).max(initial=0)) * 1.15 or 1.0
    ax.set_xlim(-lim, lim)
    _style(ax)
    return to_uri(fig)
