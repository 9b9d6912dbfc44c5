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

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from automl import imbalance, options, threads
from automl.errors import ParameterError, close_spelling, did_you_mean
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
    """One of ``fit``'s keywords, as declared by its field of ``FitSettings``: its default,
    check and help are written there and nowhere else.

    ``check`` takes a value and returns it checked (and normalised) or raises ParameterError
    naming the setting; ``bad`` is a value it refuses (the declaration's own test uses it).
    ``type``: what fit's signature shows it accepts (the field's type unless ``accepts=``).
    ``cli``: the ``automl fit`` flag (None: not on the command line); ``study_key``: its key in
    a study file (None: a study file cannot set it); ``estimator``: AutoMLClassifier and
    AutoMLRegressor take it, with ``estimator_default`` where theirs differs from fit's;
    ``kept``: a study stores it, a resumed study must keep it and a worker reads it back."""

    name: str
    default: Any
    help: str
    check: Callable[[Any], Any]
    bad: Any
    type: str = "Any"
    cli: Flag | None = None
    study_key: str | None = None
    estimator: bool = False
    estimator_default: Any = _SAME
    kept: bool = False

    @property
    def estimator_value(self) -> Any:
        """The estimators' default."""
        return self.default if self.estimator_default is _SAME else self.estimator_default


_DECLARED = "automl.setting"  # the key of a FitSettings field's metadata that makes it a setting


def setting(default: Any, help: str, check: Callable[[Any], Any], bad: Any, **more: Any) -> Any:
    """A field of ``FitSettings`` that is one of fit's settings: its default, help, check and
    a value the check refuses; ``more``: ``Setting``'s other attributes (``cli``,
    ``study_key``, ``estimator``, ``estimator_default``, ``kept``) and ``accepts`` (fit's
    annotation of it, when wider than the field's type)."""
    declared = {"default": default, "help": help, "check": check, "bad": bad, **more}
    return field(default=default, metadata={_DECLARED: declared})


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


@dataclass(frozen=True)
class FitSettings:
    """Everything a fit was asked for, checked; built by ``FitSettings.build`` in ``fit``.

    Its ``setting(...)`` fields are the one declaration of fit's settings (``SETTINGS``): fit's
    signature and docstring, the ``automl fit`` flags, the study-file keys, the estimators'
    parameters and what a worker reads back all come from them, so a new setting is one field
    here (with its check, in ``automl.options``). A field's type is the value after ``build``
    (the preset's filled in)."""

    # fmt: off
    task: str | None = setting(
        None, "the plugin task (tabular, vision, text); None: inferred from the data",
        options.optional_text("task", "a task name"), 3,
        cli=Flag("--task"), study_key="task", estimator=True)
    problem_type: str | None = setting(
        None, "binary, multiclass or regression; None: inferred from the target",
        options.check_problem_type, "ordinal",
        cli=Flag("--problem-type", choices=PROBLEM_TYPES), study_key="problem_type")
    metric: Any = setting(
        None, "the metric to optimise: a name (accuracy, balanced_accuracy, f1, roc_auc, "
        "log_loss, r2, rmse, mae), a scikit-learn scorer name or a callable",
        options.check_metric, 3, cli=Flag("--metric"), study_key="metric", estimator=True)
    time_budget: float | None = setting(
        None, "seconds the whole fit may take (the preset's when neither this nor n_trials is "
        "given)", options.check_time_budget, -1.0,
        cli=Flag("--time-budget", float), study_key="time_budget", estimator=True,
        estimator_default=60.0)
    n_trials: int | None = setting(
        None, "finished trials the study should hold (the search stops at whichever of this "
        "and time_budget comes first)", options.check_n_trials, 0,
        cli=Flag("--n-trials", int), study_key="n_trials", estimator=True)
    study_name: str | None = setting(
        None, "the study's name in storage; an existing study resumes",
        options.check_study_name, "../up",
        cli=Flag("--study", note="default: derived from DATA"), study_key="name", estimator=True)
    storage: Any = setting(
        None, "Optuna storage: None (SQLite studies/studies.db), ':memory:', a journal path "
        "ending in .log, a database URL or a storage object", options.check_storage, 3,
        cli=Flag("--storage"), study_key="storage", estimator=True, estimator_default=_M)
    seed: int = setting(
        0, "the random seed (numpy, torch, scikit-learn, the sampler)", options.check_seed, -1,
        cli=Flag("--seed", int), study_key="seed", estimator=True, kept=True)
    device: Any = setting(
        "auto", "auto (CUDA when present), cpu or cuda", _device, "no-such-device", accepts="str",
        cli=Flag("--device"), study_key="device")
    verbose: bool = setting(
        True, "print a progress bar and the leaderboard", options.flag("verbose"), "yes",
        cli=Flag("--quiet", negate=True), estimator=True, estimator_default=False)
    models: tuple[str, ...] | None = setting(
        None, "the model families to search (default: all of the task's)",
        options.check_models, 3, accepts="Iterable[str] | str | None",
        cli=Flag("--models", note="comma-separated"), study_key="models", estimator=True,
        kept=True)
    plugins: tuple[Any, ...] | None = setting(
        None, "plugins to load: entry-point names and/or plugin objects", _plugins, 3,
        accepts="Iterable[Any] | None")
    valid_fraction: float = setting(
        0.2, "the share of rows held out for validation", options.check_valid_fraction, 1.5,
        kept=True)
    cv_folds: int | str = setting(
        None, "folds of cross-validation per trial: 'auto', 0 (one holdout split) or k >= 2 "
        "(default: the preset's)", options.check_cv_folds, 1, accepts="int | str | None",
        cli=Flag("--cv-folds", _cv_folds_flag), study_key="cv_folds", estimator=True,
        kept=True)
    max_epochs: int | None = setting(
        None, "the most epochs a network may train", options.check_max_epochs, 0,
        estimator=True, kept=True)
    refit: bool = setting(
        None, "refit the chosen models on train + validation (default: the preset's)",
        options.flag("refit", unset=True), "yes", accepts="bool | None")
    ensemble: bool = setting(
        None, "return a greedy ensemble of trials (default: the preset's)",
        options.flag("ensemble", unset=True), "yes", accepts="bool | None")
    report: bool | None = setting(
        None, "write studies/<study>/report.html (default: when the study is kept)",
        options.flag("report", unset=True), "yes")
    save: bool | None = setting(
        None, "save the model to studies/<study>/model (default: when the study is kept)",
        options.flag("save", unset=True), "yes")
    callbacks: tuple[Any, ...] = setting(
        None, "Optuna callbacks f(study, trial), run after each trial",
        options.check_callbacks, [3], accepts="list[Any] | None")
    study_attrs: dict[str, Any] = setting(
        None, "user attributes stored on the study", options.check_study_attrs, ["a"],
        accepts="dict[str, Any] | None")
    valid: Any = setting(
        None, "the caller's own validation data, in the form of the dataset (no split is made)",
        options.not_a_number("valid", "validation data (for a share use valid_fraction)"), 0.2,
        cli=Flag("--valid", note="a path, in the form of DATA"), study_key="valid")
    sample_weight: Any = setting(
        None, "per-row weights: an array or a column name",
        options.not_a_number("sample_weight", "an array of weights or a column name"), 1.0)
    positive_class: Any = setting(
        None, "the class binary metrics score (default: the minority class; the second on a "
        "tie)", options.check_positive_class, [1], kept=True)
    class_weight: Any = setting(
        None, "weights of the classes in training: 'balanced', 'none' or {class: weight} "
        "(default: none and balanced are searched where the smallest class has under half the "
        "rows of the largest)", imbalance.check_class_weight, "heavy",
        accepts="str | dict[Any, float] | None",
        cli=Flag("--class-weight", choices=imbalance.CHOICES), study_key="class_weight",
        estimator=True, kept=True)
    preset: str = setting(
        None, "fast, medium (default) or best: a bundle of defaults", _preset, "quick",
        accepts="str | None", cli=Flag("--preset", choices=tuple(PRESETS)), study_key="preset",
        estimator=True)
    n_jobs: int | None = setting(
        None, "CPU cores to use (-1: all)", threads.resolve, 0,
        cli=Flag("--n-jobs", int), study_key="n_jobs", estimator=True)
    pretrained: tuple[tuple[str, str | None], ...] | None = setting(
        None, "pretrained backbones to fine-tune beside the from-scratch families: a name "
        "('resnet18', a Hugging Face model id), a local folder, a list of them, or "
        "{architecture: weights file}", options.check_pretrained, 3, accepts="Any",
        cli=Flag("--pretrained", options.pretrained_flag,
                 note="NAME or NAME=FILE, several separated by commas"),
        study_key="pretrained", estimator=True, kept=True)
    # fmt: on

    # not settings: what build derives from the preset, and the task's own options
    ensemble_size: tuple[int, int] = (12, 25)  # candidate trials, greedy rounds
    fast_only: bool = False
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

    @classmethod
    def from_call(cls, given: dict[str, Any]) -> FitSettings:
        """``fit``'s keywords: the settings, checked, and the rest as the task's options
        (``fit(..., image_size=32)``)."""
        refuse_peer_keywords(given)
        return cls.build(
            task_options={k: v for k, v in given.items() if k not in BY_NAME},
            **{k: v for k, v in given.items() if k in BY_NAME},
        )

    @property
    def kept(self) -> bool:
        """Whether the study is kept on disk (anything but ``storage=":memory:"``)."""
        from automl.search import MEMORY

        return self.storage != MEMORY


# what AutoGluon, FLAML and scikit-learn users type, and what it is called here
PEER_KEYWORDS = {
    "time_limit": "time_budget=",
    "time_left_budget": "time_budget=",
    "label": "target= (or the second argument)",
    "presets": "preset=",
    "eval_metric": "metric=",
    "tuning_data": "valid=",
    "holdout_frac": "valid_fraction=",
    "num_cpus": "n_jobs=",
    "num_gpus": "device=",
    "estimator_list": "models=",
    "hyperparameters": "models=",
    "verbosity": "verbose=",
    "num_bag_folds": "cv_folds=",
    "n_splits": "cv_folds=",
    "random_state": "seed=",
    "max_iter": "n_trials=",
}


def refuse_peer_keywords(given: dict[str, Any]) -> None:
    """A ParameterError, before any data is read, for another library's keyword (with ours)
    or a close spelling of one of fit's settings (``time_budjet``: did you mean
    ``time_budget=``?). A task's own options are neither (the task checks them)."""
    said = foreign_keywords(given, BY_NAME)
    if said:
        raise ParameterError(f"fit takes no {said_of(said)}")


def foreign_keywords(keys: Any, known: Any) -> dict[str, str]:
    """What each of ``keys`` outside ``known`` is: another library's keyword (``time_limit=
    is time_budget= here``) or a close spelling of one of ``known`` (``did you mean
    time_budget=?``); keys that are neither are left out."""
    said = {}
    for key in sorted(k for k in keys if k not in known):
        if key in PEER_KEYWORDS:
            said[key] = f"{key}= is {PEER_KEYWORDS[key]} here"
        elif (ours := close_spelling(key, known)) is not None:
            said[key] = f"did you mean {ours}=?"
    return said


def said_of(said: dict[str, str]) -> str:
    """``foreign_keywords``' lines after the keys they are about: "time_budjet=: did you mean
    time_budget=?", "a=, b=: for a= did you mean ...?; b= is ... here"."""
    keys = ", ".join(f"{k}=" for k in said)
    if len(said) == 1:
        return f"{keys}: {next(iter(said.values()))}"
    lines = (f"for {k}= {line}" if line.startswith("did") else line for k, line in said.items())
    return f"{keys}: {'; '.join(lines)}"


def declared(cls: Any) -> tuple[Setting, ...]:
    """The settings a class declares with ``setting(...)`` fields, in their order."""
    found = []
    for f in fields(cls):
        if _DECLARED in f.metadata:
            more = dict(f.metadata[_DECLARED])
            accepts = more.pop("accepts", None)
            found.append(Setting(name=f.name, type=accepts or str(f.type), **more))
    return tuple(found)


SETTINGS: tuple[Setting, ...] = declared(FitSettings)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def check_settings(**given: Any) -> dict[str, Any]:
    """Every setting, checked and normalised: the given ones and the defaults of the rest. Run
    before any data is read."""
    unknown = sorted(set(given) - set(BY_NAME))
    if unknown:
        raise ParameterError(f"unknown setting(s) {unknown}{did_you_mean(unknown, BY_NAME)}")
    return {s.name: s.check(given.get(s.name, s.default)) for s in SETTINGS}


def docstring() -> str:
    """fit's settings, one line each, for its docstring."""
    return "\n".join(f"    ``{s.name}``: {s.help}." for s in SETTINGS)


def signature(*head: inspect.Parameter, returns: Any = inspect.Signature.empty) -> Any:
    """fit's signature: ``head`` (the data), every setting as a keyword with its default, and
    ``**task_options``."""
    keywords = [
        inspect.Parameter(
            s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default, annotation=s.type
        )
        for s in SETTINGS
    ]
    rest = inspect.Parameter("task_options", inspect.Parameter.VAR_KEYWORD, annotation="Any")
    return inspect.Signature([*head, *keywords, rest], return_annotation=returns)


def estimator_init() -> Callable[..., None]:
    """The ``__init__`` of automl's scikit-learn estimators: the estimator settings as
    keywords with their estimator defaults, each stored as an attribute of that name (what
    ``get_params`` and ``clone`` read back from the signature)."""
    params = [
        inspect.Parameter(
            s.name, inspect.Parameter.KEYWORD_ONLY, default=s.estimator_value, annotation=s.type
        )
        for s in SETTINGS
        if s.estimator
    ]
    names = [p.name for p in params]
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    shown = inspect.Signature([self, *params], return_annotation="None")

    def __init__(self: Any, **given: Any) -> None:
        refuse_unknown_parameters(type(self).__name__, given, names)
        bound = shown.bind(self, **given)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name != "self":
                setattr(self, name, value)

    __init__.__signature__ = shown  # type: ignore[attr-defined]
    __init__.__doc__ = "Store the settings (``automl.settings.SETTINGS``' estimator subset)."
    return __init__


def refuse_unknown_parameters(owner: str, given: Any, names: list[str]) -> None:
    """A ParameterError (a TypeError, as Python's own) for keywords an estimator does not take,
    naming close spellings and other libraries' keywords. Only names are checked: values are
    checked in ``fit``, as scikit-learn's estimator contract asks."""
    unknown = sorted(k for k in given if k not in names)
    if not unknown:
        return
    said = foreign_keywords(unknown, names)
    if len(said) == len(unknown):
        raise ParameterError(f"{owner} takes no {said_of(said)}")
    takes = ", ".join(f"{n}=" for n in names)
    raise ParameterError(f"{owner} takes no {', '.join(unknown)}; it takes {takes}")
