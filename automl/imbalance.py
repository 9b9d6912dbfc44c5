"""What an imbalanced classification target changes by default.

- The positive class of a binary problem (the class f1, precision, recall and roc_auc score)
  is its minority class, the one users mean on a fraud or churn table; on a tie, the second
  class. ``fit(positive_class=...)`` picks another.
- ``fit(class_weight=...)``: ``"balanced"`` weighs each training row by ``n / (k * count of its
  class)`` (scikit-learn's rule), a dict gives a weight per class (others weigh 1), ``"none"``
  weighs none. Unset (None), it is searched (``"none"`` or ``"balanced"``, the trial param
  ``class_weight``) when the minority class has fewer than ``IMBALANCED`` times the rows of the
  majority. The weights multiply ``sample_weight`` in training only: the metric of a trial
  weighs its rows as before, so weighted and unweighted trials are compared fairly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from automl.errors import ParameterError

IMBALANCED = 0.5  # minority / majority class rows under which class_weight is searched
CHOICES = ("none", "balanced")  # what the search tries
PARAM = "class_weight"  # the trial param of a searched class_weight


def check_class_weight(class_weight: Any) -> Any:
    """fit's ``class_weight``: None (searched where the target is imbalanced), "none",
    "balanced" or a dict {class label: non-negative weight}."""
    if class_weight is None or class_weight in CHOICES:
        return class_weight
    if isinstance(class_weight, Mapping) and class_weight:
        for label, weight in class_weight.items():
            if isinstance(weight, bool) or not isinstance(weight, Real) or not weight >= 0:
                raise ParameterError(
                    f"class_weight[{label!r}] must be a non-negative number; got {weight!r}"
                )
            if not np.isfinite(weight):
                raise ParameterError(f"class_weight[{label!r}] must be finite; got {weight!r}")
        if not any(w > 0 for w in class_weight.values()):
            raise ParameterError("class_weight gives every class weight 0: give one a weight > 0")
        return dict(class_weight)
    raise ParameterError(
        f"class_weight must be 'balanced', 'none', a dict {{class: weight}} or None (searched "
        f"where the classes are imbalanced); got {class_weight!r}"
    )


def counts(data: Any) -> np.ndarray:
    """Rows per class (encoded labels) of the train and valid rows."""
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_valid)]).astype(np.int64)
    return np.bincount(y, minlength=len(data.target.classes or []))


def is_imbalanced(n_per_class: np.ndarray) -> bool:
    """Whether the smallest class has fewer than ``IMBALANCED`` times the largest's rows."""
    return bool(n_per_class.max() > 0 and n_per_class.min() < IMBALANCED * n_per_class.max())


def default_positive(data: Any) -> tuple[int, str]:
    """The positive column of a binary problem and why: the minority class, or the second
    class when both have as many rows."""
    n = counts(data)
    if n[0] == n[1]:
        return 1, f"positive class {data.target.classes[1]!r}: the second (the classes are even)"
    index = int(np.argmin(n))
    share = n[index] / n.sum()
    label = data.target.classes[index]
    return index, (
        f"positive class {label!r}: the minority class ({share:.1%} of rows; positive_class= "
        "picks another)"
    )


@dataclass(frozen=True)
class ClassWeight:
    """A fit's class weighting: ``fixed`` (None, "balanced" or weights per encoded class) for
    every trial, or ``searched`` (the trial param ``class_weight`` says)."""

    fixed: Any = None
    searched: bool = False

    def choice(self, params: Mapping[str, Any]) -> Any:
        """What one configuration trains with."""
        if self.searched:
            return params.get(PARAM, "none")
        return self.fixed

    def shown(self, params: Mapping[str, Any]) -> str | None:
        """The leaderboard's words for it (None: nothing to say)."""
        choice = self.choice(params)
        if choice is None or (choice == "none" and not self.searched):
            return None
        if isinstance(choice, dict):
            return f"class_weight={ {int(k): v for k, v in choice.items()} }"
        return f"class_weight={choice}"


def resolve(class_weight: Any, data: Any) -> ClassWeight:
    """The fit's ``ClassWeight``: the given one (a dict's labels mapped to encoded classes), or
    searched where a classification target is imbalanced."""
    classification = data.problem_type in ("binary", "multiclass")
    if class_weight is None:
        searched = classification and is_imbalanced(counts(data))
        return ClassWeight(searched=searched)
    if not classification:
        raise ParameterError(
            f"class_weight applies to classification; this problem is {data.problem_type} "
            "(weigh rows with sample_weight= instead)"
        )
    if class_weight == "none":
        return ClassWeight()
    if class_weight == "balanced":
        return ClassWeight(fixed="balanced")
    classes = list(data.target.classes)
    by_index: dict[int, float] = {}
    for label, weight in class_weight.items():
        matches = [i for i, c in enumerate(classes) if c == label or str(c) == str(label)]
        if not matches:
            raise ParameterError(
                f"class_weight names {label!r}, which is not one of the classes {classes}"
            )
        by_index[matches[0]] = float(weight)
    return ClassWeight(fixed=by_index)


def weigh(w_train: np.ndarray | None, y_train: np.ndarray, choice: Any) -> np.ndarray | None:
    """The training rows' weights under ``choice`` (None or "none": ``w_train`` unchanged),
    times ``w_train`` where the caller gave weights. "balanced" is counted on these rows."""
    if choice is None or choice == "none":
        return w_train
    y = np.asarray(y_train).astype(np.int64)
    if choice == "balanced":
        n = np.bincount(y)
        present = n > 0
        per_class = np.zeros(len(n))
        per_class[present] = len(y) / (present.sum() * n[present])
    else:
        per_class = np.ones(int(y.max()) + 1 if len(y) else 1)
        for index, weight in choice.items():
            if int(index) < len(per_class):
                per_class[int(index)] = weight
    rows = per_class[y]
    return rows if w_train is None else rows * w_train
