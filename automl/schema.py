"""What the documents of a model folder hold, checked on load: ``config.json`` and the drift
reference (``drift.json`` with its arrays).

A folder rewritten with a recomputed manifest passes its checksums (``automl.modelfolder``);
its documents are then checked here against what ``automl.persistence`` writes, so a missing
key, a value of the wrong type, an empty list or a negative count is a ``DataError`` naming the
file and the value, not a ``KeyError`` on load or a drift check silently switched off. The
schemas are declared once, below, with a few small builders; ``reading`` turns what a plugin's
own ``from_state`` raises on a rewritten state into the same error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import DataError, PluginError
from automl.targets import PROBLEM_TYPES

Check = Callable[[Any, str], None]  # raises Invalid naming where (a key path) and what is wrong
CHANGED = (
    "the model folder was changed after automl saved it (or by another version of a "
    "plugin): refusing to load it; save or fit the model again"
)


class Invalid(Exception):
    """A value that does not match its schema; the message says where and what."""


def validate(value: Any, schema: Check, file: str | Path, what: str) -> None:
    """Check a document read from ``file`` (a ``what``: "model config", ...)."""
    try:
        schema(value, "")
    except Invalid as exc:
        raise DataError(f"{file} is not a valid {what}: {exc}; {CHANGED}") from None


@contextmanager
def reading(file: str | Path) -> Iterator[None]:
    """Rebuilding a part from ``file``: the builtin errors a rewritten state raises in a
    ``from_state`` or a model kind's ``load`` become a DataError naming the file."""
    try:
        yield
    except (DataError, PluginError):
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, NotImplementedError) as e:
        raise DataError(f"{file} cannot be read back ({type(e).__name__}: {e}); {CHANGED}") from e


def read_json(file: Path) -> Any:
    """A JSON document of the model folder; DataError naming the file when it is not one."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{file} is not valid JSON; {CHANGED}") from None


# -- builders ------------------------------------------------------------------------------------
def _at(where: str) -> str:
    return where or "the document"


def _got(value: Any) -> str:
    return f"got {type(value).__name__} {value!r:.40}"


def string(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{_at(where)} must be a non-empty string; {_got(value)}")


def anything(value: Any, where: str) -> None:
    """Any JSON value."""


def scalar(value: Any, where: str) -> None:
    if not (value is None or isinstance(value, (str, int, float, bool))):
        raise Invalid(f"{_at(where)} must be a number, string, boolean or null; {_got(value)}")


def dtype_name(value: Any, where: str) -> None:
    """The name of a numpy dtype ("int64", "<U5", "object", ...)."""
    try:
        known = isinstance(value, str) and np.dtype(value) is not None
    except (TypeError, ValueError):
        known = False
    if not known:
        raise Invalid(f"{_at(where)} must name a numpy dtype; {_got(value)}")


def boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise Invalid(f"{_at(where)} must be true or false; {_got(value)}")


def integer(minimum: int | None = None) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{_at(where)} must be an integer; {_got(value)}")
        if minimum is not None and value < minimum:
            raise Invalid(f"{_at(where)} must be at least {minimum}; {_got(value)}")

    return check


def number(minimum: float | None = None, positive: bool = False, finite: bool = True) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Invalid(f"{_at(where)} must be a number; {_got(value)}")
        if finite and not math.isfinite(value):
            raise Invalid(f"{_at(where)} must be a finite number; {_got(value)}")
        if positive and not value > 0:
            raise Invalid(f"{_at(where)} must be above 0; {_got(value)}")
        if minimum is not None and value < minimum:
            raise Invalid(f"{_at(where)} must be at least {minimum}; {_got(value)}")

    return check


def one_of(*choices: Any) -> Check:
    def check(value: Any, where: str) -> None:
        if not any(value == c and type(value) is type(c) for c in choices):
            raise Invalid(f"{_at(where)} must be one of {list(choices)}; {_got(value)}")

    return check


def nullable(inner: Check) -> Check:
    def check(value: Any, where: str) -> None:
        if value is not None:
            inner(value, where)

    return check


def list_of(item: Check, min_len: int = 0) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise Invalid(f"{_at(where)} must be a list; {_got(value)}")
        if len(value) < min_len:
            raise Invalid(f"{_at(where)} must hold at least {min_len} item(s); got {value!r:.40}")
        for i, v in enumerate(value):
            item(v, f"{where}[{i}]")

    return check


def dict_of(item: Check) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise Invalid(f"{_at(where)} must be an object; {_got(value)}")
        for k, v in value.items():
            if not isinstance(k, str):
                raise Invalid(f"{_at(where)} must have string keys; got {k!r:.40}")
            item(v, f"{where}.{k}" if where else k)

    return check


def obj(
    required: dict[str, Check],
    optional: dict[str, Check] | None = None,
    rules: tuple[tuple[Callable[[dict], bool], str], ...] = (),
) -> Check:
    """An object with ``required`` keys, ``optional`` ones (checked when present; others are
    let through) and ``rules`` across its keys: (holds(doc), what it says)."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise Invalid(f"{_at(where)} must be an object; {_got(value)}")
        for key, inner in {**required, **(optional or {})}.items():
            if key in value:
                inner(value[key], f"{where}.{key}" if where else key)
            elif key in required:
                raise Invalid(f"{_at(where)} lacks the key {key!r}")
        for holds, says in rules:
            if not holds(value):
                raise Invalid(f"{_at(where)}: {says}")

    return check


def array(non_negative: bool = False) -> Check:
    """A 1-D array of finite numbers (a decoded state's ``.npz`` array, or a JSON list)."""

    def check(value: Any, where: str) -> None:
        arr = np.asarray(value) if isinstance(value, (np.ndarray, list)) else None
        if arr is None or arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iuf"):
            raise Invalid(f"{_at(where)} must be a 1-D array of numbers; {_got(value)}")
        if not np.all(np.isfinite(arr)) or (non_negative and np.any(arr < 0)):
            sign = "non-negative " if non_negative else ""
            raise Invalid(f"{_at(where)} must hold {sign}finite numbers; got {arr[:8]!r}")

    return check


# -- config.json ---------------------------------------------------------------------------------
PART = obj({"format": one_of("state", "skops"), "class": string}, {"arrays": boolean})
PART_FILE = obj({"class": string, "state": anything})  # <stem>.json of a part
SPEC = obj(
    {
        "input_shape": list_of(integer(0)),
        "n_outputs": integer(1),
        "problem_type": one_of(*PROBLEM_TYPES),
        "extra": dict_of(anything),
    }
)
TARGET = obj(
    {"problem_type": one_of(*PROBLEM_TYPES), "classes": nullable(list_of(scalar, min_len=2))},
    {
        "dtype": nullable(dtype_name),
        "categories": nullable(obj({"categories": list_of(scalar), "ordered": boolean})),
    },
    rules=(
        (
            lambda t: (t["problem_type"] == "regression") == (t["classes"] is None),
            "a classifier's target lists its classes (2 or more); a regression's has none",
        ),
    ),
)

MEMBER = obj(
    {
        "family": string,
        "kind": string,
        "params": dict_of(anything),
        "weight": number(positive=True),
        "spec": SPEC,
    },
    {
        "trial": nullable(integer(0)),
        "epochs": nullable(number(minimum=0)),
        "featurizer": nullable(PART),
    },
)


def _outputs_agree(config: dict) -> bool:
    spec, target = config["spec"], config["target"]
    if spec["problem_type"] != target["problem_type"]:
        return False
    n = 1 if target["classes"] is None else len(target["classes"])
    return spec["n_outputs"] == n and all(m["spec"]["n_outputs"] == n for m in config["members"])


CONFIG = obj(
    {
        "format": integer(),
        "task": string,
        "features": PART,
        "members": list_of(MEMBER, min_len=1),
        "spec": SPEC,
        "target": TARGET,
        "metric": string,
        "problem_type_reason": string,
        "valid_score": number(finite=False),
        "best_trial": nullable(integer(0)),
        "refit": boolean,
        "timings": dict_of(number()),
        "summary": dict_of(anything),
        "study_name": nullable(string),
        "storage": nullable(string),
    },
    {
        "automl_version": string,
        "profile": nullable(PART),
        "drift": nullable(PART),
        "metric_direction": nullable(one_of("maximize", "minimize")),
        "positive": scalar,
        "target_name": scalar,
    },
    rules=(
        (
            _outputs_agree,
            "the problem type, the classes and the outputs of spec, target and members disagree",
        ),
    ),
)


# -- the drift reference (drift.json + drift.npz, decoded) ---------------------------------------
def _n_bins(b: dict) -> int:
    """Bins of a FeatureBins state: one per numeric interval or kept level, and missing."""
    return len(b["edges"]) + 2 if b["kind"] == "numeric" else len(b["levels"]) + 1


def _numeric_shape(b: dict) -> bool:
    edges = np.asarray(b["edges"])
    return len(edges) >= 1 and bool(np.all(np.diff(edges) > 0)) and not b["levels"]


def _categorical_shape(b: dict) -> bool:
    levels = b["levels"]
    return bool(levels) and levels[-1] == "other"


BINS = obj(
    {
        "name": string,
        "kind": one_of("numeric", "categorical"),
        "edges": array(),
        "levels": list_of(string),
        "counts": array(non_negative=True),
    },
    rules=(
        (
            lambda b: b["kind"] != "numeric" or _numeric_shape(b),
            "numeric bins need increasing edges (one at least) and no levels",
        ),
        (
            lambda b: b["kind"] != "categorical" or _categorical_shape(b),
            "categorical bins need levels, the last one 'other'",
        ),
        (
            lambda b: len(b["counts"]) == _n_bins(b),
            "counts must hold one entry per bin and one for missing values",
        ),
    ),
)
DRIFT_REFERENCE = obj(
    {
        "features": list_of(BINS, min_len=1),
        "prediction": BINS,
        "class_priors": nullable(dict_of(number(minimum=0.0))),
        "rows": integer(1),
    },
    {"psi_threshold": number()},
    rules=(
        (
            lambda d: len({f["name"] for f in d["features"]}) == len(d["features"]),
            "two features have one name",
        ),
        (
            lambda d: all(np.sum(f["counts"]) == d["rows"] for f in d["features"]),
            "each feature's counts must add up to rows (the reference rows)",
        ),
    ),
)
