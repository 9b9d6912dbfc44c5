"""MNIST-style IDX folders (the vision task's ``read_path``). Nothing here downloads anything.

``load_idx(folder)`` reads MNIST-style IDX files (gzip-compressed or raw): the big-endian header
``0x00 0x00 <dtype code> <ndim>``, one 32-bit size per dimension, then the values in row-major
order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from automl.plugin import DataError, ParameterError

# IDX type codes -> numpy big-endian dtypes
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test"), "t10k": ("t10k",)}


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file (``.gz`` or raw) as a numpy array (native byte order)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such IDX file: {path}")
    try:
        with path.open("rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataError(
            f"{path} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'} "
            "(expected 0000 <type code 08..0e> <ndim>)"
        )
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimension(s))")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: the header announces shape {shape} ({expected} bytes of data) but the "
            f"file holds {len(raw) - header} bytes: truncated or corrupt"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def is_idx_folder(path: Path) -> bool:
    """A folder holding IDX files (``*idx3*`` images, ``*idx1*`` labels)."""
    return path.is_dir() and any("idx" in p.name for p in path.iterdir())


def _find(folder: Path, prefixes: tuple[str, ...], kind: str, code: str) -> Path | None:
    for prefix in prefixes:
        hits = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.name.startswith(prefix) and kind in p.name and code in p.name
        )
        if hits:
            return hits[0]
    return None


def load_idx(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split from a folder of MNIST-style IDX files.

    ``split`` is "train" (``train-images-idx3-ubyte[.gz]`` + ``train-labels-idx1-ubyte[.gz]``)
    or "test" (``t10k-...``). Returns ``(x, y)``: uint8 images (N, H, W) and int64 labels (N,).
    """
    folder = Path(path)
    if split not in SPLIT_PREFIXES:
        raise ParameterError(f"split must be one of {sorted(SPLIT_PREFIXES)}; got {split!r}")
    if not folder.is_dir():
        raise DataError(f"no such folder: {folder}")
    images = _find(folder, SPLIT_PREFIXES[split], "images", "idx3")
    labels = _find(folder, SPLIT_PREFIXES[split], "labels", "idx1")
    if images is None or labels is None:
        missing = [n for n, p in (("images (idx3)", images), ("labels (idx1)", labels)) if not p]
        raise DataError(
            f"{folder} holds no {split} {' and '.join(missing)} IDX file; expected e.g. "
            f"{SPLIT_PREFIXES[split][0]}-images-idx3-ubyte.gz and "
            f"{SPLIT_PREFIXES[split][0]}-labels-idx1-ubyte.gz"
        )
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise DataError(f"{images}: expected images of shape (N, H, W); got {x.shape}")
    if y.ndim != 1:
        raise DataError(f"{labels}: expected labels of shape (N,); got {y.shape}")
    if len(x) != len(y):
        raise DataError(f"{images.name} holds {len(x)} images but {labels.name} {len(y)} labels")
    return x, y.astype(np.int64)
