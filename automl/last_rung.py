"""The last rung: on a table large enough for row rungs (``automl.row_rungs``), a time-budgeted
search keeps time for one more fit at its end, a configuration of its best trials trained on
all training rows (or as many as its time allows), grown until the time kept for it runs out
and kept as grown (as FLAML retrains its best configuration within the budget, and AutoGluon
keeps a time-limited model).

Why: on a million rows more rows beat more configurations. The search's trials climb rungs of
50,000, 150,000 and 450,000 rows within their own deadlines, and the best of a 120 s search
trained on 50,000-150,000 rows (validation accuracy 0.9317-0.9328); histogram gradient boosting
with its default configuration on all 800,000 training rows reaches 0.9353 in 39 s, stopped by
its deadline after 522 iterations (docs/benchmarks.md, Scale, "Seventh stop").

The fit is a trial like any other: scored on the validation rows, it joins the ensemble only
when the greedy selection takes it, and the leaderboard says what it is. Of the ``CANDIDATES``
best trials that trained on fewer rows, whose family stops near a deadline keeping what it
trained, the one that reaches the most rows is chosen (the better score on a tie): a rung's
rows above its own (at most ``REACH`` times its own: its pace says little of a fit on many
times its rows), the most whose whole fit is expected to end in the time kept, or, where a
fit cut by its deadline is a sound model, only less grown (``ModelKind.cut_is_sound``: boosting
that early-stops, not CatBoost's, whose learning rate is set for all its iterations), to take
at most ``CUT`` times that time. The time kept is that expected fit with ``MARGIN``, at most
``SHARE`` of the budget, and it comes out of the refit's share (``automl.budget``): the last
rung's model, trained on many more rows, gains more than the refits of the others on the
validation rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automl import kinds, search
from automl.budget import Budget, trial_fit_seconds
from automl.row_rungs import rung_sizes
from automl.task import TaskData
from automl.trial_attrs import LAST_RUNG_OF, TIEBREAK

SHARE = 0.45  # the last rung's fit takes at most this share of the budget
MARGIN = 1.2  # kept for it: its expected fit with this margin
# a fit whose cut is sound trains on the most rows whose whole fit is expected to take at most
# CUT times the time kept: at 1M rows, histogram boosting cut at about half of its whole fit
# (600-730 of 1,405 iterations) scored 0.9362 on the test rows against 0.9374 whole, and better
# than a whole fit on 187,500 rows (0.9327); at 5M rows, all 4M training rows cut at a third
# scored less than the refits of the trials (0.9355 against 0.9368)
CUT = 2.0
# a pace measured on a trial's rows is trusted up to this many times its rows (two rungs on):
# at 5M rows, a trial on 150,000 said all 4M training rows would take twice the time kept, and
# that fit, cut short, scored 0.9355-0.9358 (the search without the last rung: 0.9368), the
# 1,350,000 rows of the rung below 0.9378 alone
REACH = 9
CANDIDATES = 3  # of the best trials, one is trained on more rows


@dataclass(frozen=True)
class LastRung:
    """The trial whose configuration the last rung trains, the seconds kept, and its rows (a
    rung's: all training rows, or as many as its time allows)."""

    trial: Any
    seconds: float
    rows: int


def applies(data: TaskData, budget: Budget) -> bool:
    """Whether a search of this fit has a last rung: a time budget, no search-only worker, and
    a training split large enough for row rungs."""
    if budget.seconds is None or budget.searches_only:
        return False
    return len(rung_sizes(data.n_train, data.row_rungs_from)) > 1


def fit_seconds(trial: Any, rows: int) -> float:
    """Seconds a fit of ``trial``'s configuration on ``rows`` rows is expected to take: its
    training time (its rung fits' together, less its validation predictions) scaled by the
    rows, plus the validation predictions again."""
    training, scoring = trial_fit_seconds(trial.user_attrs)
    trained = max(1, int(trial.user_attrs.get("rows_trained", rows) or rows))
    return training * rows / trained + scoring


def choose(
    study: Any, data: TaskData, families: dict[str, Any], budget: Budget
) -> LastRung | None:
    """The last rung as the search stands (None: none of its best trials needs one)."""
    if budget.seconds is None:
        return None
    cap = SHARE * budget.seconds
    sizes = rung_sizes(data.n_train, data.row_rungs_from)
    chosen: LastRung | None = None
    for trial in search.top_trials(study, TIEBREAK, CANDIDATES):
        family = families.get(str(trial.params.get("model")))
        trained = int(trial.user_attrs.get("rows_trained", data.n_train) or data.n_train)
        repeated = trial.user_attrs.get(LAST_RUNG_OF) is not None or trial.user_attrs.get(
            "fold_scores"
        )
        if family is None or trained >= data.n_train or repeated:
            continue
        kind = kinds.of(family)
        build = lambda f=family, t=trial: _build(f, t, data)  # noqa: E731
        if not kind.stoppable(family, build):
            continue
        # a fit that may be cut (sound when cut) may be expected to take CUT times its time
        room = cap * (CUT if kind.cut_is_sound(family, build) else 1.0 / MARGIN)
        reach = [n for n in sizes if trained < n <= REACH * trained]
        fitting = [n for n in reach if fit_seconds(trial, n) <= room]
        if fitting and (chosen is None or max(fitting) > chosen.rows):  # the most rows
            rows = max(fitting)
            chosen = LastRung(trial, min(cap, MARGIN * fit_seconds(trial, rows)), rows)
    return chosen


def _build(family: Any, trial: Any, data: TaskData) -> Any:
    from automl.objective import effective_params

    return family.build(effective_params(trial), data.spec)
