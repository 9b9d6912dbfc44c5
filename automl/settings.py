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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automl import options, threads
from automl.errors import ParameterError
from automl.targets import PROBLEM_TYPES

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


_SAME = object()  # a Setting's estimator default: fit's own


def _cv_folds_flag(text: str) -> int | str:
    """``--cv-folds``: "auto" or a number of folds."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"'auto' or a number of folds; got {text!r}") from None


@dataclass(frozen=True)
class Flag:
    """How ``automl fit`` spells a setting on the command line."""

    spelling: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    negate: bool = False  # a bare flag that sets the setting to False (``--quiet``)
    note: str = ""  # what the command line adds to the setting's help

    @property
    def dest(self) -> str:
        """The attribute argparse gives it."""
        return self.spelling.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Setting:
    """One of ``fit``'s keywords: the single place its default, check and help are written.

    ``check`` takes a value and returns it checked (and normalised) or raises ParameterError
    naming the setting; ``bad`` is a value it refuses (the declaration's own test uses it).
    ``cli``: the ``automl fit`` flag (None: not on the command line); ``study_key``: its key in
    a study file (None: a study file cannot set it); ``estimator``: AutoMLClassifier and
    AutoMLRegressor take it, with ``estimator_default`` where theirs differs from fit's;
    ``kept``: a study stores it, a resumed study must keep it and a worker reads it back."""

    name: str
    default: Any
    help: str
    check: Callable[[Any], Any]
    bad: Any
    cli: Flag | None = None
    study_key: str | None = None
    estimator: bool = False
    estimator_default: Any = _SAME
    kept: bool = False

    @property
    def estimator_value(self) -> Any:
        """The estimators' default."""
        return self.default if self.estimator_default is _SAME else self.estimator_default


def _preset(preset: Any) -> str | None:
    if preset is not None and preset not in PRESETS:
        raise ParameterError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    return preset


def _device(device: Any) -> Any:
    options.check_device(device)
    return device


def _plugins(plugins: Any) -> tuple[Any, ...] | None:
    return options.names("plugins", plugins)


_M = ":memory:"  # automl.search.MEMORY, spelled here to keep this module free of Optuna
# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("task", None, "the plugin task (tabular, vision, text); None: inferred from the data",
            options.optional_text("task", "a task name"), 3,
            cli=Flag("--task"), study_key="task", estimator=True),
    Setting("problem_type", None, "binary, multiclass or regression; None: inferred from the "
            "target", options.check_problem_type, "ordinal",
            cli=Flag("--problem-type", choices=PROBLEM_TYPES), study_key="problem_type"),
    Setting("metric", None, "the metric to optimise: a name (accuracy, balanced_accuracy, f1, "
            "roc_auc, log_loss, r2, rmse, mae), a scikit-learn scorer name or a callable",
            options.check_metric, 3, cli=Flag("--metric"), study_key="metric", estimator=True),
    Setting("time_budget", None, "seconds the whole fit may take (the preset's when neither "
            "this nor n_trials is given)", options.check_time_budget, -1.0,
            cli=Flag("--time-budget", float), study_key="time_budget", estimator=True,
            estimator_default=60.0),
    Setting("n_trials", None, "finished trials the study should hold (the search stops at "
            "whichever of this and time_budget comes first)", options.check_n_trials, 0,
            cli=Flag("--n-trials", int), study_key="n_trials", estimator=True),
    Setting("study_name", None, "the study's name in storage; an existing study resumes",
            options.check_study_name, "../up",
            cli=Flag("--study", note="default: derived from DATA"), study_key="name",
            estimator=True),
    Setting("storage", None, "Optuna storage: None (SQLite studies/studies.db), ':memory:', a "
            "journal path ending in .log, a database URL or a storage object",
            options.check_storage, 3, cli=Flag("--storage"), study_key="storage",
            estimator=True, estimator_default=_M),
    Setting("seed", 0, "the random seed (numpy, torch, scikit-learn, the sampler)",
            options.check_seed, -1,
            cli=Flag("--seed", int), study_key="seed", estimator=True, kept=True),
    Setting("device", "auto", "auto (CUDA when present), cpu or cuda", _device,
            "no-such-device", cli=Flag("--device"), study_key="device"),
    Setting("verbose", True, "print a progress bar and the leaderboard",
            options.flag("verbose"), "yes",
            cli=Flag("--quiet", negate=True), estimator=True, estimator_default=False),
    Setting("models", None, "the model families to search (default: all of the task's)",
            options.check_models, 3, cli=Flag("--models", note="comma-separated"),
            study_key="models", estimator=True, kept=True),
    Setting("plugins", None, "plugins to load: entry-point names and/or plugin objects",
            _plugins, 3),
    Setting("valid_fraction", 0.2, "the share of rows held out for validation",
            options.check_valid_fraction, 1.5, kept=True),
    Setting("cv_folds", None, "folds of cross-validation per trial: 'auto', 0 (one holdout "
            "split) or k >= 2 (default: the preset's)", options.check_cv_folds, 1,
            cli=Flag("--cv-folds", _cv_folds_flag), study_key="cv_folds", estimator=True,
            kept=True),
    Setting("max_epochs", None, "the most epochs a network may train",
            options.check_max_epochs, 0, estimator=True, kept=True),
    Setting("refit", None, "refit the chosen models on train + validation (default: the "
            "preset's)", options.flag("refit", unset=True), "yes"),
    Setting("ensemble", None, "return a greedy ensemble of trials (default: the preset's)",
            options.flag("ensemble", unset=True), "yes"),
    Setting("report", None, "write studies/<study>/report.html (default: when the study is "
            "kept)", options.flag("report", unset=True), "yes"),
    Setting("save", None, "save the model to studies/<study>/model (default: when the study "
            "is kept)", options.flag("save", unset=True), "yes"),
    Setting("callbacks", None, "Optuna callbacks f(study, trial), run after each trial",
            options.check_callbacks, [3]),
    Setting("study_attrs", None, "user attributes stored on the study",
            options.check_study_attrs, ["a"]),
    Setting("valid", None, "the caller's own validation data, in the form of the dataset (no "
            "split is made)",
            options.not_a_number("valid", "validation data (for a share use valid_fraction)"),
            0.2, cli=Flag("--valid", note="a path, in the form of DATA"), study_key="valid"),
    Setting("sample_weight", None, "per-row weights: an array or a column name",
            options.not_a_number("sample_weight", "an array of weights or a column name"), 1.0),
    Setting("positive_class", None, "the class binary metrics score (default: the second)",
            options.check_positive_class, [1], kept=True),
    Setting("preset", None, "fast, medium (default) or best: a bundle of defaults",
            _preset, "quick", cli=Flag("--preset", choices=tuple(PRESETS)),
            study_key="preset", estimator=True),
    Setting("n_jobs", None, "CPU cores to use (-1: all)", threads.resolve, 0,
            cli=Flag("--n-jobs", int), study_key="n_jobs", estimator=True),
    Setting("pretrained", None, "pretrained backbones to fine-tune beside the from-scratch "
            "families: a name ('resnet18', a Hugging Face model id), a local folder, a list of "
            "them, or {architecture: weights file}", options.check_pretrained, 3,
            cli=Flag("--pretrained", options.pretrained_flag,
                     note="NAME or NAME=FILE, several separated by commas"),
            study_key="pretrained", estimator=True, kept=True),
)
# fmt: on
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def check_settings(**given: Any) -> dict[str, Any]:
    """Every setting, checked and normalised: the given ones and the defaults of the rest. Run
    before any data is read."""
    unknown = sorted(set(given) - set(BY_NAME))
    if unknown:
        raise ParameterError(f"unknown setting(s) {unknown}")
    return {s.name: s.check(given.get(s.name, s.default)) for s in SETTINGS}


def docstring() -> str:
    """fit's settings, one line each, for its docstring."""
    return "\n".join(f"    ``{s.name}``: {s.help}." for s in SETTINGS)


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
    pretrained: tuple[tuple[str, str | None], ...] | None = None
    task_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, *, task_options: dict[str, Any] | None = None, **given: Any) -> FitSettings:
        """Check every setting (``SETTINGS``) and fill what the caller left out from the
        preset."""
        checked = check_settings(**given)
        preset = checked["preset"] or DEFAULT_PRESET
        defaults = PRESETS[preset]
        if checked["time_budget"] is None and checked["n_trials"] is None:
            checked["time_budget"] = defaults["time_budget"]
        for key in ("cv_folds", "ensemble", "refit"):
            if checked[key] is None:
                checked[key] = defaults[key]
        if checked["valid"] is not None:
            if given.get("cv_folds") not in (None, 0):
                raise ParameterError(
                    "valid= gives the validation rows, so cv_folds cannot also be set: drop one"
                )
            checked["cv_folds"] = 0
        checked["preset"] = preset
        return cls(
            **checked,
            ensemble_size=defaults["ensemble_size"],
            fast_only=defaults["fast_only"] and checked["models"] is None,
            task_options=dict(task_options or {}),
        )

    @property
    def kept(self) -> bool:
        """Whether the study is kept on disk (anything but ``storage=":memory:"``)."""
        from automl.search import MEMORY

        return self.storage != MEMORY
