"""The text inputs we accept, turned into (texts, labels, notes), and how surely an input is text.

Accepted: ``(texts, labels)`` with texts a list/tuple/1-D array/Series of strings; a DataFrame
with ``target=`` and a free-text column (found when there is one obvious one, or named with
``text_column=``); a CSV/TSV path read the same way; a folder with one sub-folder of ``.txt``
files per class. Missing and empty texts become ``""`` (counted, with a warning); other
non-string values are a ``DataError``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, is_table_path, read_table, unpack_pair

MAX_CHARS = 20_000  # longer texts are cut here (reported); no searched sequence gets near it
ACCEPTED = (
    "text: (texts, labels) with texts a list/Series of strings; a DataFrame or CSV path with "
    "target='column' and one free-text column (or text_column='name'); a folder with one "
    "sub-folder of .txt files per class"
)
SNIFF_ROWS = 300


def is_class_folder(obj: Any) -> bool:
    """A folder whose sub-folders (at least one) hold .txt files."""
    if not isinstance(obj, (str, Path)):
        return False
    path = Path(obj)
    if not path.is_dir():
        return False
    return any(sub.is_dir() and any(sub.glob("*.txt")) for sub in path.iterdir())


def read_folder(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and labels from ``path/<class>/*.txt`` (the sub-folder name is the label)."""
    texts, labels = [], []
    for sub in sorted(p for p in Path(path).iterdir() if p.is_dir()):
        for file in sorted(sub.glob("*.txt")):
            texts.append(file.read_text(encoding="utf-8", errors="replace"))
            labels.append(sub.name)
    if not texts:
        raise DataError(f"the folder {path} holds no <class>/*.txt files")
    return texts, labels


def looks_like_text(values: Any) -> bool:
    """Free text: strings of several words on average, mostly distinct."""
    sample = pd.Series(values).dropna()
    sample = sample.iloc[:SNIFF_ROWS]
    if len(sample) == 0 or not all(isinstance(v, str) for v in sample):
        return False
    words = sample.str.split().str.len().mean()
    unique = sample.nunique() / len(sample)
    return bool(words >= 3.0 and unique >= 0.5)


def text_columns(frame: pd.DataFrame, target: Any = None) -> list[str]:
    return [
        c
        for c in frame.columns
        if c != target and is_string_column(frame[c]) and looks_like_text(frame[c])
    ]


def is_string_column(column: pd.Series) -> bool:
    """A column of strings (object or string dtype), free text or not."""
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def _is_string_sequence(x: Any) -> bool:
    if isinstance(x, pd.Series):
        values = x.iloc[:SNIFF_ROWS]
    elif isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim == 1):
        values = x[:SNIFF_ROWS]
    else:
        return False
    present = [v for v in values if not _missing(v)]
    return bool(present) and sum(isinstance(v, str) for v in present) >= 0.9 * len(present)


def _frame_score(frame: pd.DataFrame, target: Any) -> float:
    if target is None or target not in frame.columns:
        return 0.0
    found = text_columns(frame, target)
    if len(found) != 1:
        return 0.0
    others = [c for c in frame.columns if c not in (target, found[0])]
    # one text column and the target: certainly text; with other feature columns, the tabular
    # task (0.9) keeps the table unless task="text" is given (mixed inputs are out of scope)
    return 0.95 if not others else 0.6


def accepts(dataset: Any, target: Any) -> float:
    """How surely this input is text (the tabular task says 0.9 for tables, 0.8 for paths)."""
    try:
        if isinstance(dataset, tuple) and len(dataset) == 2:
            return 0.95 if _is_string_sequence(dataset[0]) else 0.0
        if isinstance(dataset, pd.DataFrame):
            return _frame_score(dataset, target)
        if is_table_path(dataset):
            if not Path(dataset).is_file():
                return 0.0
            return _frame_score(read_table(dataset, nrows=SNIFF_ROWS), target)
        if is_class_folder(dataset):
            return 0.95
    except Exception:  # sniffing never raises: adapt reports what is wrong
        return 0.0
    return 0.0


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT
    except TypeError:
        return False


def clean_texts(
    values: Any, *, empty_texts: str = "warn", where: str = "the texts", fitting: bool = True
) -> tuple:
    """Strings as an object array, plus notes. Missing values become ""; they and empty
    strings are counted (a warning, or DataError with ``empty_texts="error"``); non-strings
    are a DataError; texts over MAX_CHARS characters are cut. Only ``fitting`` refuses texts
    that are all empty (nothing to learn): predict reads them as it does in a larger batch."""
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    arr = np.asarray(arr, dtype=object)
    if arr.ndim != 1:
        raise DataError(f"{where} must be one-dimensional (one text per row); got {arr.shape}")
    missing = np.array([_missing(v) for v in arr], dtype=bool)
    bad = [i for i, v in enumerate(arr) if not missing[i] and not isinstance(v, str)]
    if bad:
        rows = ", ".join(f"{i} ({type(arr[i]).__name__} {arr[i]!r:.30})" for i in bad[:5])
        rows += " ..." if len(bad) > 5 else ""
        raise DataError(
            f"{where} hold {len(bad)} non-string value(s) (rows {rows}); "
            "pass strings: convert with .astype(str) if the numbers are meant as text"
        )
    out = np.array(["" if m else v for v, m in zip(arr, missing)], dtype=object)
    notes: list[str] = []
    n_missing = int(missing.sum())
    n_empty = int(sum(1 for v, m in zip(out, missing) if not m and not v.strip()))
    if n_missing + n_empty:
        if fitting and n_missing + n_empty == len(out):
            raise DataError(f"all {len(out)} of {where} are empty or missing: nothing to learn")
        msg = (
            f"{n_missing + n_empty} of {len(out)} texts in {where} are empty or missing "
            f"({n_missing} missing, {n_empty} empty)"
        )
        if empty_texts == "error":
            raise DataError(msg + "; drop or fill them, or pass empty_texts='warn'")
        msg += "; they are treated as empty strings"
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
    long = [i for i, v in enumerate(out) if len(v) > MAX_CHARS]
    if long:
        for i in long:
            out[i] = out[i][:MAX_CHARS]
        notes.append(f"{len(long)} text(s) longer than {MAX_CHARS} characters were cut there")
    return out, notes


def split_text_input(dataset: Any, target: Any, text_column: str | None) -> tuple:  # noqa: C901
    """(raw texts, labels, column name or None, notes) from any accepted input."""
    notes: list[str] = []
    if isinstance(dataset, tuple):
        texts, y = unpack_pair(dataset, target, "texts", "labels")
        if isinstance(texts, str):
            raise DataError("texts must be a list of strings, not a single string")
        if isinstance(texts, pd.DataFrame):
            return _from_frame(texts.assign(**{"__y__": np.asarray(y)}), "__y__", text_column)
        if len(texts) != len(y):
            raise DataError(f"there are {len(texts)} texts but {len(y)} labels: they must match")
        # a named Series (df["text"]): predict finds that column in a frame
        name = texts.name if isinstance(texts, pd.Series) else None
        return texts, y, name if isinstance(name, str) else None, notes
    if is_class_folder(dataset):
        texts, y = read_folder(dataset)
        notes.append(f"read {len(texts)} .txt files from {len(set(y))} class folders")
        return texts, y, None, notes
    if isinstance(dataset, (str, Path)) and Path(dataset).is_dir():
        raise DataError(f"the folder {dataset} has no sub-folders of .txt files (one per class)")
    if is_table_path(dataset):
        dataset = read_table(dataset)
    if isinstance(dataset, pd.DataFrame):
        return _from_frame(dataset, target, text_column)
    raise DataError(f"input of type {type(dataset).__name__} is not text; accepted: {ACCEPTED}")


def _from_frame(frame: pd.DataFrame, target: Any, text_column: str | None) -> tuple:
    if target is None:
        raise DataError(
            f"a DataFrame needs target='column' naming the labels; columns: {list(frame)[:20]}"
        )
    if target not in frame.columns:
        raise DataError(
            f"target column {target!r} is not in the data; columns: {list(frame)[:20]}"
        )
    notes: list[str] = []
    if text_column is not None:
        if text_column not in frame.columns:
            raise DataError(
                f"text_column {text_column!r} is not in the data; columns: {list(frame)[:20]}"
            )
        column = text_column
    else:
        found = text_columns(frame, target)
        candidates = [c for c in frame.columns if c != target and is_string_column(frame[c])]
        if len(found) == 1:
            column = found[0]
            notes.append(f"text column {column!r} found automatically")
        elif len(candidates) == 1 and len(frame.columns) == 2:
            column = candidates[0]
            notes.append(f"text column {column!r}: the only non-target column")
        else:
            raise DataError(
                f"cannot tell which column holds the text ({len(found)} free-text column(s) "
                f"found: {found[:10]}); name it with text_column='...'"
            )
    ignored = [c for c in frame.columns if c not in (target, column)]
    if ignored:
        notes.append(
            f"columns {ignored[:10]} ignored: the text task reads one text column (mixed text "
            "and tabular features are not supported)"
        )
    return frame[column], frame[target], column, notes
