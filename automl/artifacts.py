"""Saving the fitted parts of a model without pickles.

A fitted part (the task's feature encoder, a family's featurizer) is written as its *state*:
``get_state()`` returns JSON values and numpy arrays, written as ``<stem>.json`` (with the class
name) and ``<stem>.npz`` (read with ``allow_pickle=False``); ``from_state`` rebuilds it. The class
is looked up only among the loaded plugins' packages and must subclass the expected base, so a
model folder names no code to import beyond what is already installed and trusted.

scikit-learn estimators (and a plugin's part that has no state) are written with skops, whose
loader rebuilds only types it trusts: scikit-learn's own estimators, the tree structures below,
and whatever the caller adds with ``trusted=[...]``. Nothing here calls ``pickle``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from automl import schema as schemas
from automl.errors import DataError, ParameterError

# scikit-learn's own fitted tree structures, which skops lists as untrusted by default: they
# hold arrays and rebuild through their own __setstate__, never through a named callable.
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
ARRAY = "__ndarray__"


# -- the state codec -----------------------------------------------------------------------------
def encode(state: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON values as they are; numpy arrays moved to ``arrays`` and referenced by key."""
    if isinstance(state, dict):
        for key in state:
            if not isinstance(key, str):
                raise ParameterError(f"state keys must be strings; got {key!r}")
        return {k: encode(v, arrays) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [encode(v, arrays) for v in state]
    if isinstance(state, np.ndarray):
        if state.dtype.kind == "O":  # strings held as objects: fixed-width unicode instead
            if not all(isinstance(v, str) for v in state.ravel()):
                raise ParameterError("object arrays in a state must hold strings only")
            state = state.astype(str)
        key = f"a{len(arrays)}"
        arrays[key] = state
        return {ARRAY: key}
    if isinstance(state, np.generic):
        return state.item()
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    raise ParameterError(f"a state holds JSON values and numpy arrays; got {type(state).__name__}")


def decode(value: Any, arrays: Any, file: Any = "the state") -> Any:
    """``value`` with its array references replaced by ``arrays``; ``file`` (the part's JSON
    file) is named when a reference is missing."""
    if isinstance(value, dict):
        if set(value) == {ARRAY}:
            key = value[ARRAY]
            if not isinstance(key, str) or key not in arrays:
                raise DataError(f"{file} names the array {key!r}, which its .npz lacks")
            return arrays[key]
        return {k: decode(v, arrays, file) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays, file) for v in value]
    return value


# -- classes, looked up among the loaded plugins only --------------------------------------------
def class_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_class(name: str, base: type, packages: set[str]) -> type:
    """The class ``module:QualName``, imported only from ``packages`` (automl and the loaded
    plugins) and only if it subclasses ``base``."""
    module, _, qualname = name.partition(":")
    if not module or not qualname or module.split(".")[0] not in packages:
        raise DataError(
            f"the model folder names the class {name!r}, which no loaded plugin provides "
            f"(packages: {sorted(packages)}); install or pass the plugin it came from"
        )
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise DataError(f"the class {name!r} named by the model folder does not exist") from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise DataError(f"{name!r} is not a {base.__name__}: refusing to load it")
    return obj


# -- writing and reading one part ----------------------------------------------------------------
def save_part(obj: Any, folder: Path, stem: str) -> tuple[dict[str, Any], list[str]]:
    """Write ``obj`` as ``stem.json`` (+ ``stem.npz``), or ``stem.skops`` when it has no state;
    returns (its config entry, the file names written, relative to ``folder``)."""
    state = obj.get_state() if hasattr(obj, "get_state") else None
    if state is None:
        save_skops(obj, folder / f"{stem}.skops")
        return {"format": "skops", "class": class_name(obj)}, [f"{stem}.skops"]
    arrays: dict[str, np.ndarray] = {}
    doc = {"class": class_name(obj), "state": encode(state, arrays)}
    (folder / f"{stem}.json").write_text(json.dumps(doc))
    written = [f"{stem}.json"]
    if arrays:
        np.savez(folder / f"{stem}.npz", **arrays)
        written.append(f"{stem}.npz")
    return {"format": "state", "class": doc["class"], "arrays": bool(arrays)}, written


def load_part(
    entry: dict[str, Any],
    read: Any,
    stem: str,
    base: type,
    packages: set[str],
    trusted: tuple[str, ...] = (),
    schema: Any = None,
) -> Any:
    """Rebuild a part written by ``save_part``; ``read(name)`` returns the verified path of a
    listed file of the folder. ``schema`` (``automl.schema``) checks the decoded state first;
    whatever else is wrong with it is a DataError naming the file (``schema.reading``)."""
    if entry.get("format") == "skops":
        return load_skops(read(f"{stem}.skops"), trusted, base)
    if entry.get("format") != "state":
        raise DataError(f"unknown part format {entry.get('format')!r} for {stem}")
    path = read(f"{stem}.json")
    doc = schemas.read_json(path)
    schemas.validate(doc, schemas.PART_FILE, path, "part file")
    cls = resolve_class(doc["class"], base, packages)
    arrays: dict[str, np.ndarray] = {}
    if entry.get("arrays"):
        npz_path = read(f"{stem}.npz")
        with schemas.reading(npz_path), np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    with schemas.reading(path):
        state = decode(doc["state"], arrays, path)
        if schema is not None:
            schemas.validate(state, schema, path, f"{cls.__name__} state")
        return cls.from_state(state)


def save_skops(obj: Any, path: Path) -> None:
    import skops.io

    skops.io.dump(obj, path)


def load_skops(path: Path, trusted: tuple[str, ...] = (), base: type | None = None) -> Any:
    """Load a skops file, refusing (before anything is built) any type outside scikit-learn's
    defaults, ``TRUSTED_TYPES`` and ``trusted``."""
    import zipfile

    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError):
        raise DataError(f"refusing to load {path.name}: it is not a skops file") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES) - set(trusted))
    if refused:
        raise DataError(
            f"refusing to load {path.name}: it holds type(s) {refused}, which automl does not "
            "trust by default. Only if you trust where this model folder came from: "
            f"automl.load(path, trusted={refused})"
        )
    obj = skops.io.load(path, trusted=list(untrusted))
    if base is not None and not isinstance(obj, base):
        raise DataError(f"{path.name} holds a {type(obj).__name__}, not a {base.__name__}")
    return obj
