"""The image classification task: images in, a uint8 (N, C, H, W) train/valid split out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl.plugin import (
    DataError,
    ParameterError,
    RowField,
    RowFormat,
    Task,
    TaskData,
    check_task_options,
    split_target,
    unpack_pair,
)
from automl_vision import inputs
from automl_vision.profile import ImageProfile, stats_table

MAX_EPOCHS = 15


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 (N,C,H,W), on the [0, 1] scale."""
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for start in range(0, len(x), 4096):
        chunk = x[start : start + 4096].astype(np.float64) / 255.0
        total += chunk.sum(axis=(0, 2, 3))
        squares += (chunk**2).sum(axis=(0, 2, 3))
    n = len(x) * x.shape[2] * x.shape[3]
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    return [round(float(m), 6) for m in mean], [round(float(max(s, 1e-3)), 6) for s in std]


def _backbones(pretrained: Any) -> dict[str, Any]:
    """The backbones ``pretrained`` names, resolved and checked (``backbones.resolve``)."""
    if not pretrained:
        return {}
    from automl_vision.backbones import resolve

    return resolve(pretrained)


class VisionTask(Task):
    name = "vision"

    def accepts(self, dataset: Any, target: Any = None) -> float:
        return inputs.accepts(dataset, target)

    def describe_input(self) -> str:
        return inputs.ACCEPTED

    def read_path(self, path: Path, split: str = "train") -> Any:
        """An IDX folder (MNIST layout) as ``(images, labels)`` of ``split``."""
        from automl_vision.idx import is_idx_folder, load_idx

        return load_idx(path, split=split) if is_idx_folder(path) else None

    def explainer(self):
        from automl_vision.explain import VisionExplainer

        return VisionExplainer()

    def parse_rows(self, payload: Any, features: Any) -> Any:
        from automl_vision.profile import images_from_json

        return images_from_json(payload)

    def describe_features(self, features: Any) -> list[dict[str, Any]]:
        h, w = features.size
        return [
            {
                "name": "image",
                "type": "image",
                "detail": f"PNG/JPEG (base64 in JSON); resized to {h}x{w}, "
                f"{features.channels} channel(s)",
            }
        ]

    def row_format(self, features: Any) -> RowFormat:
        from automl_vision.profile import blank_png_base64

        h, w = features.size
        image = RowField(
            "image",
            "string",
            f"a PNG or JPEG image, base64-encoded; resized to {h}x{w}, "
            f"{features.channels} channel(s) (the example: a gray image of that size)",
            format="byte",
            examples=(blank_png_base64(features.size, features.channels),),
        )
        return RowFormat((image,), record=False)

    def exporter(self):
        from automl_vision.export import VisionExporter

        return VisionExporter()

    def adapt(
        self,
        dataset: Any,
        target: Any = None,
        *,
        problem_type: str | None = None,
        valid_fraction: float = 0.2,
        seed: int = 0,
        image_size: Any = None,
        bad_images: str = "error",
        valid: Any = None,
        **options: Any,
    ) -> TaskData:
        """Options: ``image_size`` (int or (h, w)) fixes the size every image is resized to;
        ``bad_images`` ("error" or "skip") for unreadable files in an image folder;
        ``pretrained`` (the core's (name, weights file) pairs) names the torchvision backbones
        to fine-tune, each a model family tried first (``automl_vision.backbones``)."""
        known = {"image_size": None, "bad_images": inputs.BAD_IMAGES, "pretrained": None}
        check_task_options(self.name, {**options, "bad_images": bad_images}, known)
        named = _backbones(options.get("pretrained"))  # checked (and read) before the images
        if problem_type == "regression":
            raise ParameterError(
                "the vision task classifies images; problem_type='regression' is not supported"
            )
        x, labels, summary, scale, stats = self._load(dataset, target, image_size, bad_images)
        if x.ndim == 4 and 0 in x.shape[2:]:
            raise DataError(
                f"the images have size {x.shape[2]}x{x.shape[3]}: there are no pixels to learn "
                "from; pass images of at least 1x1 pixels"
            )
        y_raw = inputs.check_labels(labels)
        if len(y_raw) != len(x):
            raise DataError(
                f"{len(x)} images but {len(y_raw)} labels: pass exactly one label per image"
            )
        if len(x) == 0:
            raise DataError("the data is empty: no images to learn from")
        n_given = 0
        if valid is not None:  # the caller's validation images: the training size and channels
            x_v, labels_v, _, _, _ = self._load(valid, None, tuple(x.shape[2:]), bad_images)
            y_v = inputs.check_labels(labels_v)
            if len(y_v) != len(x_v) or len(x_v) == 0:
                raise DataError(
                    f"the validation data holds {len(x_v)} images and {len(y_v)} labels: pass "
                    "one label per image, at least one image"
                )
            kinds = {"iub" if a.dtype.kind in "iub" else a.dtype.kind for a in (y_raw, y_v)}
            if len(kinds) > 1:
                raise DataError(
                    f"the validation labels are {y_v.dtype} and the training labels "
                    f"{y_raw.dtype}: pass labels of one type"
                )
            x = np.concatenate([x, inputs.fix_channels(x_v, x.shape[1])])
            y_raw = np.concatenate([y_raw, y_v])
            n_given = len(x_v)
        n_classes = len(np.unique(y_raw.astype(str) if y_raw.dtype.kind == "O" else y_raw))
        if problem_type is None:
            problem_type = "binary" if n_classes == 2 else "multiclass"
            reason = f"image labels are classes: {n_classes} distinct label(s)"
        else:
            reason = "given by the caller"
        if n_classes < 2:
            raise DataError(
                f"the labels hold one class only ({y_raw[0]!r}); image classification needs "
                "at least two classes"
            )
        split = split_target(y_raw, problem_type, valid_fraction, seed, n_given_valid=n_given)
        train, valid_rows = split.train, split.valid
        x_train, x_valid = x[train], x[valid_rows]
        mean, std = channel_stats(x_train)
        c, h, w = (int(n) for n in x.shape[1:])
        summary["image_shape"] = [c, h, w]
        return TaskData.from_split(
            split,
            np.ascontiguousarray(x_train),
            np.ascontiguousarray(x_valid),
            input_shape=(c, h, w),
            spec_extra={
                "mean": mean,
                "std": std,
                "channels": c,
                "size": [h, w],
                **({"backbones": named} if named else {}),
            },
            features=inputs.ImageEncoder(c, (h, w), bad_images, scale),
            summary=summary,
            reason=reason,
            max_epochs=MAX_EPOCHS,
            profile=ImageProfile(c, scale),
            profile_rows=stats.iloc[train].reset_index(drop=True),
            first_families=tuple(named),
        )

    def _load(  # noqa: C901
        self, dataset: Any, target: Any, image_size: Any, bad_images: str
    ) -> tuple[np.ndarray, Any, dict[str, Any], str, Any]:
        """uint8 (N,C,H,W) images, their raw labels, notes for the summary, how float
        pixels are read (``inputs.FLOAT_SCALES``: fixed here, applied again at predict) and the
        drift statistics of each image as it came in (``profile.stats_table``)."""
        summary: dict[str, Any] = {}
        if isinstance(dataset, tuple):
            dataset, target = unpack_pair(dataset, target, "images", "labels")
        if isinstance(dataset, (str, Path)):
            folder = Path(dataset)
            if not folder.is_dir():
                raise DataError(f"no such image folder: {folder}")
            images, labels, notes = inputs.read_class_folder(folder, bad_images)
            summary.update(source="folder", **notes)
            stats = stats_table(images)
            return self._stack(images, image_size, summary), labels, summary, "unit", stats
        if inputs.is_torch_dataset(dataset):
            images, labels, scale = inputs.read_dataset(dataset)
            summary["source"] = "dataset"
            stats = stats_table(images)
            return self._stack(images, image_size, summary), labels, summary, scale, stats
        if target is None:
            raise DataError("images need labels: pass (x, y) or fit(x, y)")
        x = inputs.array_to_nchw(dataset)
        if 0 in x.shape[2:]:
            raise DataError(
                f"the images have size {x.shape[2]}x{x.shape[3]}: there are no pixels to learn "
                "from; pass images of at least 1x1 pixels"
            )
        n_labels = len(target) if hasattr(target, "__len__") else None
        if n_labels is not None and n_labels != len(x):
            raise DataError(
                f"{len(x)} images but {n_labels} labels: pass exactly one label per image"
            )
        scale = inputs.float_scale(x) if x.dtype.kind == "f" else "unit"
        x = inputs.to_uint8(x, scale=scale)
        stats = stats_table(x)
        x = inputs.fix_channels(x, 1 if x.shape[1] == 1 else 3)
        if image_size is not None and 0 not in x.shape[2:]:
            x = inputs.resize(x, inputs.choose_size([], image_size))
        summary["source"] = "array"
        return x, target, summary, scale, stats

    @staticmethod
    def _stack(images: list[np.ndarray], image_size: Any, summary: dict[str, Any]) -> np.ndarray:
        if not images:
            raise DataError("the data is empty: no images to learn from")
        sizes = [tuple(img.shape[1:]) for img in images]
        size = inputs.choose_size(sizes, image_size)
        channels = inputs._pick_channels(
            {img.shape[0] if img.shape[0] != 4 else 3 for img in images}
        )
        summary["resized_images"] = sum(s != size for s in sizes)
        return inputs.stack_images(images, size, channels)
