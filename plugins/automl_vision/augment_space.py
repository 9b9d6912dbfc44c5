"""The augmentation space of the vision families (trial params ``aug.*``), without torch: the
families declare it when the plugin registers, and a fit of another task (a table) imports no
torch for it (some 300 MB of memory)."""

from __future__ import annotations

from typing import Any


def suggest_augmentation(trial: Any, side: int) -> None:
    """The augmentation space shared by every vision family."""
    trial.suggest_int("aug.crop_pad", 0, max(1, side // 7))
    trial.suggest_categorical("aug.flip", (False, True))
    trial.suggest_int("aug.rotate", 0, 15, step=5)
    trial.suggest_float("aug.scale", 0.0, 0.15, step=0.05)


def default_augmentation(channels: int, side: int) -> dict[str, Any]:
    """Crop with padding always; flip only for colour images (grayscale images are often
    digits or documents, where a mirror image is another thing); no rotation."""
    return {
        "aug.crop_pad": max(1, side // 14),
        "aug.flip": channels == 3,
        "aug.rotate": 0,
        "aug.scale": 0.0,
    }
