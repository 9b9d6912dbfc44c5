"""The time budget of one ``fit``: a single deadline for the whole call, shared out as it runs.

``time_budget`` bounds the wall time of the call: input checks, preprocessing, search, refit,
ensemble, report (explanations included) and saving. The search plans for what comes after it:
the report's share (``REPORT_BASE`` seconds and ``REPORT_SHARE`` of the budget, at most
``MAX_REPORT_SHARE`` of it) when a report is written, saving when the model is saved (a fit
that writes neither gives their time to the search), the final choice (``FINAL_SHARE``), and
the refit of what the search would
return now (the best trial, or the greedy ensemble of the trials so far) as their measured
training times predict it: the members of most weight first, as many as fit in
``MAX_REFIT_SHARE`` of the budget (the others, or all when not even the first fits, keep their
trained trial models). The search deadline is recomputed after every trial, so cheap chosen
models leave more time to search and costly ones less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# the report (explanations included): REPORT_BASE + REPORT_SHARE of the budget, within
# MIN_REPORT..MAX_REPORT seconds. Measured on the 2-core machine (adult, an ensemble of four
# tree models): the page without explanations takes ~5 s (figures, matplotlib's import),
# the explanations at least ~3 s more
REPORT_BASE = 4.0
REPORT_SHARE = 0.1
MIN_REPORT = 6.0
MAX_REPORT = 64.0
MAX_REPORT_SHARE = 0.3  # a short budget keeps at most this share for the report (else a 7 s
# fit kept 6 s for a report and 2 s for saving: its search ended after its first trial)
SAVE_SECONDS = 2.0  # writing the model folder
REPORT_OVERHEAD = 4.0  # the report's figures and page, besides its explanations
MAX_REFIT_SHARE = 0.35  # a refit planned for costs at most this share of the budget
REFIT_MARGIN = 1.25  # the search plans a refit with this margin (trial times vary)
# and this many seconds more: the last trial of a search may end a little past the search's
# deadline, which left a planned 1 s refit of SMS spam's TF-IDF model 0.8 s (it was skipped)
REFIT_SLACK = 1.0
# the final choice (ensemble selection, holdout scores) and the last trial's overrun past the
# search's deadline: this share of the budget, at most MAX_FINAL seconds, is always kept (a
# 7 s fit without refit, report or saving otherwise took 7.2 s)
FINAL_SHARE = 0.05
MAX_FINAL = 5.0


@dataclass
class Budget:
    """One fit's clock. ``seconds`` None: no budget (``n_trials`` alone ends the search)."""

    seconds: float | None
    started: float = field(default_factory=time.monotonic)
    refit_planned: float = 0.0  # seconds the search keeps free for the refit (updated)
    last_rung_planned: float = 0.0  # for the last rung's fit (automl.last_rung; updated)
    last_rung_started: bool = False  # the last rung runs: the search's deadline includes it
    searches_only: bool = False  # a worker (``run_trials``): no refit, report or saving
    reports: bool = True  # the fit writes a report after the search (else no time kept for it)
    saves: bool = True  # the fit saves its model folder (else no time kept for saving)

    @property
    def deadline(self) -> float | None:
        return None if self.seconds is None else self.started + self.seconds

    def left(self) -> float:
        """Seconds until the deadline (inf without a budget)."""
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def report_seconds(self) -> float:
        """What the report may take (explanations included)."""
        if self.seconds is None:
            return float("inf")
        if self.searches_only or not self.reports:
            return 0.0
        wanted = min(MAX_REPORT, max(MIN_REPORT, REPORT_BASE + REPORT_SHARE * self.seconds))
        return min(wanted, MAX_REPORT_SHARE * self.seconds)

    @property
    def save_seconds(self) -> float:
        """What saving the model folder may take (0 when the fit saves nothing)."""
        return 0.0 if self.searches_only or not self.saves else SAVE_SECONDS

    def after_search(self) -> float:
        """Seconds kept free after the search: the last rung's fit and the refit (as
        planned), report and saving (each only when the fit does it)."""
        if self.searches_only:
            return 0.0
        kept = self.final_seconds + self.refit_planned
        kept += 0.0 if self.last_rung_started else self.last_rung_planned
        return kept + self.report_seconds + self.save_seconds

    @property
    def final_seconds(self) -> float:
        """Kept for the final choice and the last trial's overrun (``FINAL_SHARE``)."""
        if self.seconds is None or self.searches_only:
            return 0.0
        return min(MAX_FINAL, FINAL_SHARE * self.seconds)

    def plan(self) -> dict[str, float]:
        """The split of the budget as it stands (``result.budget``): the seconds kept after
        the search for the refit, the report and saving."""
        return {
            "kept_for_final_s": round(self.final_seconds, 3),
            "kept_for_refit_s": round(self.refit_planned, 3),
            "kept_for_last_rung_s": round(self.last_rung_planned, 3),
            "kept_for_report_s": round(self.report_seconds, 3) if self.seconds else 0.0,
            "kept_for_saving_s": round(self.save_seconds, 3) if self.seconds else 0.0,
        }

    def search_deadline(self) -> float | None:
        """When the search must end (and a running trial stop) to leave ``after_search``."""
        if self.deadline is None:
            return None
        return self.deadline - self.after_search()

    def refit_deadline(self) -> float | None:
        """When a refit must stop to leave the report and saving their time."""
        if self.deadline is None:
            return None
        return self.deadline - self.report_seconds - self.save_seconds

    def explain_seconds(self) -> float | None:
        """Seconds the report's explanations may take now: what is left less saving and the
        report's own drawing (``REPORT_OVERHEAD``)."""
        if self.deadline is None:
            return None
        return self.left() - self.save_seconds - REPORT_OVERHEAD

    def plan_refit(self, costs: list[float]) -> None:
        """Keep free after the search the refits of the best trials (``costs``, best first:
        what an ensemble would take), as many of them from the first as fit in
        ``MAX_REFIT_SHARE`` of the budget with their margin and slack; none when not even the
        best trial's does (its trial model is returned). The refit after the search refits
        the members of most weight whose refits fit, so a plan for the first few is not
        wasted when the ensemble takes more."""
        if self.seconds is None:
            return
        # the last rung's time comes out of the refit's share (automl.last_rung)
        cap, planned = MAX_REFIT_SHARE * self.seconds - self.last_rung_planned, 0.0
        for cost in costs:
            if REFIT_MARGIN * (planned + cost) + REFIT_SLACK > cap:
                break
            planned += cost
        self.refit_planned = REFIT_MARGIN * planned + REFIT_SLACK if planned else 0.0

    def refit_fits(self, seconds: float) -> bool:
        """Whether a refit estimated at ``seconds`` still fits before report and saving."""
        if self.seconds is None:
            return True
        return (
            seconds <= self.refit_room()
        )  # decided on the chosen members' own estimates: no margin

    def refit_room(self) -> float:
        """Seconds left for a refit before the report and saving (those the fit does)."""
        return self.left() - self.report_seconds - self.save_seconds


def trial_fit_seconds(attrs: dict[str, Any]) -> tuple[float, float]:
    """A trial's fit time from its user attributes, in two parts: training (``train_seconds``
    less its validation predictions) and the validation predictions (``scoring_seconds``), a
    forest that the deadline cut short counted as growing all its trees (``grown_share``).
    The refit's estimate (``automl.final``) and the last rung's (``automl.last_rung``) start
    from it."""
    seconds = float(attrs.get("train_seconds", 0.0) or 0.0)
    scoring = min(seconds, float(attrs.get("scoring_seconds", 0.0) or 0.0))
    share = float(attrs.get("grown_share", 1.0) or 1.0)
    return (seconds - scoring) / share, scoring


def refit_seconds(train_seconds: float, rows_trained: int, rows_refit: int) -> float:
    """A refit's cost from its trial's: training time scales with the rows (a trial scored by
    cross-validation reports the sum of its folds; pass it per fold)."""
    return train_seconds * max(1.0, rows_refit / max(1, rows_trained))
