"""The scikit-learn kind's training: one fit, or, under a deadline, a forest grown in chunks of
trees and boosting continued at its measured pace (``train_sklearn``); ``fitted_outcome`` scores
any fitted estimator with scikit-learn's interface (a plugin's kind of such models too)."""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.kinds._base import FitOptions, Split
from automl.predictors import SklearnPredictor
from automl.training import TrainOutcome

if TYPE_CHECKING:
    from automl.metrics import Metric

# a forest or a gradient boosting model searched under a time budget grows this many trees
# (boosting iterations) at a time
TREE_CHUNK = 50
# boosting ("paced") times its first PROBE_ITERATIONS, not a whole chunk: on a large table on a
# busy machine 50 iterations of histogram gradient boosting took 45 s, past a 30 s deadline
PROBE_ITERATIONS = 10


def train_sklearn(
    estimator: Any,
    split: Split,
    options: FitOptions,
    problem: tuple[str, int],
    metric: Metric | None,
    growth: tuple[str, str] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
) -> TrainOutcome:
    """Fit a scikit-learn estimator once on ``split`` and score it on its validation rows
    (``problem``: the problem type and the number of outputs); weighted by ``split.w_train``
    when the estimator's ``fit`` takes a ``sample_weight`` (else the note says it trained
    unweighted).

    With ``options.deadline`` (a ``time.monotonic()`` value), a model that can be grown stops
    near the deadline instead of overrunning the search's budget by minutes when its trial
    starts late, keeps what it grew (the same trees a single fit grows first) and says so in
    ``note``. How it grows is its family's ``ModelFamily.growth`` (``growth``; None:
    ``sklearn_growth``'s guess):

    - ``(parameter, "chunks")``, a forest's ``("n_estimators", "chunks")``: TREE_CHUNK trees
      at a time while the next chunk, at the last one's pace, ends before the deadline (a
      chunk of 50 trees on 30,000 rows can take 6 s);
    - ``(parameter, "paced")``, boosting's ``("max_iter", "paced")``: PROBE_ITERATIONS
      iterations, timed (with the scoring of the validation rows they take), then one
      continuation (a warm start: same early-stopping split and history) to as
      many iterations as that pace allows before the deadline, or to its own limit and early
      stopping when time allows. One continuation, not many chunks: every warm start of
      histogram gradient boosting recomputes the predictions of all the trees so far, which in
      chunks of 50 doubled the time of an 800-iteration fit.
    - ``(parameter, "iterations")``, an iterative solver's ``("max_iter", "iterations")``
      (logistic regression's lbfgs): as "paced", but ``max_iter`` counts each call's own
      iterations, so the continuation asks for the iterations left; the objective is convex,
      so the continuation (warm-started from the coefficients) reaches one fit's optimum.

    A declared growth applies only to an estimator that has the parameter and ``warm_start``
    (a family's regression model may not: ridge regression fits once). ``fit_kwargs``: further
    keywords of every ``fit`` call (``ModelFamily.fit_inputs``: early-stopping rows).
    """
    started = time.perf_counter()
    x_train, y_train, deadline = split.x_train, split.y_train, options.deadline
    sample_weight = split.w_train
    growth = usable_growth(estimator, growth)
    size, how = growth if growth is not None else (None, None)
    note, stopped_by, grown_share = "", "fit", 1.0
    fit_kwargs = dict(fit_kwargs or {})
    if sample_weight is not None:
        from sklearn.utils.validation import has_fit_parameter

        if has_fit_parameter(estimator, "sample_weight"):
            fit_kwargs["sample_weight"] = sample_weight
        else:
            note = f"{type(estimator).__name__} takes no sample_weight: trained unweighted"
    if deadline is not None and size is not None:
        wanted = int(estimator.get_params(deep=False)[size])
        grown = min(PROBE_ITERATIONS if how == "paced" else TREE_CHUNK, wanted)
        estimator.set_params(warm_start=True, **{size: grown})
        with _unconverged_is_expected(how):
            estimator.fit(x_train, y_train, **fit_kwargs)
        if how == "iterations" and _stopped_early(estimator, grown):
            grown = wanted  # the solver converged within the first call: one fit's model
        if how in ("paced", "iterations"):
            pace = max(time.perf_counter() - started, 1e-6) / grown  # seconds per iteration
            pace += _scoring_pace(estimator, split.x_valid, grown, how)  # "paced" only
            target = min(wanted, grown + int(max(0.0, deadline - time.monotonic()) / pace))
            if grown < target and not _stopped_early(estimator, grown):
                # "iterations": max_iter is the call's own; "paced": the model's total
                estimator.set_params(**{size: target - grown if how == "iterations" else target})
                with _unconverged_is_expected(how):  # the note says it
                    estimator.fit(x_train, y_train, **fit_kwargs)
                if how == "iterations" and _stopped_early(estimator, target - grown):
                    grown = wanted  # converged: the model one fit gives
                else:
                    grown = target
        else:  # another chunk only when it ends before the deadline at the last one's pace
            chunk = time.perf_counter() - started
            while grown < wanted and time.monotonic() + chunk < deadline:
                began = time.perf_counter()
                grown = min(grown + TREE_CHUNK, wanted)
                estimator.set_params(**{size: grown})
                estimator.fit(x_train, y_train, **fit_kwargs)
                chunk = time.perf_counter() - began
        estimator.set_params(warm_start=False)
        if grown < wanted and (how == "iterations" or not _stopped_early(estimator, grown)):
            stopped_by = "time_budget"
            note = "; ".join(filter(None, [note, _budget_note(how, grown, wanted)]))
            grown_share = grown / wanted if how == "chunks" else 1.0  # iterations: unknown
    else:
        estimator.fit(x_train, y_train, **fit_kwargs)
    return fitted_outcome(
        estimator,
        problem,
        split.x_valid,
        split.y_valid,
        metric,
        started=started,
        stopped_by=stopped_by,
        note=note,
        grown_share=grown_share,
    )


def _scoring_pace(estimator: Any, x_valid: Any, grown: int, how: str) -> float:
    """Seconds per boosting iteration (``how``: "paced"; else 0) that scoring ``x_valid``
    takes after the fit, timed on the probe's ``grown`` iterations: on 1,000,000 validation
    rows 949 iterations took longer to score than the fit's pace left, 74 s past a trial's
    deadline (0 without validation rows: a refit)."""
    if how != "paced" or x_valid is None or len(x_valid) == 0:
        return 0.0
    began = time.perf_counter()
    estimator.predict(x_valid)
    return (time.perf_counter() - began) / grown


def fitted_outcome(  # noqa: PLR0913
    estimator: Any,
    problem: tuple[str, int],
    x_valid: Any,
    y_valid: np.ndarray | None,
    metric: Metric | None,
    *,
    started: float,
    stopped_by: str,
    note: str,
    grown_share: float,
) -> TrainOutcome:
    """A fitted estimator with a scikit-learn interface (``problem``: its problem type and
    outputs) scored on the validation rows: what a trial of one fit reports (a plugin's
    kind of such models too)."""
    predictor = SklearnPredictor(estimator, *problem)
    output = None if x_valid is None else predictor.output(x_valid)
    score = math.nan if output is None else metric(y_valid, output)
    return TrainOutcome(
        predictor,
        score,
        1,
        1,
        stopped_by,
        time.perf_counter() - started,
        note,
        valid_output=output,
        grown_share=grown_share,
    )


def usable_growth(estimator: Any, growth: tuple[str, str] | None) -> tuple[str, str] | None:
    """``growth`` (a family's declared one, else ``sklearn_growth``'s guess) when this
    estimator can be continued that way: it has the parameter, set, and ``warm_start``."""
    growth = growth or sklearn_growth(estimator)
    params = estimator.get_params(deep=False)
    if growth is None or params.get(growth[0]) is None or "warm_start" not in params:
        return None
    return growth


def sklearn_growth(estimator: Any) -> tuple[str, str] | None:
    """How a scikit-learn estimator whose family declares no ``growth`` can be continued
    (``warm_start``) into the very model one fit would give: an estimator with
    ``n_estimators`` (a forest, any bagging-style ensemble) in chunks of trees; None for
    others."""
    params = estimator.get_params(deep=False)
    if "warm_start" in params and "n_estimators" in params:
        return ("n_estimators", "chunks")
    return None


def _stopped_early(estimator: Any, grown: int) -> bool:
    """Whether boosting's own early stopping (a solver's convergence) ended the last call: it
    ran fewer iterations (logistic regression's ``n_iter_`` is an array, one per problem)."""
    return bool(np.max(getattr(estimator, "n_iter_", grown)) < grown)


@contextlib.contextmanager
def _unconverged_is_expected(how: str | None) -> Iterator[None]:
    """A solver stopped by its chunk's iterations warns that it did not converge: expected
    ("iterations"), and a budget cut says so in the trial's note instead."""
    with warnings.catch_warnings():
        if how == "iterations":
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _budget_note(how: str | None, grown: int, wanted: int) -> str:
    if how == "iterations":
        return (
            f"time budget reached: stopped after {grown} solver iterations, before convergence "
            "(a refit runs to convergence)"
        )
    if how == "paced":
        return (
            f"time budget reached: stopped after {grown} boosting iterations, before early "
            "stopping (a refit runs to early stopping)"
        )
    return f"time budget reached: {grown} of {wanted} trees grown (a refit grows all)"
