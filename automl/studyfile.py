"""Study definitions (``studies/NAME.toml``) and the runs behind ``automl fit`` / ``automl run``.

A definition names the data, target, task, metric, budget and seed; its run lands in
``studies/<name>/`` (``model/`` and ``report.html``; the study in ``studies/studies.db``).
Running it again resumes the study. Paths in a file are relative to that file.

    [study]
    data = "../../shared/datasets/tabular/credit_g.csv.gz"
    target = "class"
    metric = "accuracy"
    time_budget = 300
    test_size = 0.25          # or: test = "path/to/test.csv"
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

from automl.errors import DataError, did_you_mean
from automl.settings import SETTINGS, check_settings, refuse_peer_keywords
from automl.study_folder import save_unless_worse
from automl.tables import TABLE_SUFFIXES, read_table

# the keys of a study file that are not fit's settings; the rest are ``automl.settings``'
STUDY_ONLY_KEYS = ("data", "test", "test_size", "target", "options")
_C = TypeVar("_C", bound=type)
KNOWN_KEYS = set(STUDY_ONLY_KEYS) | {s.study_key for s in SETTINGS if s.study_key}


@dataclass_transform(field_specifiers=(field,))
def _with_settings(cls: _C) -> _C:
    """``cls`` as a dataclass with one field per study-file key of fit's settings
    (``automl.settings.SETTINGS``), defaulting to the setting's default, after its own."""
    own = cls.__dict__.get("__annotations__", {})
    for s in SETTINGS:
        if s.study_key and s.study_key not in own:
            own[s.study_key] = "Any"
            setattr(cls, s.study_key, field(default=s.default))
    cls.__annotations__ = own
    return dataclass(cls)  # type: ignore[return-value]


@_with_settings
class StudySpec:
    """A study definition: the study-only keys (the data, its target and test rows, the task's
    options) and the study-file keys of fit's settings, added from the declaration."""

    name: str  # the study_name setting's key
    data: str
    target: str | None = None
    test: str | None = None
    test_size: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    if TYPE_CHECKING:  # the settings' fields, made from automl.settings.SETTINGS

        def __getattr__(self, name: str) -> Any: ...

    @property
    def folder(self) -> Path:
        from automl.options import check_study_name

        return Path("studies") / check_study_name(self.name)

    def settings(self) -> dict[str, Any]:
        """fit's keywords for the settings this spec holds."""
        return {s.name: getattr(self, s.study_key) for s in SETTINGS if s.study_key}


def name_for(data: str) -> str:
    """A study name from a data path: its file or folder name without suffixes."""
    stem = Path(str(data).rstrip("/")).name
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) or "study"


def fresh_name(name: str, storage: Any = None) -> str:
    """``name`` when no study of that name exists yet (no ``studies/<name>/`` folder, none in
    the storage), else the first free ``name-2``, ``name-3``...: the study ``--new`` starts."""
    import optuna

    from automl import search

    if storage is None:
        db = Path(search.DEFAULT_STUDIES_DIR) / search.DEFAULT_DB
        storage = f"sqlite:///{db}" if db.is_file() else search.MEMORY
    taken: set[str] = set()
    if storage != search.MEMORY:
        store, _ = search.resolve_storage(name, storage)
        taken = set(optuna.get_all_study_names(store))
    candidates = (name if n == 1 else f"{name}-{n}" for n in range(1, 10_000))
    return next(c for c in candidates if c not in taken and not (Path("studies") / c).exists())


def read(path: str) -> StudySpec:
    """Parse a study TOML file; unknown keys and missing data are errors that name them."""
    import tomllib

    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such study definition: {file}")
    try:
        doc = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{file} is not valid TOML: {exc}") from None
    table = doc.get("study", doc)
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        hints = did_you_mean(unknown, sorted(KNOWN_KEYS))
        raise DataError(f"{file}: unknown key(s) {unknown}{hints}; known: {sorted(KNOWN_KEYS)}")
    if "data" not in table:
        raise DataError(f"{file}: 'data' (the path of the data) is required")

    from automl.options import check_study_name

    def rel(p: str | None) -> str | None:
        return None if p is None else str((file.parent / p).resolve())

    given = {k: v for k, v in table.items() if k not in ("name", "data", "test", "valid")}
    spec = StudySpec(
        name=check_study_name(table["name"]) if "name" in table else name_for(file.stem),
        data=rel(table["data"]),
        test=rel(table.get("test")),
        valid=rel(table.get("valid")),
        **given,
    )
    check_spec(spec)
    return spec


def check_spec(spec: StudySpec) -> None:
    """The checks of fit's settings (``automl.settings``) on a spec's values, and of its task
    options for other libraries' keywords and misspelled settings, before its data is read."""
    check_settings(**spec.settings())
    refuse_peer_keywords(spec.options)


def _read_by_task(path: Path, split: str) -> Any:
    """What the first task that reads ``path`` makes of it (``Task.read_path``), or None."""
    from automl.plugins import load_registry

    for task in load_registry().tasks.values():
        found = task.read_path(path, split)
        if found is not None:
            return found
    return None


def load_dataset(path: str, split: str = "train") -> Any:
    """What ``fit`` gets for a data path: a DataFrame for tables (the target stays a column),
    ``(x, y)`` for an ``.npz`` of ``x_<split>`` / ``y_<split>`` arrays, what a task's
    ``read_path`` makes of a path it knows (vision: an IDX folder gives ``(x, y)``), else the
    path itself for other folders (image or text classes)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"no such file or folder: {p}")
    if p.name.endswith(".npz"):
        import numpy as np

        with np.load(p, allow_pickle=False) as arrays:
            keys = (f"x_{split}", f"y_{split}")
            if not set(keys) <= set(arrays.files):
                raise DataError(f"{p} lacks {keys}; it holds {arrays.files}")
            return arrays[keys[0]], arrays[keys[1]]
    if p.is_dir():
        found = _read_by_task(p, split)
        return str(p) if found is None else found
    if not p.name.lower().endswith(TABLE_SUFFIXES):
        raise DataError(
            f"unknown file type {p.name!r}: pass a CSV/TSV/Parquet file, an .npz with "
            "x_train/y_train, an image folder (one sub-folder per class) or an IDX folder"
        )
    return read_table(p)


def _has_own_test_split(path: Path) -> bool:
    """An ``.npz`` (its ``x_test``), or a folder a task reads a test split from (IDX)."""
    if path.name.endswith(".npz"):
        return True
    if not path.is_dir():
        return False
    try:
        return _read_by_task(path, "test") is not None
    except DataError:
        return False


def load_features(path: str) -> Any:
    """Predict-time input from a data path (a folder a task reads as ``(x, y)``, such as an
    IDX folder, gives its images)."""
    data = load_dataset(path, split="test")
    return data[0] if isinstance(data, tuple) else data


def split(spec: StudySpec, data: Any) -> tuple[Any, Any, Any]:
    """(train data for fit, test features, test labels) per the spec's test / test_size."""
    if spec.test:
        test = load_dataset(spec.test, split="test")
    elif not spec.test_size and _has_own_test_split(Path(spec.data)):
        test = load_dataset(spec.data, split="test")
    elif spec.test_size:
        import pandas as pd
        from sklearn.model_selection import train_test_split

        if not isinstance(data, pd.DataFrame):
            raise DataError("test_size applies to tables; give `test = path` for other data")
        y = data[spec.target]
        classification = spec.metric not in ("r2", "rmse", "mae") and y.dtype.kind in "OUbi"
        data, test = train_test_split(
            data,
            test_size=spec.test_size,
            random_state=spec.seed,
            stratify=y if classification else None,
        )
    else:
        return data, None, None
    if isinstance(test, tuple):
        return data, test[0], test[1]
    if spec.target is None or spec.target not in test.columns:
        raise DataError(f"the test data lacks the target column {spec.target!r}")
    return data, test.drop(columns=[spec.target]), test[spec.target]


def execute(
    spec: StudySpec, *, verbose: bool = True, model_dir: str | None = None, report: bool = True
) -> dict[str, Any]:
    """Run (or resume) a study; save its model and report; print the leaderboard and paths."""
    import pandas as pd

    import automl

    check_spec(spec)
    data = load_dataset(spec.data)
    if isinstance(data, pd.DataFrame) and spec.target is None:
        raise DataError(f"{spec.data} is a table: name the column to predict (--target / target)")
    if isinstance(data, pd.DataFrame) and spec.target not in data.columns:
        raise DataError(
            f"target column {spec.target!r} is not in {spec.data}; columns: "
            f"{list(data.columns)[:20]}"
        )
    train, x_test, y_test = split(spec, data)
    spec.folder.mkdir(parents=True, exist_ok=True)
    recipe = {
        "data": spec.data,
        "target": spec.target,
        "task": spec.task,
        "metric": spec.metric,
        "seed": spec.seed,
        "test": spec.test,
        "test_size": spec.test_size,
        "options": spec.options,
        "problem_type": spec.problem_type,
        "valid": spec.valid,
    }
    valid = None
    if spec.valid:
        valid = load_dataset(spec.valid, split="test")
    started = time.monotonic()
    result = automl.fit(
        train,
        spec.target if not isinstance(train, (tuple, str)) else None,
        **{**spec.settings(), "valid": valid},
        verbose=verbose,
        study_attrs={"recipe": recipe},
        report=report,
        save=model_dir is None,
        **spec.options,
    )
    seconds = time.monotonic() - started
    # --out: replaced only by a model at least as good, as studies/<study>/model
    model_path = save_unless_worse(result, model_dir) if model_dir else result.model_path
    row: dict[str, Any] = {
        "study": spec.name,
        "metric": result.metric,
        "valid": round(result.valid_score, 4),
        "validation": result.summary.get("validation"),
        "model": result.model_name,
    }
    if x_test is not None:
        row["score"] = round(result.score(x_test, y_test), 4)
        scores = result.evaluate(x_test, y_test)
        if "roc_auc" in scores and result.metric != "roc_auc":
            row["roc_auc"] = round(scores["roc_auc"], 4)
    states = [t.state.name for t in result.study.trials]
    row["timings"] = dict(result.timings)
    row["refit"] = result.summary.get("refit")
    row.update(
        seconds=round(seconds, 1),
        trials=len(states),
        pruned_share=round(states.count("PRUNED") / max(1, len(states)), 3),
    )
    if not verbose:  # fit printed the leaderboard and paths itself when verbose
        from automl.console import print_result

        print_result(result)
    if "score" in row:
        print(f"test {result.metric}: {row['score']:.4f}")
    if model_dir:
        print(f"model: {model_path or result.summary['saved']}")
    if result.report_path:
        row["report"] = result.report_path
    row["model_path"] = model_path
    return row
