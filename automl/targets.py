"""Target validation, problem-type inference, label encoding and the train/valid split.

Modality-agnostic: every task plugin hands its labels through here, so the same bad-input rules
(empty, NaN/inf, one class, a class too rare to split) hold for tables, images and text alike;
``TaskData.from_split`` (``automl.task``) then builds the task's ``TaskData`` from its split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from automl.errors import DataError, ParameterError

ProblemType = Literal["binary", "multiclass", "regression"]
PROBLEM_TYPES: tuple[str, ...] = ("binary", "multiclass", "regression")

# An integer target with at most this many distinct values (and few per row) is read as classes.
MAX_INFERRED_CLASSES = 30


@dataclass
class TargetEncoder:
    """Maps user labels to class ids 0..k-1 and back; identity for regression.

    ``dtype`` is the numpy dtype of the labels as the user gave them ("int64", "bool", "<U5",
    "object" ...) and ``categories`` a pandas categorical's categories and order, so that
    ``decode`` (what ``predict`` returns) gives labels of the same type: int stays int, bool stays
    bool, strings stay strings, and a categorical target comes back as a ``pd.Categorical`` with
    its categories.
    """

    problem_type: str
    classes: list[Any] | None = None
    dtype: str | None = None
    categories: dict[str, Any] | None = None

    def encode(self, y: Any) -> np.ndarray:
        values = _as_1d(y)
        if self.problem_type == "regression":
            return values.astype(np.float32)
        if _all_text(values) and all(isinstance(c, str) for c in self.classes):
            found = pd.Index(np.asarray(self.classes, dtype=object)).get_indexer(values)
            if (found < 0).any():
                unseen = values[np.flatnonzero(found < 0)[0]]
                raise DataError(
                    f"label {unseen!r} was not seen in training; known classes: {self.classes}"
                )
            return found.astype(np.int64)
        index = {c: i for i, c in enumerate(self.classes)}
        try:
            return np.array([index[_plain(v)] for v in values], dtype=np.int64)
        except KeyError as exc:
            raise DataError(
                f"label {exc.args[0]!r} was not seen in training; known classes: {self.classes}"
            ) from None
        except TypeError:  # an unhashable label (a list, say)
            bad = next(v for v in values if not _hashable(v))
            raise DataError(
                f"labels must be plain values (numbers, strings, booleans); got "
                f"{type(bad).__name__} {bad!r:.40}"
            ) from None

    def decode(self, ids: np.ndarray) -> Any:
        if self.problem_type == "regression":
            return np.asarray(ids, dtype=np.float64)
        labels = np.asarray(self.classes, dtype=object)[np.asarray(ids, dtype=np.int64)]
        if self.categories is not None:
            return pd.Categorical(
                labels,
                categories=self.categories["categories"],
                ordered=self.categories["ordered"],
            )
        if self.dtype is not None and self.dtype != "object":
            return labels.astype(np.dtype(self.dtype))
        return labels

    def to_json(self) -> dict[str, Any]:
        return {
            "problem_type": self.problem_type,
            "classes": self.classes,
            "dtype": self.dtype,
            "categories": self.categories,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TargetEncoder:
        return cls(obj["problem_type"], obj["classes"], obj.get("dtype"), obj.get("categories"))


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def label_type(y: Any, values: np.ndarray, classes: list[Any]) -> tuple[str, dict | None]:
    """The dtype (and pandas categories) that ``decode`` gives labels back in."""
    dtype = getattr(y, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [_plain(c) for c in dtype.categories]
        return "object", {"categories": cats, "ordered": bool(dtype.ordered)}
    if values.dtype.kind in "biufUS":
        return values.dtype.str if values.dtype.kind in "US" else values.dtype.name, None
    kinds = {type(c) for c in classes}
    if kinds == {bool}:
        return "bool", None
    if kinds == {int}:  # e.g. pandas' nullable Int64 read as objects
        return "int64", None
    if kinds <= {int, float} and float in kinds:
        return "float64", None
    return "object", None


def _plain(v: Any) -> Any:
    """numpy scalars to Python scalars so labels survive JSON and compare equal."""
    return v.item() if isinstance(v, np.generic) else v


def _as_1d(y: Any) -> np.ndarray:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"the target has {y.shape[1]} columns; pass a single column")
        y = y.iloc[:, 0]
    arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"the target must be one-dimensional; got shape {arr.shape}")
    return arr


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return ~np.isfinite(values)
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


def validate_target(y: Any) -> np.ndarray:
    """Reject empty targets and NaN/inf values, naming the first offending rows."""
    values = _as_1d(y)
    if len(values) == 0:
        raise DataError("the data is empty: no rows to learn from; pass at least a few rows")
    bad = np.flatnonzero(_missing_mask(values))
    if len(bad):
        rows = ", ".join(str(i) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise DataError(
            f"the target has {len(bad)} missing or infinite value(s) (rows {rows}); "
            "drop those rows or fill in their labels before fit"
        )
    return values


def infer_problem_type(values: np.ndarray) -> tuple[str, str]:
    """Guess binary / multiclass / regression from the target values; returns (type, reason)."""
    n_unique = len(pd.unique(values))
    kind = values.dtype.kind
    if kind in "OUSb" or isinstance(values.dtype, pd.CategoricalDtype):
        ptype = "binary" if n_unique == 2 else "multiclass"
        return ptype, f"{n_unique} distinct non-numeric labels"
    if kind == "f" and not np.all(np.mod(values, 1) == 0):
        return "regression", "the target holds non-integer numbers"
    if n_unique == 2:
        return "binary", "the target holds exactly 2 distinct values"
    if n_unique <= MAX_INFERRED_CLASSES and n_unique <= max(2, len(values) // 10):
        return "multiclass", f"{n_unique} distinct integer values in {len(values)} rows"
    return "regression", f"{n_unique} distinct integer values: read as a quantity, not classes"


def prepare_target(y: Any, problem_type: str | None) -> tuple[np.ndarray, TargetEncoder, str, str]:  # noqa: C901
    """Validate, infer the problem type if not given, and encode: (y, encoder, type, reason)."""
    values = validate_target(y)
    _refuse_dates(values)
    if len(values) < MIN_ROWS:
        raise DataError(too_few_rows(len(values), 2))
    if problem_type is None:
        problem_type, reason = infer_problem_type(values)
        reason = f"inferred '{problem_type}': {reason}"
    elif problem_type not in PROBLEM_TYPES:
        raise ParameterError(
            f"unknown problem_type {problem_type!r}; use one of {list(PROBLEM_TYPES)}"
        )
    else:
        reason = "given by the caller"
    if problem_type == "regression":
        if values.dtype.kind not in "iufb":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(
                    "problem_type='regression' needs a numeric target; this one holds text labels"
                ) from None
        _check_regression(values.astype(np.float64))
        return values.astype(np.float32), TargetEncoder("regression"), problem_type, reason
    codes = None
    if _all_text(values):  # one pass in C, not a Python step per row (5M rows: seconds)
        classes, codes = _text_classes(values)
        counts = np.bincount(codes, minlength=len(classes))
    else:
        classes, counts = np.unique(
            values.astype(str) if values.dtype.kind == "O" else values, return_counts=True
        )
    if values.dtype.kind == "O" and codes is None:  # the user's own labels, sorted by text
        by_text = {str(v): _plain(v) for v in values}
        _refuse_lookalikes(values, by_text)
        classes = np.array([by_text[c] for c in classes], dtype=object)
    if len(classes) < 2:
        raise DataError(
            f"the target has one class only ({_plain(classes[0])!r}); a classifier needs at "
            "least two: check the target column, or use problem_type='regression'"
        )
    if problem_type == "binary" and len(classes) != 2:
        raise DataError(
            f"problem_type='binary' but the target has {len(classes)} classes; "
            "use problem_type='multiclass' (or leave it None to infer)"
        )
    rare = [(_plain(c), int(n)) for c, n in zip(classes, counts) if n < 2]
    if rare:
        raise DataError(
            f"class(es) too rare to split into train and validation: {rare[:5]} (label, rows); "
            "each class needs at least 2 rows: collect more, merge or drop those rows"
        )
    labels = [_plain(c) for c in classes]
    dtype, categories = label_type(y, values, labels)
    encoder = TargetEncoder(problem_type, labels, dtype, categories)
    encoded = encoder.encode(values) if codes is None else codes
    return encoded, encoder, problem_type, reason


def _all_text(values: np.ndarray) -> bool:
    """Whether ``values`` is an object array of strings only (checked in C)."""
    return values.dtype.kind == "O" and pd.api.types.infer_dtype(values, skipna=False) == "string"


def _text_classes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct strings of ``values`` in sorted order and each row's position among them
    (what ``np.unique(values.astype(str))`` and ``TargetEncoder.encode`` give, by hashing)."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[codes]


# Regression targets are trained and scored in float32 (torch) and squared in the metrics: values
# this large overflow there, so they are refused with a hint instead of failing after training.
MAX_ABS_TARGET = 1e18


def _check_regression(values: np.ndarray) -> None:
    """A constant target leaves nothing to learn (R² would be undefined, or 1 by convention);
    a huge one overflows float32 arithmetic."""
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        raise DataError(
            f"the regression target is constant ({lo:g} in every row): there is nothing to "
            "learn; check the target column"
        )
    biggest = max(abs(lo), abs(hi))
    if biggest > MAX_ABS_TARGET:
        raise DataError(
            f"the regression target reaches {biggest:.3g}, beyond what float32 training and "
            f"metrics can square ({MAX_ABS_TARGET:g}); rescale it first (e.g. divide it by "
            f"1e{int(np.log10(biggest)) - 3} or take np.log10) and scale predictions back"
        )


def _refuse_dates(values: np.ndarray) -> None:
    import datetime as dt

    dates = values.dtype.kind in "mM" or (
        values.dtype.kind == "O"
        and len(values)
        and isinstance(values[0], (dt.date, dt.datetime, dt.timedelta, np.datetime64))
    )
    if dates:
        raise DataError(
            "the target holds dates or times: automl predicts numbers or classes, not dates. "
            "Turn it into one first, e.g. days since a reference date "
            "((y - y.min()).dt.days, regression) or a calendar part (y.dt.month, classes)"
        )


def _refuse_lookalikes(values: np.ndarray, by_text: dict[str, Any]) -> None:
    """Labels of different types that print the same (1 and "1") would merge silently."""
    seen: dict[str, set[type]] = {}
    for v in values:
        seen.setdefault(str(v), set()).add(type(_plain(v)))
    mixed = {text: kinds for text, kinds in seen.items() if len(kinds) > 1}
    if mixed:
        text, kinds = next(iter(mixed.items()))
        names = sorted(k.__name__ for k in kinds)
        raise DataError(
            f"the labels mix types that print the same: {text!r} occurs as {names}; convert "
            "the target to one type first (e.g. y.astype(str))"
        )


MIN_ROWS = 4


def too_few_rows(n: int, n_classes: int) -> str:
    return (
        f"too few rows ({n} sample(s)) to hold out a validation split; pass at least "
        f"{max(MIN_ROWS, 2 * n_classes)} rows"
    )


def split_indices(
    y: np.ndarray, problem_type: str, valid_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a (stratified, for classification) train/valid split."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < valid_fraction < 1.0:
        raise ParameterError(f"valid_fraction must lie in (0, 1); got {valid_fraction}")
    n = len(y)
    n_classes = 1 if problem_type == "regression" else int(y.max()) + 1
    n_valid = max(int(round(n * valid_fraction)), n_classes)
    if n - n_valid < n_classes or n < MIN_ROWS:
        raise DataError(too_few_rows(n, n_classes))
    stratify = None if problem_type == "regression" else y
    idx = np.arange(n)
    train, valid = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)


def grouped_split_indices(
    y: np.ndarray, groups: np.ndarray, problem_type: str, valid_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train/valid indices with whole groups on each side (stratified for classification)."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    idx = np.arange(len(y))
    if problem_type == "regression":
        splitter = GroupShuffleSplit(1, test_size=valid_fraction, random_state=seed)
    else:
        splitter = StratifiedGroupKFold(
            max(2, round(1 / valid_fraction)), shuffle=True, random_state=seed
        )
    train, valid = next(splitter.split(idx, y, groups))
    return np.sort(train), np.sort(valid)


@dataclass
class Split:
    """A task's labelled rows, encoded and split: what every task's ``adapt`` needs from its
    target. ``train`` / ``valid`` are positions in the rows as the task read them."""

    y: np.ndarray
    encoder: TargetEncoder
    problem_type: str
    reason: str
    train: np.ndarray
    valid: np.ndarray
    note: str = ""  # how the split was made, when it is not a plain random one
    n_given: int = 0  # the last rows are the caller's own validation rows (no split made)
    groups: np.ndarray | None = None  # a group id per row, when whole groups were split

    @property
    def n_outputs(self) -> int:
        return 1 if self.problem_type == "regression" else len(self.encoder.classes)

    def class_counts(self) -> dict[str, int]:
        """Rows per class (by label as text), for the summary; empty for regression."""
        if self.problem_type == "regression":
            return {}
        counts = np.bincount(self.y, minlength=self.n_outputs)
        return {str(c): int(n) for c, n in zip(self.encoder.classes, counts)}


def split_target(
    y: Any,
    problem_type: str | None,
    valid_fraction: float,
    seed: int,
    *,
    n_given_valid: int = 0,
    groups: np.ndarray | None = None,
) -> Split:
    """Validate and encode the labels of every row and split them: the last ``n_given_valid``
    rows are the user's own validation rows (``fit(valid=...)``: no split is made); else rows
    of one group (``groups``) stay on one side; else a stratified random split."""
    y_enc, encoder, ptype, reason = prepare_target(y, problem_type)
    note, split_groups = "", None
    if n_given_valid:
        n = len(y_enc)
        train, valid = np.arange(n - n_given_valid), np.arange(n - n_given_valid, n)
        note = f"the {n_given_valid} validation rows given by the caller (no split made)"
        _check_sides(y_enc, train, valid, ptype, "the rows given with valid=", both=False)
    elif groups is not None and len(np.unique(groups)) < len(groups):
        train, valid = grouped_split_indices(y_enc, groups, ptype, valid_fraction, seed)
        _check_sides(y_enc, train, valid, ptype, "groups of rows that must stay together")
        split_groups = np.asarray(groups)
    else:
        train, valid = split_indices(y_enc, ptype, valid_fraction, seed)
    return Split(y_enc, encoder, ptype, reason, train, valid, note, n_given_valid, split_groups)


def _check_sides(
    y: np.ndarray, train: np.ndarray, valid: np.ndarray, ptype: str, why: str, both: bool = True
) -> None:
    """Every class on the training side (and, unless the caller chose the validation rows,
    on the validation side too)."""
    if len(train) == 0 or len(valid) == 0:
        raise DataError(
            f"a split of {len(train)} training and {len(valid)} validation rows: {why}"
        )
    if ptype == "regression":
        return
    for name, rows in (("training", train), ("validation", valid))[: 2 if both else 1]:
        absent = sorted(set(np.unique(y)) - set(np.unique(y[rows])))
        if absent:
            raise DataError(
                f"the {name} rows hold no example of class code(s) {absent} ({why}); every "
                "class needs rows on both sides: add rows of those classes"
            )


def unpack_pair(dataset: tuple[Any, ...], target: Any, x: str = "X", y: str = "y") -> tuple:
    """The two items of a task's ``(X, y)`` input (``x`` and ``y``: what the task calls them
    in messages), refusing a tuple of another length and a ``target=`` given beside the pair
    (the pair's y is the target)."""
    if len(dataset) != 2:
        raise DataError(f"pass ({x}, {y}): a pair; got a tuple of {len(dataset)} items")
    if target is not None:
        raise DataError(
            f"pass either an ({x}, {y}) pair or target=, not both: the pair's {y} is the target"
        )
    return dataset[0], dataset[1]
