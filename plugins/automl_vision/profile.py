"""What drift monitoring watches of images: brightness (mean pixel), contrast (pixel standard
deviation), both on the [0, 1] scale, and the height and width each image came in with (before
the resize to the training size); and how a JSON request's base64 images are decoded."""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, InputProfile
from automl_vision import inputs

STATS = ("brightness", "contrast", "height", "width")
# decoded pixels a served request may hold: a PNG compresses a blank image over 1000 to 1, so the
# body limit alone does not bound the memory its images take (PIL: 1-4 bytes a pixel, then the
# CHW copy); the header gives the size before anything is decoded
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_REQUEST_PIXELS = 2 * MAX_IMAGE_PIXELS
CHUNK = 2048


class ImageProfile(InputProfile):
    """Per-image statistics; float pixels are read on the training scale."""

    def __init__(self, channels: int = 1, float_scale: str = "unit") -> None:
        self.channels, self.float_scale = int(channels), float_scale

    def fit(self, raw: Any) -> ImageProfile:
        return self

    def measure(self, raw: Any) -> pd.DataFrame:
        return stats_table(self.images(raw))

    def images(self, raw: Any) -> list[np.ndarray] | np.ndarray:
        """uint8 images in their own sizes: a (N,C,H,W) array or a list of (C,H,W)."""
        if isinstance(raw, tuple) and len(raw) == 2 and inputs._is_image_array(raw[0]):
            raw = raw[0]
        if isinstance(raw, (str, Path)):
            folder = Path(raw)
            if not folder.is_dir():
                raise DataError(f"no such image folder: {folder}")
            return inputs.read_flat_folder(folder, "error")
        if inputs.is_torch_dataset(raw):
            return inputs.read_dataset(raw, self.float_scale)[0]
        if isinstance(raw, list) and raw and hasattr(raw[0], "getbands"):
            return [inputs.pil_to_chw(img) for img in raw]
        if inputs._is_torch_tensor(raw):
            raw = raw.detach().cpu().numpy()
        arr = np.asarray(raw)
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4) and self.channels == 3):
            arr = arr[None]
        if arr.dtype.kind not in "uifb":
            raise DataError(f"images must be numeric arrays; got dtype {arr.dtype}")
        x = inputs.array_to_nchw(arr, self.channels if arr.ndim == 4 else None)
        return inputs.to_uint8(x, "the images", self.float_scale)

    def get_state(self) -> dict[str, Any]:
        return {"channels": self.channels, "float_scale": self.float_scale}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ImageProfile:
        return cls(state["channels"], state["float_scale"])


def stats_table(images: list[np.ndarray] | np.ndarray) -> pd.DataFrame:
    """Brightness, contrast, height and width of each uint8 (C,H,W) image."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        n, _, h, w = images.shape
        mean, std = np.zeros(n), np.zeros(n)
        for start in range(0, n, CHUNK):  # float64 copies of a chunk only
            flat = images[start : start + CHUNK].reshape(-1, images[0].size) / 255.0
            if flat.size:
                mean[start : start + CHUNK] = flat.mean(axis=1)
                std[start : start + CHUNK] = flat.std(axis=1)
        rows = {
            "brightness": mean,
            "contrast": std,
            "height": np.full(n, float(h)),
            "width": np.full(n, float(w)),
        }
        return pd.DataFrame(rows, columns=list(STATS))
    rows = []
    for img in images:
        pixels = np.asarray(img, dtype=np.float64) / 255.0
        rows.append(
            (
                float(pixels.mean()) if pixels.size else 0.0,
                float(pixels.std()) if pixels.size else 0.0,
                float(img.shape[1]),
                float(img.shape[2]),
            )
        )
    return pd.DataFrame(rows, columns=list(STATS), dtype=np.float64)


def blank_png_base64(size: tuple[int, int], channels: int) -> str:
    """A mid-gray PNG of ``size`` (h, w) and ``channels``, base64-encoded: the example row of
    a served model's ``/docs``, which it can predict as it is."""
    from PIL import Image

    h, w = size
    buffer = io.BytesIO()
    Image.new("L" if channels == 1 else "RGB", (w, h), "gray").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def images_from_json(payload: Any) -> list[Any]:
    """``{"rows": ["<base64 PNG or JPEG>", ...]}`` as a list of PIL images; DataError for an
    image over MAX_IMAGE_PIXELS or a request over MAX_REQUEST_PIXELS, before it is decoded."""
    from PIL import UnidentifiedImageError

    if not isinstance(payload, dict) or "rows" not in payload:
        raise DataError('send {"rows": ["<base64-encoded PNG or JPEG>", ...]}')
    rows = payload["rows"]
    if not isinstance(rows, list) or not rows:
        raise DataError('"rows" must be a non-empty list of base64-encoded PNG/JPEG images')
    opened, total = [], 0
    for i, item in enumerate(rows):
        img = _open_header(i, item)
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise DataError(
                f"row {i} is a {width}x{height} image ({width * height} pixels), over the "
                f"{MAX_IMAGE_PIXELS} (4096x4096) a served image may have: resize it before "
                "sending"
            )
        total += width * height
        if total > MAX_REQUEST_PIXELS:
            raise DataError(
                f"the images up to row {i} have {total} pixels in all, over the "
                f"{MAX_REQUEST_PIXELS} one request may hold: send fewer or smaller images per "
                "request"
            )
        opened.append((i, img))
    for i, img in opened:
        try:
            img.load()
        except (UnidentifiedImageError, OSError, ValueError):
            raise DataError(f"row {i} could not be decoded as a PNG or JPEG image") from None
    return [img for _, img in opened]


def _open_header(i: int, item: Any) -> Any:
    """Row ``i`` of a request (a base64 string) as a PIL image whose header alone was read."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(item, str):
        raise DataError(f"row {i} is a {type(item).__name__}; send a base64 string")
    try:
        data = base64.b64decode(item, validate=True)
        return Image.open(io.BytesIO(data))  # reads the header only
    except (binascii.Error, ValueError):
        raise DataError(f"row {i} is not valid base64") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"row {i} has too many pixels to decode ({exc})") from None
    except (UnidentifiedImageError, OSError):
        raise DataError(f"row {i} could not be decoded as a PNG or JPEG image") from None
