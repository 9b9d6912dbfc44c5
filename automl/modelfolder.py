"""A model folder on disk: written whole into a temporary folder and swapped in, and read only
through its manifest.

``MANIFEST.json`` lists every file of the folder with its sha256, under a format version and a
digest of that list. Loading refuses, before anything is read: a missing or malformed manifest,
a digest that does not match, a listed file that is missing or changed, any file in the folder
that is not listed, a path that leaves the folder, and links. Reading a file that is not listed
is an error too (``Listing.path``).

Saving writes the new folder beside the target and exchanges the two in one rename (Linux's
``renameat2(RENAME_EXCHANGE)``; elsewhere two renames), so the target is always the old model or
the new one, and nothing of the old one (a stale file) survives in the new one.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from automl.errors import DataError

MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = 2


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def write_manifest(folder: Path, names: list[str]) -> None:
    files = {name: sha256(folder / name) for name in sorted(set(names))}
    doc = {"format": MANIFEST_FORMAT, "files": files, "digest": _digest(files)}
    (folder / MANIFEST).write_text(json.dumps(doc, indent=1))


@dataclass
class Listing:
    """The verified files of a model folder."""

    folder: Path
    files: dict[str, str]

    def path(self, name: str) -> Path:
        """The path of a listed file; a name the manifest does not list is refused."""
        if name not in self.files:
            raise DataError(
                f"model folder {self.folder} does not list {name} in its {MANIFEST}: refusing "
                "to read it"
            )
        return self.folder / name


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return (
        bool(name)
        and "\\" not in name
        and not p.is_absolute()
        and all(part not in ("", ".", "..") for part in p.parts)
        and name == str(p)
    )


def verify(folder: Path) -> Listing:  # noqa: C901
    """Check the folder against its manifest (see the module docstring)."""
    if not folder.is_dir():
        raise DataError(f"no model folder at {folder}")
    if folder.is_symlink():
        raise DataError(f"{folder} is a link; load the model folder itself")
    manifest = folder / MANIFEST
    if not manifest.is_file() or manifest.is_symlink():
        raise DataError(f"{folder} is not an automl model folder (no {MANIFEST})")
    try:
        doc = json.loads(manifest.read_text())
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{manifest} is not valid JSON: refusing to load") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise DataError(
            f"{folder} has manifest format {found!r}; this automl reads format "
            f"{MANIFEST_FORMAT}. Folders of format 1 held pickles, which can run code when "
            "loaded: fit the model again (or load it with the automl that saved it, on a "
            "trusted machine, and save it with this one)"
        )
    files = doc.get("files")
    if not isinstance(files, dict) or not files or doc.get("digest") != _digest(files):
        raise DataError(f"{manifest} is damaged (its file list does not match its digest)")
    bad = [n for n in files if not (isinstance(n, str) and _safe_name(n))]
    if bad:
        raise DataError(f"{manifest} lists paths outside the folder: {bad[:3]}")
    root = folder.resolve()
    for name, expected in files.items():
        path = folder / name
        # links inside the folder only: the folders above it are the user's (macOS's /tmp is one)
        inside = [folder / p for p in PurePosixPath(name).parents if p != PurePosixPath(".")]
        if path.is_symlink() or any(p.is_symlink() for p in inside):
            raise DataError(f"{path} is a link: refusing to load")
        if not path.is_file():
            raise DataError(f"model folder {folder} is missing {name}")
        if not path.resolve().is_relative_to(root):
            raise DataError(f"{path} lies outside the model folder: refusing to load")
        if sha256(path) != expected:
            raise DataError(f"{path} does not match its checksum in {MANIFEST}: refusing to load")
    present = {
        str(p.relative_to(folder).as_posix())
        for p in folder.rglob("*")
        if p.is_file() or p.is_symlink()
    }
    extra = sorted(present - set(files) - {MANIFEST})
    if extra:
        raise DataError(
            f"model folder {folder} holds file(s) its {MANIFEST} does not list: {extra[:5]}; "
            "refusing to load (remove them, or save the model again)"
        )
    return Listing(folder, dict(files))


# -- writing ------------------------------------------------------------------------------------
def write_folder(target: Path, fill: Callable[[Path], list[str]]) -> Path:
    """Write a model folder at ``target``: ``fill(tmp)`` writes the files into an empty
    temporary folder beside it and returns their names; the manifest is added and the folder
    swapped in. On any error the temporary folder is removed and ``target`` is untouched. An
    existing ``target`` is replaced only when empty or an intact model folder
    (``_unreplaceable``), so no file automl did not write is ever deleted."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        if target.is_symlink() or not target.is_dir():
            raise DataError(f"{target} exists and is not a folder: refusing to replace it")
        why = _unreplaceable(target)
        if why is not None:
            raise DataError(
                f"{target} is not an automl model folder save may replace ({why}): refusing "
                "to replace it; save to a new or empty folder"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.saving-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        names = fill(tmp)
        write_manifest(tmp, names)
        _sync(tmp)
        if not target.exists():
            os.rename(tmp, target)
        elif _exchange(tmp, target):
            shutil.rmtree(tmp)  # now the old model
        else:
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _unreplaceable(folder: Path) -> str | None:
    """None when ``folder`` is empty or holds an automl manifest whose digest matches and
    nothing but the files it lists, unchanged (no link); otherwise why not. Reads only."""
    if not any(folder.iterdir()):
        return None
    manifest = folder / MANIFEST
    if not manifest.is_file() or manifest.is_symlink():
        return f"no {MANIFEST}"
    try:
        doc = json.loads(manifest.read_text())
    except (ValueError, UnicodeDecodeError):
        doc = None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not (
        isinstance(files, dict)
        and doc.get("format") == MANIFEST_FORMAT
        and doc.get("digest") == _digest(files)
    ):
        return f"its {MANIFEST} is not an automl manifest whose digest matches"
    present: dict[str, Path] = {}
    for root, dirs, names in os.walk(folder):  # links to folders are listed, not entered
        for name in [*names, *(d for d in dirs if Path(root, d).is_symlink())]:
            path = Path(root, name)
            present[path.relative_to(folder).as_posix()] = path
    odd = sorted(n for n, path in present.items() if path.is_symlink() or not path.is_file())
    if odd:
        return f"it holds links or special files: {odd[:5]}"
    unlisted = sorted(set(present) - set(files) - {MANIFEST})
    if unlisted:
        return f"it holds files its {MANIFEST} does not list: {unlisted[:5]}"
    changed = sorted(n for n in set(files) & set(present) if sha256(present[n]) != files[n])
    return f"files changed since it was saved: {changed[:5]}" if changed else None


def _sync(folder: Path) -> None:
    """Flush the new files to disk before they replace the old ones."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (renameat2 with RENAME_EXCHANGE); False where the system or
    file system has no such call."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))
