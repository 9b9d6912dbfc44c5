"""Image inputs: numpy arrays in three layouts, image folders, torch Datasets, all turned into one
uint8 array (N, C, H, W) of a single size, plus the labels.

Size rule (mixed sizes): every image is resized (bilinear, antialiased) to the most common
(height, width) of the training images (ties: the larger); if that size is over ``MAX_SIDE``
pixels on its longer side it is scaled down to ``MAX_SIDE`` keeping its aspect ratio.
``image_size=`` (an int or (h, w)) overrides the rule. Channels: 1 (grayscale) when every image
is grayscale, else 3 (RGB; grayscale images are repeated, alpha is dropped).
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from automl.plugin import DataError, FeatureEncoder, ParameterError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
MAX_SIDE = 128
BAD_IMAGES = ("error", "skip")
ACCEPTED = (
    "images: an (x, y) pair (or fit(x, y)) of uint8/float arrays (N,H,W), (N,H,W,C) or "
    "(N,C,H,W); a folder with one sub-folder of PNG/JPEG images per class; a torch Dataset "
    "yielding (image, label)"
)


# -- recognising inputs -------------------------------------------------------------------------
def _is_torch_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def is_torch_dataset(obj: Any) -> bool:
    """A map-style torch Dataset (only possible when torch is already imported)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(obj, torch.utils.data.Dataset) and hasattr(obj, "__len__")


def _is_image_array(x: Any) -> bool:
    if _is_torch_tensor(x):
        return x.ndim in (3, 4)
    return isinstance(x, np.ndarray) and x.ndim in (3, 4) and x.dtype.kind in "uifb"


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def is_image_folder(obj: Any) -> bool:
    if not isinstance(obj, (str, Path)):
        return False
    folder = Path(obj)
    if not folder.is_dir():
        return False
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return any(_image_files(d) for d in subdirs[:50])


def accepts(dataset: Any, target: Any) -> float:
    if isinstance(dataset, tuple) and len(dataset) == 2 and _is_image_array(dataset[0]):
        return 0.95
    if _is_image_array(dataset) and target is not None and not isinstance(target, str):
        return 0.95
    if is_image_folder(dataset):
        return 0.95
    if is_torch_dataset(dataset):
        return 0.9
    return 0.0


# -- pixels -------------------------------------------------------------------------------------
FLOAT_SCALES = ("unit", "byte")  # float pixels in [0, 1] (x 255), or in [0, 255] (rounded)


def float_scale(arr: np.ndarray, what: str = "the images") -> str:
    """The scale of float pixels, decided once over all the training images: "unit" when
    they lie in [0, 1], "byte" when in [0, 255]; anything else is refused."""
    if not np.isfinite(arr).all():
        raise DataError(f"{what} hold NaN or infinite pixel values")
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        return "unit"
    if lo >= 0.0 and hi <= 255.0:
        return "byte"
    raise DataError(
        f"{what} hold float pixel values in [{lo:.3g}, {hi:.3g}]; pass raw pixels in [0, 1] "
        "or [0, 255] (no Normalize transform: automl normalises from the training split)"
    )


def to_uint8(arr: np.ndarray, what: str = "the images", scale: str | None = None) -> np.ndarray:
    """uint8 as is; float pixels on ``scale`` ("unit": [0, 1], scaled by 255; "byte":
    [0, 255], rounded; None: decided from these pixels, at fit time only); other integer types
    must lie in [0, 255]. A predict batch is read on the training scale, never guessed anew: a
    dark batch of a [0, 255] model is not mistaken for [0, 1] pixels."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.size == 0:
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        found = float_scale(arr, what)
        if scale is None:
            scale = found
        if scale == "unit" and found != "unit":
            raise DataError(
                f"{what} hold float pixels up to {float(arr.max()):.3g}, but this model reads "
                "float pixels on the [0, 1] scale (as it was trained, or as floats are read "
                "for a model trained on uint8): divide by 255, or pass uint8 pixels"
            )
        if scale == "unit":
            return np.rint(arr * 255.0).astype(np.uint8)
        return np.rint(arr).astype(np.uint8)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > 255:
        raise DataError(f"{what} hold integer pixel values in [{lo}, {hi}]; expected 0..255")
    return arr.astype(np.uint8)


def array_to_nchw(x: Any, channels: int | None = None) -> np.ndarray:
    """(N,H,W), (N,H,W,C) or (N,C,H,W) -> (N,C,H,W), pixels still in their dtype.

    A 4-D array is channels-first when its axis 1 has 1, 3 or 4 entries and its last axis not
    (or, with ``channels`` known, when axis 1 matches it and the last axis does not)."""
    if _is_torch_tensor(x):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise DataError(
            f"images must be an array (N,H,W), (N,H,W,C) or (N,C,H,W); got shape {x.shape}"
        )
    for valid in ((channels,), (1, 3, 4)) if channels else ((1, 3, 4),):
        first, last = x.shape[1] in valid, x.shape[3] in valid
        if first and not last:
            return x
        if last:
            return np.moveaxis(x, 3, 1)
    raise DataError(
        f"cannot tell the channel axis of images of shape {x.shape}: expected 1, 3 or 4 "
        f"channels{f' ({channels} as in training)' if channels else ''} on axis 1 or axis 3"
    )


def fix_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (N,C,H,W) to ``channels`` (1 or 3): drop alpha, gray <-> RGB."""
    if x.shape[1] == 4:
        x = x[:, :3]
    if x.shape[1] == channels:
        return x
    if channels == 3 and x.shape[1] == 1:
        return np.repeat(x, 3, axis=1)
    if channels == 1 and x.shape[1] == 3:
        gray = x[:, 0] * 0.299 + x[:, 1] * 0.587 + x[:, 2] * 0.114
        return np.rint(gray)[:, None].astype(np.uint8)
    raise DataError(f"images with {x.shape[1]} channels cannot become {channels}")


def resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (N,C,H,W) to (N,C,*size), bilinear with antialiasing, in chunks."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    import torch
    import torch.nn.functional as F

    out = np.empty((len(x), x.shape[1], *size), dtype=np.uint8)
    for start in range(0, len(x), 1024):
        chunk = torch.tensor(x[start : start + 1024], dtype=torch.float32)
        chunk = F.interpolate(chunk, size=size, mode="bilinear", antialias=True)
        out[start : start + 1024] = chunk.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def choose_size(sizes: list[tuple[int, int]], image_size: Any = None) -> tuple[int, int]:
    """The size rule of the module docstring."""
    if image_size is not None:
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        h, w = (int(v) for v in image_size)
        if h < 1 or w < 1:
            raise ParameterError(f"image_size must be positive; got {image_size}")
        return h, w
    counts = Counter(sizes)
    h, w = max(counts, key=lambda s: (counts[s], s[0] * s[1]))
    if max(h, w) > MAX_SIDE:
        scale = MAX_SIDE / max(h, w)
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    return h, w


def stack_images(images: list[np.ndarray], size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 (C,H,W) images of any size and 1/3/4 channels -> one uint8 (N,C,H,W) array."""
    out = np.empty((len(images), channels, *size), dtype=np.uint8)
    for i, img in enumerate(images):
        out[i] = resize(fix_channels(img[None], channels), size)[0]
    return out


def _pick_channels(channel_counts: set[int]) -> int:
    return 1 if channel_counts <= {1} else 3


# -- single images (folders, datasets) ----------------------------------------------------------
def pil_to_chw(img: Any) -> np.ndarray:
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    arr = np.asarray(img)
    return arr[None] if arr.ndim == 2 else np.moveaxis(arr, 2, 0)


def item_to_chw(image: Any, index: int) -> np.ndarray:
    """One image of a Dataset as (C,H,W) in its own dtype: PIL image, torch tensor (C,H,W) or
    numpy (H,W) / (H,W,C). The pixel scale is decided over the whole dataset (read_dataset)."""
    if hasattr(image, "getbands"):  # PIL
        return pil_to_chw(image)
    what = f"image {index} of the dataset"
    if _is_torch_tensor(image):
        arr = image.detach().cpu().numpy()
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[0] not in (1, 3, 4):
            raise DataError(f"{what} is a tensor of shape {tuple(arr.shape)}; expected (C,H,W)")
        return arr
    arr = np.asarray(image)
    if arr.dtype.kind not in "uifb":
        raise DataError(f"{what} holds {arr.dtype} values; expected pixel numbers")
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim == 3:
        return array_to_nchw(arr[None])[0]
    raise DataError(f"{what} has shape {arr.shape}; expected (H,W), (H,W,C) or a PIL image")


def read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return pil_to_chw(img)


def read_files(
    files: list[Path], root: Path, bad_images: str
) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Decode image files: (images, indices of the files read, bad files 'name (reason)')."""
    images, kept, bad = [], [], []
    for i, path in enumerate(files):
        try:
            images.append(read_image(path))
            kept.append(i)
        except Exception as exc:  # PIL raises many kinds for broken files
            bad.append(f"{path.relative_to(root)} ({type(exc).__name__}: {exc})"[:200])
    if bad:
        listed = "; ".join(bad[:5]) + (f"; ... {len(bad) - 5} more" if len(bad) > 5 else "")
        if bad_images == "error":
            raise DataError(
                f"{len(bad)} image file(s) in {root} could not be read: {listed}. Fix or remove "
                "them, or pass bad_images='skip' to leave them out with a warning"
            )
        warnings.warn(
            f"skipped {len(bad)} unreadable image file(s) in {root}: {listed}", stacklevel=3
        )
    return images, kept, bad


def read_class_folder(
    folder: Path, bad_images: str
) -> tuple[list[np.ndarray], list[str], dict[str, Any]]:
    """A folder with one sub-folder of images per class -> (images, labels, notes)."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise DataError(f"{folder} has no class sub-folders; put each class's images in its own")
    files, labels, empty, ignored = [], [], [], []
    for sub in subdirs:
        found = _image_files(sub)
        others = [
            p
            for p in sub.iterdir()
            if not p.name.startswith(".") and p.suffix.lower() not in IMAGE_SUFFIXES
        ]
        ignored += [str(p.relative_to(folder)) for p in others]
        if not found:
            empty.append(sub.name)
        files += found
        labels += [sub.name] * len(found)
    if empty:
        raise DataError(
            f"class folder(s) without any image file ({', '.join(IMAGE_SUFFIXES)}) in {folder}: "
            f"{empty[:10]}; add images or remove the folder(s)"
        )
    if ignored:
        warnings.warn(
            f"ignored {len(ignored)} file(s) that are not images in {folder}: {ignored[:5]}",
            stacklevel=3,
        )
    images, kept, bad = read_files(files, folder, bad_images)
    notes = {"skipped_files": bad, "ignored_files": ignored}
    return images, [labels[i] for i in kept], notes


def read_flat_folder(folder: Path, bad_images: str) -> list[np.ndarray]:
    """Predict time: a folder of images, or of class sub-folders (labels ignored)."""
    files = _image_files(folder)
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files += _image_files(sub)
    if not files:
        raise DataError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    images, _, _ = read_files(files, folder, bad_images)
    return images


def read_dataset(
    dataset: Any, scale: str | None = None
) -> tuple[list[np.ndarray], list[Any], str]:
    """Iterate a map-style Dataset of (image, label) items: uint8 (C,H,W) images, labels and
    the float pixel scale, decided over all its float images (or ``scale``, the training one)."""
    raw, labels = [], []
    for i in range(len(dataset)):
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise DataError(f"dataset item {i} is a {type(item).__name__}, not (image, label)")
        image, label = item[0], item[1]
        raw.append(item_to_chw(image, i))
        if _is_torch_tensor(label):
            label = label.item() if label.numel() == 1 else label.tolist()
        labels.append(label.item() if isinstance(label, np.generic) else label)
    floats = [img for img in raw if img.dtype.kind == "f"]
    if scale is None:
        scale = "unit"
        if floats:
            lo = min(float(img.min()) for img in floats if img.size)
            hi = max(float(img.max()) for img in floats if img.size)
            scale = float_scale(np.array([lo, hi]), "the dataset's images")
    images = [to_uint8(img, f"image {i} of the dataset", scale) for i, img in enumerate(raw)]
    return images, labels, scale


# -- labels -------------------------------------------------------------------------------------
def check_labels(y: Any) -> np.ndarray:
    """Integer (or bool) or string labels only; everything else is a DataError."""
    if _is_torch_tensor(y):
        y = y.detach().cpu().numpy()
    try:
        arr = np.asarray(y)
    except ValueError:
        raise DataError("labels must be a flat sequence of integers or strings") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"labels must be one-dimensional (one per image); got shape {arr.shape}")
    if arr.dtype.kind in "iubUS":
        return arr
    if arr.dtype.kind == "O":
        bad = [v for v in arr if not isinstance(v, (int, str, np.integer, np.str_))]
        if not bad:
            return arr
        example = bad[0]
    else:
        example = arr[0] if len(arr) else None
    raise DataError(
        f"image labels must be integers or strings; got {arr.dtype} values such as "
        f"{example!r}: map them to class ids (e.g. y.astype(int)) or class names"
    )


# -- predict time -------------------------------------------------------------------------------
class ImageEncoder(FeatureEncoder):
    """Turns predict-time input into the training layout: uint8 (N, C, H, W) of the training size
    and channel count. Accepts arrays of any accepted layout, one image (H,W) / (H,W,C), a list
    of PIL images, a folder of images, or a torch Dataset (its labels are ignored)."""

    def __init__(
        self,
        channels: int,
        size: tuple[int, int],
        bad_images: str = "error",
        float_scale: str = "unit",
    ) -> None:
        self.channels, self.size, self.bad_images = channels, tuple(size), bad_images
        self.float_scale = float_scale  # how float pixels are read: fixed at fit time

    def get_state(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "size": list(self.size),
            "bad_images": self.bad_images,
            "float_scale": self.float_scale,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ImageEncoder:
        return cls(
            state["channels"], tuple(state["size"]), state["bad_images"], state["float_scale"]
        )

    def transform(self, raw: Any) -> np.ndarray:
        if isinstance(raw, tuple) and len(raw) == 2 and _is_image_array(raw[0]):
            raw = raw[0]  # an (x, y) pair: the images
        if isinstance(raw, (str, Path)):
            folder = Path(raw)
            if not folder.is_dir():
                raise DataError(f"no such image folder: {folder}")
            return self._stack(read_flat_folder(folder, self.bad_images))
        if is_torch_dataset(raw):
            return self._stack(read_dataset(raw, self.float_scale)[0])
        if isinstance(raw, list) and raw and hasattr(raw[0], "getbands"):
            return self._stack([pil_to_chw(img) for img in raw])
        if _is_torch_tensor(raw):
            raw = raw.detach().cpu().numpy()
        arr = np.asarray(raw)
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4) and self.channels == 3):
            arr = arr[None]  # one image
        if arr.dtype.kind not in "uifb":
            raise DataError(f"images must be numeric arrays; got dtype {arr.dtype}")
        x = array_to_nchw(arr, self.channels if arr.ndim == 4 else None)
        x = to_uint8(x, "the images", self.float_scale)
        return resize(fix_channels(x, self.channels), self.size)

    def _stack(self, images: list[np.ndarray]) -> np.ndarray:
        return stack_images(images, self.size, self.channels)
