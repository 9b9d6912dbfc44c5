"""``fit``'s keywords, checked once and held in one frozen object, and the presets.

A preset is a documented bundle of defaults (families, time budget, validation, ensembling,
refit); any keyword the caller gives wins over it:

- ``"fast"``: only the families marked fast (``ModelFamily.fast``: tables' linear models and
  gradient boosting, text's TF-IDF and fastText, images' ConvNet and pixel MLP), 60 s, one
  holdout split (no cross-validation), no ensemble and no refit (the best trial's own model is
  returned, so nothing runs after the search).
- ``"medium"`` (the default): every family, 120 s, cross-validation where the task says
  ("auto"), a greedy ensemble of up to 12 trials, refit on train + validation.
- ``"best"``: every family, 600 s, as medium with a larger ensemble library (up to 20 trials,
  50 rounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automl import options, threads
from automl.errors import ParameterError

PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "time_budget": 60.0,
        "cv_folds": 0,
        "ensemble": False,
        "refit": False,
        "fast_only": True,
        "ensemble_size": (0, 0),
    },
    "medium": {
        "time_budget": 120.0,
        "cv_folds": "auto",
        "ensemble": True,
        "refit": True,
        "fast_only": False,
        "ensemble_size": (12, 25),
    },
    "best": {
        "time_budget": 600.0,
        "cv_folds": "auto",
        "ensemble": True,
        "refit": True,
        "fast_only": False,
        "ensemble_size": (20, 50),
    },
}
DEFAULT_PRESET = "medium"


@dataclass(frozen=True)
class FitSettings:
    """Everything a fit was asked for, checked; built by ``FitSettings.build`` in ``fit``."""

    task: str | None = None
    problem_type: str | None = None
    metric: Any = None
    time_budget: float | None = None
    n_trials: int | None = None
    study_name: str | None = None
    storage: Any = None
    seed: int = 0
    device: Any = "auto"
    verbose: bool = True
    models: tuple[str, ...] | None = None
    plugins: tuple[Any, ...] | None = None
    valid_fraction: float = 0.2
    cv_folds: int | str = "auto"
    max_epochs: int | None = None
    refit: bool = True
    ensemble: bool = True
    ensemble_size: tuple[int, int] = (12, 25)  # candidate trials, greedy rounds
    report: bool | None = None
    save: bool | None = None
    callbacks: tuple[Any, ...] = ()
    study_attrs: dict[str, Any] = field(default_factory=dict)
    valid: Any = None
    sample_weight: Any = None
    positive_class: Any = None
    preset: str = DEFAULT_PRESET
    fast_only: bool = False
    n_jobs: int | None = None
    task_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, **given: Any) -> FitSettings:
        """Check every keyword (``automl.options``) and fill what the caller left out from the
        preset."""
        preset = given.get("preset") or DEFAULT_PRESET
        if preset not in PRESETS:
            raise ParameterError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
        defaults = PRESETS[preset]
        time_budget, n_trials = given.get("time_budget"), given.get("n_trials")
        options.check_budget(time_budget, n_trials)
        if time_budget is None and n_trials is None:
            time_budget = defaults["time_budget"]
        keys = ("cv_folds", "ensemble", "refit")
        pick = {k: defaults[k] if given.get(k) is None else given[k] for k in keys}
        options.check_flags(
            verbose=given.get("verbose", True), refit=pick["refit"], ensemble=pick["ensemble"]
        )
        valid = given.get("valid")
        if valid is not None and given.get("cv_folds") not in (None, 0):
            raise ParameterError(
                "valid= gives the validation rows, so cv_folds cannot also be set: drop one"
            )
        if valid is not None:
            pick["cv_folds"] = 0
        return cls(
            task=given.get("task"),
            problem_type=given.get("problem_type"),
            metric=given.get("metric"),
            time_budget=None if time_budget is None else float(time_budget),
            n_trials=None if n_trials is None else int(n_trials),
            study_name=options.check_study_name(given.get("study_name")),
            storage=given.get("storage"),
            seed=options.check_seed(given.get("seed", 0)),
            device=_device(given.get("device", "auto")),
            verbose=given.get("verbose", True),
            models=_tuple(options.names("models", given.get("models"))),
            plugins=_tuple(options.names("plugins", given.get("plugins"))),
            valid_fraction=options.check_valid_fraction(given.get("valid_fraction", 0.2)),
            cv_folds=pick["cv_folds"],
            max_epochs=options.check_max_epochs(given.get("max_epochs")),
            refit=pick["refit"],
            ensemble=pick["ensemble"],
            ensemble_size=defaults["ensemble_size"],
            report=given.get("report"),
            save=given.get("save"),
            callbacks=tuple(given.get("callbacks") or ()),
            study_attrs=dict(given.get("study_attrs") or {}),
            valid=valid,
            sample_weight=given.get("sample_weight"),
            positive_class=given.get("positive_class"),
            preset=preset,
            fast_only=defaults["fast_only"] and given.get("models") is None,
            n_jobs=threads.resolve(given.get("n_jobs")),
            task_options=dict(given.get("task_options") or {}),
        )

    @property
    def kept(self) -> bool:
        """Whether the study is kept on disk (anything but ``storage=":memory:"``)."""
        from automl.search import MEMORY

        return self.storage != MEMORY


def _device(device: Any) -> Any:
    options.check_device(device)
    return device


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)
