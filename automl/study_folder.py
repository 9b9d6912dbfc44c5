"""What ``fit`` leaves in ``studies/<study>/`` after its search: the report and the model folder,
the last steps of a kept study's fit, and the trials' validation outputs a resumed fit reads
back (``automl.trial_outputs``).

The model folder is replaced only by a model at least as good: when it holds a model of the
same study and metric that scored better on validation (``persistence.kept_instead``), it stays,
its report too, and ``result.summary["saved"]`` says why. That key always says what became of
the model: saved (where), or not (and why).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl import search
from automl.budget import Budget
from automl.errors import DataError
from automl.persistence import kept_instead
from automl.trial_outputs import FOLDER, TrialOutputs

if TYPE_CHECKING:
    from automl.result import FittedResult
    from automl.settings import FitSettings

MIN_EXPLAIN_SECONDS = 1.0  # less than this left: the report leaves its explanations out


def folder_of(study_name: str | None) -> Path:
    return Path(search.DEFAULT_STUDIES_DIR) / (study_name or "study")


def trial_outputs(settings: FitSettings, study_name: str) -> TrialOutputs | None:
    """Where a kept study's trials keep their validation outputs (none for ``:memory:``)."""
    return TrialOutputs(folder_of(study_name) / FOLDER) if settings.kept else None


def finish(
    result: FittedResult,
    settings: FitSettings,
    budget: Budget,
    started: float,
    on_stage: Callable[[str], None] | None = None,
) -> None:
    """Write the report and save the model as the settings say, and the run's total time
    (``timings["total"]``: so far, as the report and the saved model show it, then whole)."""
    result.timings["total"] = round(time.monotonic() - started, 3)
    save = settings.save or (settings.save is None and settings.kept)
    keep = kept_instead(result, folder_of(result.study_name) / "model") if save else None
    if keep is not None:
        result.summary["saved"] = f"not saved: {keep}; the folder's report is kept too"
    elif not save:
        why = "save=False" if settings.save is False else "the study is not kept (:memory:)"
        result.summary["saved"] = f"not saved ({why}): result.save(path) saves it"
    if keep is None and (settings.report or (settings.report is None and settings.kept)):
        write_report(result, budget, on_stage)
    result.timings["total"] = round(time.monotonic() - started, 3)
    if save and keep is None:
        if on_stage is not None:
            on_stage("saving")
        save_model(result)
    result.timings["total"] = round(time.monotonic() - started, 3)


def write_report(
    result: FittedResult, budget: Budget, on_stage: Callable[[str], None] | None = None
) -> None:
    """The report is a by-product: a failure to write it warns, it never loses the result.
    Under a time budget its explanations get what is left of it (less saving)."""
    path = folder_of(result.study_name) / "report.html"
    started = time.monotonic()
    seconds = budget.explain_seconds()
    if seconds is None:
        options: dict[str, Any] = {}
    elif seconds >= MIN_EXPLAIN_SECONDS:
        options = {"explain_budget_s": seconds}
    else:
        left = max(0.0, budget.left())
        options = {"explain": f"left out: {left:.0f} s of the time budget were left"}
    if on_stage is not None:
        on_stage("report")
        options["on_stage"] = on_stage  # explanations, then the page
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        result.report_path = result.report(str(path), **options)
    except (OSError, DataError) as exc:  # DataError: a folder, say, where the page goes
        warnings.warn(f"could not write the report {path}: {exc}", stacklevel=4)
        return
    result.timings["report"] = round(time.monotonic() - started, 3)


def save_model(result: FittedResult) -> None:
    """The kept study's model, saved as fit's last step so nothing is lost if the session ends
    (``automl predict studies/<study>``); a failure warns and keeps the result in memory."""
    path = folder_of(result.study_name) / "model"
    started = time.monotonic()
    result.summary["saved"] = f"saved to {path}"  # the saved config says so too
    try:
        result.model_path = result.save(str(path))
    except (OSError, DataError) as exc:
        result.summary["saved"] = f"not saved: could not save to {path}: {exc}"
        warnings.warn(f"could not save the model to {path}: {exc}", stacklevel=4)
        return
    result.timings["save"] = round(time.monotonic() - started, 3)


def save_unless_worse(result: FittedResult, path: str) -> str | None:
    """Save ``result``'s model to ``path`` (``automl fit --out``) unless the folder there holds
    a better model of the same study (``persistence.kept_instead``); returns the saved path, or
    None with ``result.summary["saved"]`` saying why."""
    keep = kept_instead(result, path)
    if keep is not None:
        result.summary["saved"] = f"not saved: {keep}"
        return None
    result.summary["saved"] = f"saved to {path}"
    return result.save(path)
