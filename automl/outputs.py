"""Paths the caller names for automl to write to (a model folder, an export, a report, a drift
summary): one that cannot take what is written (a folder where a file goes, a file where a
folder goes, a file among the folders above it) is a DataError naming the path and the fix,
raised before any work is done, instead of an OSError once the work is done.
"""

from __future__ import annotations

import os
from pathlib import Path

from automl.errors import DataError


def check_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a file to write (or replace) ``what`` to; refused when it is a folder or a
    folder above it is a file."""
    target = Path(path)
    if target.is_dir():
        raise DataError(
            f"cannot write {what} to {target}: it is a folder; name a file (inside it, "
            "say) instead"
        )
    _check_parents(target, what)
    return target


def check_folder(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a folder to write ``what`` into; refused when it, or a folder above it, is
    a file."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise DataError(
            f"cannot write {what} to {target}: it is a file, not a folder; name a folder "
            "(a new one, say) instead"
        )
    _check_parents(target, what)
    return target


def _check_parents(target: Path, what: str) -> None:
    """The nearest existing folder above ``target`` must be a folder: a file there makes the
    missing folders impossible to create."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(
                    f"cannot write {what} to {target}: {parent} is a file, not a folder; "
                    "name a path under a folder"
                )
            return
