"""Explanations of a fitted model: SHAP and LIME attributions, bounded in time and size.

The core knows how to pick rows, a background sample and a budget; *how* a modality is explained
belongs to its plugin: a ``Task`` returns an ``Explainer`` from ``Task.explainer()`` (None: the
task offers no explanations). ``explain(result, X, method="shap" | "lime")`` returns an
``Explanation`` (its ``to_frame()`` is a DataFrame of attributions, a row per explained row and
a column per original feature); ``automl.report`` draws the same objects.

Nothing heavy loads here: shap, lime and torch are imported by the explainers when they run.
"""

from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from automl.errors import AutomlError, ParameterError, did_you_mean
from automl.threads import small_batches

if TYPE_CHECKING:
    from automl.faithfulness import DeletionCheck
    from automl.result import FittedResult

METHODS = ("shap", "lime")
MIN_SECONDS = 60.0  # default budget: the larger of this and RUN_SHARE of the run's time
RUN_SHARE = 0.10


class ExplainError(AutomlError, RuntimeError):
    """An explanation could not be made; the message says why (the report prints it)."""


@dataclass(frozen=True)
class ExplainBounds:
    """What one explanation may cost. ``seconds`` is wall-clock for the whole call (rows not
    reached in time are left out, with a note); None means ``default_seconds`` of the run;
    ``math.inf`` means no clock at all: rows and evaluations alone bound the work, so what is
    explained does not depend on the machine's speed (tests, reproducible reports).

    ``background``: rows SHAP integrates over (≤ 100 for the gradient explainer, as the shap
    authors advise); ``rows``: rows explained for the global views (None: all given);
    ``examples``: rows the report explains one by one (None: the task's explainer's choice,
    ``Explainer.examples``); ``gradient_samples``: expected-gradient samples per row;
    ``kernel_*``: the bounded KernelExplainer fallback (background rows, coalitions per row, rows
    at most); ``permutations``: antithetic pairs of feature orders a row of permutation SHAP
    (``automl.permutation_shap``: ensembles, texts), at most; ``lime_samples``: LIME
    perturbations per row; ``deletion_share``: the share of a row's features the faithfulness
    check removes (None: the explainer's choice).
    """

    seconds: float | None = None
    background: int = 100
    rows: int | None = 200
    examples: int | None = None
    gradient_samples: int = 100
    kernel_background: int = 20
    kernel_samples: int = 400
    kernel_rows: int = 40
    lime_samples: int = 1000
    permutations: int = 10
    min_rows: int = 50
    min_examples: int = 3
    deletion_share: float | None = None
    seed: int = 0

    def with_(self, **changes: Any) -> ExplainBounds:
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            known = sorted(self.__dataclass_fields__)
            hints = did_you_mean(unknown, known)
            raise ParameterError(f"unknown explanation bound(s) {unknown}{hints}; known: {known}")
        return replace(self, **changes)


def budget_text(seconds: float) -> str:
    """A time budget as the report and warnings print it."""
    return "no time limit" if seconds == float("inf") else f"{seconds:.3g} s"


def default_seconds(result: Any) -> float:
    """The default explanation budget: 10% of the run's time or 60 s, whichever is larger."""
    total = float(result.timings.get("total", 0.0) or 0.0)
    return max(MIN_SECONDS, RUN_SHARE * total)


@dataclass
class Explanation:
    """Attributions of one method for some rows, on the task's original features.

    ``values[i, j]`` is what feature j adds to the explained output of row i (SHAP value or
    LIME weight); ``base_values[i]`` is the output with no feature known (SHAP's expected value,
    LIME's local intercept) and ``predictions[i]`` the model's output for the row, in the same
    space (``output_space``: "probability", "log-odds", "value" or "decision score"), for the
    class ``output[i]`` ("P(>50K)", "value" ...). ``display`` holds each row's feature values as
    a person reads them, ``colour`` numbers for colouring (NaN: not ordered, e.g. a category).
    ``rows`` are positions in the data handed to the explainer.

    ``tokens`` (sequences such as text): ``tokens[i]`` is row i's list of (token, attribution)
    pairs in input order; ``values`` and ``feature_names`` are then a global table, a column per
    distinct token of the explained rows (0 where a row lacks it). ``segments``: the regions a
    method switched on and off per row (LIME's superpixels: a region id per pixel).
    ``deletion``: the faithfulness check of these attributions (``automl.faithfulness``).
    A plugin may also put figures of its own in ``figures``: (title, image) pairs the report
    shows as they are, an image being a ``data:`` URI or what
    ``automl.report.figures.to_uri(matplotlib_figure)`` returns.
    """

    method: str
    algorithm: str
    feature_names: list[str]
    values: np.ndarray
    base_values: np.ndarray
    predictions: np.ndarray
    output: list[str]
    output_space: str
    rows: np.ndarray
    display: pd.DataFrame | None = None
    colour: np.ndarray | None = None
    local_fit: np.ndarray | None = None  # LIME: R² of each row's local model
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    figures: list[tuple[str, str]] = field(default_factory=list)
    tokens: list[list[tuple[str, float]]] | None = None
    segments: np.ndarray | None = None
    deletion: DeletionCheck | None = None

    def attributions(self, i: int) -> np.ndarray:
        """Row ``i``'s attributions over its own features: its tokens' values in input order
        (sequences), else its row of ``values``."""
        if self.tokens is not None:
            return np.asarray([v for _, v in self.tokens[i]], dtype=np.float64)
        return np.asarray(self.values[i], dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """Attributions: a row per explained row (indexed by ``rows``), a column per feature."""
        return pd.DataFrame(self.values, columns=self.feature_names, index=self.rows)

    def importance(self) -> pd.Series:
        """Mean absolute attribution per feature, largest first."""
        if self.values.size == 0:
            return pd.Series(dtype=float)
        mean_abs = np.abs(self.values).mean(axis=0)
        return pd.Series(mean_abs, index=self.feature_names).sort_values(ascending=False)

    def __repr__(self) -> str:
        return (
            f"Explanation({self.method}/{self.algorithm}: {len(self.rows)} rows x "
            f"{len(self.feature_names)} features, {self.output_space}, {self.seconds:.1f}s)"
        )


class Explainer(ABC):
    """A plugin's explainer for its task's models (see ``Task.explainer``).

    ``explain`` receives model-ready rows ``x`` (as ``result.features.transform`` gives them) and
    a model-ready ``background`` sample, and must stay within ``bounds`` and stop at
    ``deadline`` (a ``time.monotonic()`` value), leaving rows out with a note rather than running
    over. It raises ``ExplainError`` with a reason a person can act on when it cannot explain.
    """

    methods: ClassVar[tuple[str, ...]] = METHODS
    # what one explained input is called in the report ("row", "image", "text")
    unit: ClassVar[str] = "row"
    # how many held-out inputs the report explains one by one (ExplainBounds.examples=None)
    examples: ClassVar[int] = 3
    # a sentence or two for the report on what the attributions are attributed to
    about: ClassVar[str] = ""

    @abstractmethod
    def explain(
        self,
        result: FittedResult,
        x: np.ndarray,
        *,
        method: str,
        background: np.ndarray,
        bounds: ExplainBounds,
        deadline: float,
    ) -> Explanation:
        """Attributions of ``method`` for the rows of ``x``."""

    def prepare(self, result: FittedResult) -> None:
        """Import what explaining ``result`` will need (a library such as shap, whose import
        took 1.4 s on a busy 2-core machine). The report starts it in a thread as the page
        begins (``automl.report.explanations.prepare_ahead``), while its other sections are
        drawn, and calls it again before it splits its allowance between the methods, so a
        fixed cost does not eat one method's share; what is still left of it then counts in
        the allowance. It may be called more than once, from another thread: make it
        idempotent (an import is). Default: nothing."""
        return None

    def figure_seconds(self, result: FittedResult, x: np.ndarray) -> float | None:
        """Seconds one example row's figure of ``draw`` takes, timed on a stand-in built like
        the model-ready row ``x[0]`` (after ``prepare``), or None (the default): the report
        then keeps time for the drawing at the pace of its own charts until it has timed one of
        the explanations' figures. An explainer whose pictures cost far less than a chart (an
        image's pixels: 0.01-0.04 s against 0.3-0.5 s on a busy machine) says so here, so the
        time goes to the methods."""
        return None

    def draw(
        self,
        result: FittedResult,
        x: np.ndarray,
        shap: Explanation | None,
        lime: Explanation | None,
        examples: int,
    ) -> Drawing | None:
        """Figures of the explainer's own for the report (pictures of images, say), or None:
        the report then draws per-feature charts (or highlighted tokens when the explanation
        has ``tokens``). ``x``: the model-ready rows the report explains, its ``examples``
        example rows first (SHAP explained a prefix of ``x``, LIME the example rows)."""
        return None


@dataclass
class Drawing:
    """What an explainer draws for the report: ``overview`` figures (the global view) and, per
    example row in order, that row's figures; each a (title, image, caption) triple, the image
    as ``automl.report.figures.to_uri`` returns it."""

    overview: list[tuple[str, Any, str]] = field(default_factory=list)
    examples: list[list[tuple[str, Any, str]]] = field(default_factory=list)


# -- finding the explainer -----------------------------------------------------------------------
def explainer_for(result: Any) -> Explainer:
    """The task's explainer; raises ExplainError naming why there is none."""
    task = result.task_plugin
    if task is None:
        raise ExplainError(
            f"the plugin of task {result.task!r} is not loaded, so its explainer is unknown"
        )
    found = task.explainer()
    if found is None:
        raise ExplainError(
            f"task {result.task!r} (plugin {type(task).__module__.split('.')[0]}) provides no "
            "explainer: Task.explainer() returns None"
        )
    return found


# -- the public entry point ----------------------------------------------------------------------
def explain(
    result: FittedResult,
    X: Any = None,
    method: str = "shap",
    *,
    background: Any = None,
    bounds: ExplainBounds | None = None,
    explainer: Explainer | None = None,
    **bound_changes: Any,
) -> Explanation:
    """Explain the result's model on raw rows ``X`` (as ``predict`` takes them).

    ``method``: "shap" or "lime". ``X=None`` explains the held-out rows of the search
    (``result.holdout``). ``background``: raw rows for SHAP's background and LIME's sampling
    statistics (default: the held-out rows, else ``X``). Cost: ``bounds`` or keyword changes to
    it (``seconds=30, lime_samples=500`` ...); rows of ``X`` beyond ``bounds.rows`` or past the
    time budget are left out with a warning. Returns an ``Explanation``; ``.to_frame()`` gives
    the numbers as a DataFrame.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}; got {method!r}")
    bounds = (bounds or ExplainBounds(rows=None)).with_(**bound_changes)
    holdout = result.holdout
    if X is None:
        if holdout is None:
            raise ExplainError("pass rows to explain: this result holds no held-out data")
        x = np.asarray(holdout[0])
        raw = result.holdout_raw
    else:
        x = result.features.transform(X)
        raw = X
    if background is not None:
        bg = result.features.transform(background)
    elif holdout is not None:
        bg = np.asarray(holdout[0])
    else:
        bg = x
    seconds = bounds.seconds if bounds.seconds is not None else default_seconds(result)
    deadline = time.monotonic() + seconds
    limit = len(x) if bounds.rows is None else min(len(x), bounds.rows)
    found = explainer or explainer_for(result)
    with small_batches():
        out = found.explain(
            result,
            x[:limit],
            method=method,
            background=sample_rows(bg, bounds.background, bounds.seed),
            bounds=bounds,
            deadline=deadline,
        )
    readable_display(result, raw, out)
    if limit < len(x):
        out.notes.append(f"the first {limit} of {len(x)} rows explained (rows={bounds.rows})")
    if len(out.rows) < limit:
        warnings.warn(
            f"{method} explained {len(out.rows)} of {limit} rows within its bounds "
            f"({budget_text(seconds)}; see Explanation.notes for why)",
            stacklevel=2,
        )
    return out


# -- helpers for explainers and the report -------------------------------------------------------
def readable_display(result: Any, raw: Any, exp: Explanation) -> None:
    """Show the explained rows' values as given (the raw rows), where the task's feature encoder
    can read them (``FeatureEncoder.readable``) and they name the explanation's features."""
    readable = getattr(result.features, "readable", None)
    if raw is None or exp.display is None or not callable(readable):
        return
    shown = readable(raw)
    if shown is None or len(shown) <= (int(exp.rows.max()) if len(exp.rows) else -1):
        return
    if not set(exp.feature_names) <= set(shown.columns):
        return
    exp.display = shown.iloc[exp.rows][exp.feature_names].reset_index(drop=True)


def sample_rows(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """At most ``n`` rows of ``x``, drawn without replacement (all of them when fewer)."""
    x = np.asarray(x)
    if len(x) <= n:
        return x
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[idx]


def example_rows(
    output: np.ndarray, problem_type: str, k: int = 3, y: np.ndarray | None = None
) -> list[int]:
    """``k`` telling rows: for a score, the highest, the lowest and the most borderline one;
    for several classes, the most confident row of each of the most predicted classes. Given
    the true classes ``y`` (classification), about a third are wrong predictions when there
    are any (the most confident mistakes first), the rest right ones chosen as above."""
    output = np.asarray(output)
    if len(output) == 0 or k <= 0:
        return []
    if y is not None and problem_type != "regression":
        y = np.asarray(y)
        wrong = np.flatnonzero(output.argmax(axis=1) != y)
        if len(wrong) and len(wrong) < len(output):
            n_wrong = min(len(wrong), max(1, k // 3))
            mistakes = wrong[np.argsort(-output[wrong].max(axis=1), kind="stable")][:n_wrong]
            right = np.flatnonzero(output.argmax(axis=1) == y)
            chosen = [int(right[i]) for i in example_rows(output[right], problem_type, k)]
            return chosen[: k - n_wrong] + [int(i) for i in mistakes]
    if problem_type == "multiclass":
        predicted = output.argmax(axis=1)
        confidence = output.max(axis=1)
        classes = pd.Series(predicted).value_counts().index.tolist()
        chosen = [
            int(np.flatnonzero(predicted == c)[confidence[predicted == c].argmax()])
            for c in classes[:k]
        ]
    else:
        score = output if output.ndim == 1 else output[:, -1]
        middle = 0.5 if problem_type == "binary" else float(np.median(score))
        chosen = [int(score.argmax()), int(score.argmin()), int(np.abs(score - middle).argmin())]
    rest = [i for i in range(len(output)) if i not in chosen]
    return list(dict.fromkeys(chosen + rest))[:k]


def explained_class(
    output: np.ndarray, problem_type: str, predicted: bool = False, positive: int = 1
) -> np.ndarray:
    """The class each row's explanation is about: the positive class (binary,
    ``fit(positive_class=...)``; or with ``predicted`` the predicted one), the predicted class
    (multiclass); zeros for regression."""
    output = np.asarray(output)
    if problem_type == "binary" and not predicted:
        return np.full(len(output), positive, dtype=int)
    if problem_type in ("binary", "multiclass"):
        return output.argmax(axis=1).astype(int)
    return np.zeros(len(output), dtype=int)


def output_label(result: Any, cls: int) -> str:
    """What an explained output is called: "P(>50K)" or "value"."""
    if result.problem_type == "regression":
        return "predicted value"
    classes = result.classes_ or []
    name = classes[cls] if cls < len(classes) else cls
    return f"{name}"
