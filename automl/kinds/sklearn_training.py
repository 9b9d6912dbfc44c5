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

from automl.kinds._base import FitOptions, Split, object_nbytes
from automl.predictors import SklearnPredictor
from automl.training import TrainOutcome

if TYPE_CHECKING:
    from automl.metrics import Metric

# a forest searched under a time budget grows at most this many trees at a time (an iterative
# solver runs this many iterations first)
TREE_CHUNK = 50
# a forest or boosting times its first PROBE_ITERATIONS trees (iterations), not a whole chunk,
# and sizes what follows from that pace: on a large table on a busy machine 50 iterations of
# histogram gradient boosting took 45 s, past a 30 s deadline. A later chunk of trees has at
# least as many (the probe's pace includes the per-call cost, which a smaller chunk would
# underestimate).
PROBE_ITERATIONS = 10
# boosting continues at most this many times: the probe's pace includes the first call's cost
# (binning all rows: on 720,000 rows, a tenth of the probe's time) and sized the continuation
# short, so a fit stopped itself with a third of its time left; every warm start recomputes
# the predictions of the trees so far, so not in many small chunks
MAX_CONTINUATIONS = 3
# the validation rows' predictions are timed with the model so far on their first PREDICT_FEW
# rows (a call's own cost: 10 ms for a forest on 2 threads) and on up to PREDICT_SAMPLE rows
# (what grows with the rows, scaled to all of them), and kept back from the fit's deadline
PREDICT_FEW = 10
PREDICT_SAMPLE = 10_000


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

    - ``(parameter, "chunks")``, a forest's ``("n_estimators", "chunks")``: PROBE_ITERATIONS
      trees, timed, then chunks of up to TREE_CHUNK trees (at least PROBE_ITERATIONS), each as
      many as end before the deadline at the last one's pace (a chunk of 50 trees on 30,000
      rows can take 6 s, far more on a large table on a busy machine);
    - ``(parameter, "paced")``, boosting's ``("max_iter", "paced")``: PROBE_ITERATIONS
      iterations, timed, then a continuation (a warm start: same early-stopping split and
      history) to as many iterations as that pace allows before the deadline, or to its own
      limit and early stopping when time allows; then, while time is left for
      PROBE_ITERATIONS more at the last continuation's pace, up to MAX_CONTINUATIONS in all.
      Few continuations, not many chunks: every warm start of histogram gradient boosting
      recomputes the predictions of all the trees so far, which in chunks of 50 doubled the
      time of an 800-iteration fit. Boosting that checks its early stopping after every
      iteration (scikit-learn's, with ``early_stopping`` on) continues once, to all its
      iterations, and is stopped by that check at the deadline (``_to_deadline``).
    - ``(parameter, "iterations")``, an iterative solver's ``("max_iter", "iterations")``
      (logistic regression's lbfgs): as "paced", but ``max_iter`` counts each call's own
      iterations, so the continuation asks for the iterations left; the objective is convex,
      so the continuation (warm-started from the coefficients) reaches one fit's optimum.

    Each keeps back from the deadline the time its validation predictions will take (timed on
    up to PREDICT_SAMPLE validation rows with the first call's model, per tree for forests and
    boosting), so the trial ends by its deadline scored, not only fitted.

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
        grown, wanted, held = _grow(estimator, split, fit_kwargs, (size, how), deadline, problem)
        estimator.set_params(warm_start=False)
        note = "; ".join(filter(None, [note, held]))
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


def _grow(  # noqa: PLR0913
    estimator: Any,
    split: Split,
    fit_kwargs: dict[str, Any],
    growth: tuple[str, str],
    deadline: float,
    problem: tuple[str, int],
) -> tuple[int, int, str]:
    """``train_sklearn``'s fit under a deadline: the trees (iterations) grown, and wanted (a
    forest's within ``MODEL_BYTES``: the note says so, else "")."""
    (size, how), x_train, y_train = growth, split.x_train, split.y_train
    wanted = int(estimator.get_params(deep=False)[size])
    grown = min(TREE_CHUNK if how == "iterations" else PROBE_ITERATIONS, wanted)
    estimator.set_params(warm_start=True, **{size: grown})
    began = time.perf_counter()
    with _unconverged_is_expected(how):
        estimator.fit(x_train, y_train, **fit_kwargs)
    pace = max(time.perf_counter() - began, 1e-6) / grown  # seconds per tree (iteration)
    # the validation predictions' seconds: a call's, and per tree (iteration; a solver's
    # predictions cost the same however many iterations it ran)
    call, rows = _scoring_seconds(estimator, problem, split.x_valid)
    kept = (call + rows, 0.0) if how == "iterations" else (call, rows / grown)
    if how == "iterations" and _stopped_early(estimator, grown):
        grown = wanted  # the solver converged within the first call: one fit's model
    if how == "chunks":  # chunks sized to end, predictions included, before the deadline
        held = ""
        fit, why = _trees_held(estimator, grown, split)
        if fit < wanted:
            held, wanted = f"memory: {fit} of {wanted} trees ({why})", fit
        while (more := _chunk(deadline, grown, wanted, pace, kept)) > 0:
            began = time.perf_counter()
            grown += more
            estimator.set_params(**{size: grown})
            estimator.fit(x_train, y_train, **fit_kwargs)
            pace = max(time.perf_counter() - began, 1e-6) / more
        return grown, wanted, held
    if how == "iterations":
        target = min(wanted, grown + _fits(deadline, grown, pace, kept))
        if grown < target and not _stopped_early(estimator, grown):
            estimator.set_params(**{size: target - grown})  # the call's own iterations
            with _unconverged_is_expected(how):  # the note says it
                estimator.fit(x_train, y_train, **fit_kwargs)
            if _stopped_early(estimator, target - grown):
                return wanted, wanted, ""  # converged: the model one fit gives
            grown = target
        return grown, wanted, ""
    grown = _continue(estimator, split, fit_kwargs, (size, grown, wanted), pace, kept, deadline)
    return grown, wanted, ""


def _continue(  # noqa: PLR0913
    estimator: Any,
    split: Split,
    fit_kwargs: dict[str, Any],
    state: tuple[str, int, int],
    pace: float,
    kept: tuple[float, float],
    deadline: float,
) -> int:
    """Paced boosting's continuations after its probe (``state``: the parameter, iterations
    grown and wanted): the iterations grown when they end."""
    size, grown, wanted = state
    if _stops_itself(estimator):
        return _to_deadline(estimator, split, fit_kwargs, state, pace, kept, deadline)
    # a warm start first predicts the training rows with the trees so far: at the validation
    # predictions' seconds a tree, scaled to the training rows (on 720,000 rows, 348 trees
    # took 4.8 s before the first new one)
    per_row = kept[1] / max(1, _rows(split.x_valid))
    for continuation in range(MAX_CONTINUATIONS):  # "paced": max_iter is the model's total
        if _stopped_early(estimator, grown):
            break
        restart = grown * per_row * _rows(split.x_train)
        target = min(wanted, grown + _fits(deadline - restart, grown, pace, kept))
        # a later continuation only for at least PROBE_ITERATIONS more (or all that are left)
        least = 1 if continuation == 0 else min(PROBE_ITERATIONS, wanted - grown)
        if target - grown < max(1, least):
            break
        began = time.perf_counter()
        estimator.set_params(**{size: target})
        estimator.fit(split.x_train, split.y_train, **fit_kwargs)
        # the continuation's own pace, its per-call cost (binning, the predictions of the
        # trees so far) included: the next one is sized by it
        pace = max(time.perf_counter() - began, 1e-6) / (target - grown)
        grown = target
    return grown


def _stops_itself(estimator: Any) -> bool:
    """Whether boosting checks its own early stopping after every iteration (scikit-learn's
    histogram gradient boosting with ``early_stopping`` on: ``_should_stop``), so that one
    continuation can be told to stop at the deadline (``_to_deadline``)."""
    return bool(getattr(estimator, "do_early_stopping_", False)) and callable(
        getattr(type(estimator), "_should_stop", None)
    )


def _to_deadline(  # noqa: PLR0913
    estimator: Any,
    split: Split,
    fit_kwargs: dict[str, Any],
    state: tuple[str, int, int],
    pace: float,
    kept: tuple[float, float],
    deadline: float,
) -> int:
    """Paced boosting's one continuation when the estimator checks its early stopping every
    iteration (``_stops_itself``): to all the iterations wanted, stopped by its own early
    stopping or after the last iteration whose successor, at the pace of the one before, would
    end past the deadline with the validation predictions kept back (``kept``). Each warm start
    re-bins the rows and re-predicts them with the trees so far (on 720,000 rows, about 5 s at
    350 trees): sized continuations restarted two or three times. Returns the iterations
    grown, or all wanted when its early stopping (not the clock) ended it."""
    size, grown, wanted = state
    if _fits(deadline, grown, pace, kept) < 1:
        return grown
    call, per_tree = kept
    own = estimator._should_stop  # the class's check, bound
    clock = {"last": time.monotonic(), "count": grown, "cut": False}

    def should_stop(scores: Any) -> bool:
        now = time.monotonic()
        step, clock["last"] = now - clock["last"], now
        clock["count"] += 1
        if own(scores):
            return True
        if now + step + call + (clock["count"] + 1) * per_tree > deadline:
            clock["cut"] = True
        return bool(clock["cut"])

    estimator._should_stop = should_stop  # on the instance, for this call only
    try:
        estimator.set_params(**{size: wanted})
        estimator.fit(split.x_train, split.y_train, **fit_kwargs)
    finally:
        del estimator._should_stop
    return int(estimator.n_iter_) if clock["cut"] else wanted


# a forest grown under a deadline holds at most twice its inputs' bytes, at least MODEL_FLOOR:
# on 50,000 rows of a 1,000,000-row table, extra trees with min_samples_leaf=1 took about 4 MB
# a tree, and a trial that the load let grow for 15 s took the fit's peak from 645 to 988 MiB
MODEL_FLOOR = 128 * 2**20


def _trees_held(estimator: Any, grown: int, split: Split) -> tuple[int, str]:
    """How many trees of the forest (``grown`` so far) fit in its memory allowance, and the
    note that says why when fewer than it has asked for."""
    inputs = sum(int(getattr(x, "nbytes", 0) or 0) for x in (split.x_train, split.x_valid))
    allowance = max(MODEL_FLOOR, 2 * inputs)
    per_tree = object_nbytes(getattr(estimator, "estimators_", None)) / max(1, grown)
    fit = max(grown, int(allowance / max(per_tree, 1.0)))
    why = f"{per_tree / 2**20:.1f} MB a tree, held to {allowance / 2**20:.0f} MiB"
    return fit, why


def _rows(x: Any) -> int:
    """Rows of a matrix (0: None)."""
    return 0 if x is None else x.shape[0] if hasattr(x, "shape") else len(x)


def _fits(deadline: float, grown: int, pace: float, kept: tuple[float, float]) -> int:
    """How many more trees (iterations) end before ``deadline`` at ``pace`` seconds each, with
    the validation predictions of the model then kept back (``kept``: seconds a call, and
    seconds a tree)."""
    call, per_tree = kept
    room = deadline - time.monotonic() - call - grown * per_tree
    return int(max(0.0, room) / (pace + per_tree))


def _chunk(
    deadline: float, grown: int, wanted: int, pace: float, kept: tuple[float, float]
) -> int:
    """How many trees a forest grows next (0: none): as many as ``_fits`` says, at most
    TREE_CHUNK, and at least PROBE_ITERATIONS (or all that are left) or none."""
    more = min(TREE_CHUNK, wanted - grown, _fits(deadline, grown, pace, kept))
    return more if more >= min(PROBE_ITERATIONS, wanted - grown) else 0


def _scoring_seconds(
    estimator: Any, problem: tuple[str, int], x_valid: Any
) -> tuple[float, float]:
    """What the validation predictions of ``estimator`` as it is now take: seconds a call
    (timed on PREDICT_FEW rows), and seconds that grow with the rows (timed on up to
    PREDICT_SAMPLE rows, less the call's, scaled to all of them); (0, 0) without validation
    rows."""
    n = _rows(x_valid)
    if n == 0:
        return 0.0, 0.0
    predictor = SklearnPredictor(estimator, *problem)

    def timed(rows: int) -> float:
        began = time.perf_counter()
        predictor.output(x_valid[:rows])
        return time.perf_counter() - began

    call = timed(min(n, PREDICT_FEW))
    if n <= PREDICT_FEW:
        return call, 0.0
    sample = min(n, PREDICT_SAMPLE)
    return call, max(0.0, timed(sample) - call) * (n - PREDICT_FEW) / (sample - PREDICT_FEW)


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
    scoring = time.perf_counter()
    output = None if x_valid is None else predictor.output(x_valid)
    score = math.nan if output is None else metric(y_valid, output)
    scoring = time.perf_counter() - scoring if output is not None else 0.0
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
        scoring_seconds=scoring,
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
