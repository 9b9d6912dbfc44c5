"""The model-kind half of the conformance kit (``automl.testing`` re-exports ``check_kind``), and
the checks of a trained model's outputs that ``check_family`` shares: what the core's
``Predictor.output`` contract says, class probabilities ``(n, k)`` or regression values ``(n,)``,
and, for regression, values on the target's scale that follow it."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from automl import kinds
from automl.errors import DataError, PluginError
from automl.kinds import ModelKind
from automl.predictors import FeaturizedPredictor, Predictor
from automl.task import ModelFamily, TaskData

CHECK_EPOCHS = 2  # torch families train this many epochs in the checks
MIN_CORRELATION = 0.1  # a trained regression model's outputs follow its training targets
MAX_SPREAD = 3.0  # ... with a spread of at most this many times the targets'
PICKLE_HEADERS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_MEMBER = "member_0"


def _fail(what: Any, message: str) -> AssertionError:
    return AssertionError(f"{type(what).__name__} {getattr(what, 'name', '')!r}: {message}")


def _require(condition: bool, what: Any, message: str) -> None:
    if not condition:
        raise _fail(what, message)


def check_output(what: Any, output: Any, data: TaskData, n_rows: int) -> np.ndarray:
    """``output`` is what the core expects of ``n_rows`` rows: finite values ``(n,)`` for
    regression, ``(n, k)`` probabilities (each row summing to 1) for classification."""
    output = np.asarray(output)
    n_outputs = data.spec.n_outputs
    expected = (n_rows,) if data.problem_type == "regression" else (n_rows, n_outputs)
    _require(
        output.shape == expected,
        what,
        f"{data.problem_type} output shape {output.shape}, expected {expected} "
        "(Predictor.output: values (n,) for regression, probabilities (n, k) otherwise)",
    )
    _require(output.dtype.kind in "fiu", what, f"outputs are of dtype {output.dtype}")
    _require(bool(np.isfinite(output).all()), what, "outputs are not finite")
    if data.problem_type != "regression" and n_rows:
        _require(
            output.min() >= -1e-6 and output.max() <= 1 + 1e-6,
            what,
            f"class probabilities outside [0, 1] ({output.min():.3g} to {output.max():.3g})",
        )
        _require(
            np.allclose(output.sum(axis=1), 1.0, atol=1e-4),
            what,
            "class probabilities of a row do not sum to 1",
        )
    return output


def check_regression_fit(what: Any, output: np.ndarray, y: np.ndarray) -> None:
    """A trained regression model's outputs on its training rows ``y``: on the targets' scale
    (their mean within the targets' range, their spread at most ``MAX_SPREAD`` times the
    targets') and following them (not constant, Pearson r at least ``MIN_CORRELATION``)."""
    output, y = np.asarray(output, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _require(y.std() > 0, what, "the check needs training targets that vary (all are equal)")
    low, high = float(y.min()), float(y.max())
    _require(
        low <= output.mean() <= high,
        what,
        f"outputs average {output.mean():.4g} on the training rows, outside the targets' range "
        f"[{low:.4g}, {high:.4g}]: are they on another scale (a standardized target not mapped "
        "back)?",
    )
    _require(
        output.std() <= MAX_SPREAD * y.std(),
        what,
        f"outputs spread {output.std():.4g} on the training rows, over {MAX_SPREAD:g} times the "
        f"targets' {y.std():.4g}: are they on another scale?",
    )
    _require(output.std() > 0, what, "outputs are constant: the model ignores its input")
    r = float(np.corrcoef(output, y)[0, 1])
    _require(
        r >= MIN_CORRELATION,
        what,
        f"outputs on the training rows correlate {r:.3f} with the targets (below "
        f"{MIN_CORRELATION}): the model did not learn them, or its rows are out of order",
    )


class _PickleWatch:
    """Records the classes that ``pickle`` resolves in this thread while ``watching`` (a
    ``pickle.find_class`` audit event: every unpickled object but plain data resolves one)."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.found: list[str] = []
        sys.addaudithook(self._hook)  # audit hooks cannot be removed: one per process

    def _hook(self, event: str, args: tuple) -> None:
        if event == "pickle.find_class" and threading.get_ident() == self.thread:
            self.found.append(".".join(str(a) for a in args))

    def watching(self, run: Any) -> tuple[Any, list[str]]:
        self.thread, self.found = threading.get_ident(), []
        try:
            return run(), self.found
        finally:
            self.thread = None


_WATCH: _PickleWatch | None = None


def _unpickled_by(run: Any) -> tuple[Any, list[str]]:
    global _WATCH
    if _WATCH is None:
        _WATCH = _PickleWatch()
    return _WATCH.watching(run)


def suggested(family: ModelFamily, data: TaskData) -> tuple[dict[str, Any], dict[str, Any]]:
    """A family's parameters from a seeded random trial: its own, and all a fit takes (with
    its kind's shared training parameters and the model's name)."""
    import optuna

    from automl.search import quiet_optuna

    with quiet_optuna():
        trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    family.suggest(trial, data)
    own = dict(trial.params)
    kinds.of(family).suggest_training(trial)
    return own, {"model": family.name, **trial.params}


def check_kind(kind: ModelKind, family: ModelFamily, data: TaskData) -> list[str]:
    """Run the ModelKind contract on ``family`` (a family of this kind) and adapted ``data``:
    the core finds the kind by its name and from the models it trains, ``check_build`` takes
    the family's model and refuses anything else, it trains within the core's loop (a search
    fit scored on the validation rows, a refit on all rows with sample weights) to outputs of
    the right shape, stops at a passed deadline with a usable model when it says it can,
    weighs itself, moves to the host unchanged, saves into a model folder (listed files, a
    JSON entry, no pickle) that loads back with identical outputs, and describes itself."""
    from automl.metrics import resolve
    from automl.objective import train_candidate

    done: list[str] = []
    _check_name(kind, family, data)
    done.append("name")
    params, spec = _check_build(kind, family, data)
    done.append("build")

    short = dataclasses.replace(data, max_epochs=CHECK_EPOCHS)
    metric = resolve(None, data.problem_type, classes=data.target.classes)
    outcome = train_candidate(family, params, short, metric, device="cpu", seed=0)
    predictor = _check_trained(kind, outcome.predictor, data)
    output = check_output(kind, outcome.predictor.output(data.x_valid), data, data.n_valid)
    _require(math.isfinite(outcome.score), kind, f"validation score {outcome.score}")
    again = metric(data.y_valid, output)
    _require(
        math.isclose(outcome.score, again, rel_tol=1e-6, abs_tol=1e-9),
        kind,
        f"reports a validation score {outcome.score}, but its model scores {again}",
    )
    if outcome.valid_output is not None:
        _require(
            np.array_equal(np.asarray(outcome.valid_output), output),
            kind,
            "valid_output is not the kept model's output on the validation rows",
        )
    done.append("train")

    weights = np.random.default_rng(0).uniform(0.5, 2.0, data.n_train + data.n_valid)
    weighted = dataclasses.replace(
        short, w_train=weights[: data.n_train], w_valid=weights[data.n_train :]
    )
    refit = train_candidate(
        family, params, weighted, metric, device="cpu", seed=0, refit_epochs=outcome.best_epoch
    )
    _check_trained(kind, refit.predictor, data)
    check_output(kind, refit.predictor.output(data.x_valid), data, data.n_valid)
    done.append("refit")

    if kind.stoppable(family, lambda: family.build(params, spec)):
        _check_deadline(kind, family, params, short, metric, output)
        done.append("deadline")

    size = kind.nbytes(predictor)
    _require(isinstance(size, (int, np.integer)) and size > 0, kind, f"nbytes() is {size!r}")
    kind.to_host(predictor)
    _require(
        np.array_equal(np.asarray(outcome.predictor.output(data.x_valid)), output),
        kind,
        "outputs change after to_host()",
    )
    done.append("to host")

    _check_save_load(kind, family, params, outcome.predictor, data, output)
    done.append("save and load")

    text, count, unit = kind.describe(family, predictor)
    _require(isinstance(text, str) and text != "", kind, "describe() gives no architecture")
    _require(count is None or int(count) >= 0, kind, f"describe() gives a size of {count!r}")
    _require(isinstance(unit, str), kind, "describe() gives a size unit that is not a string")
    done.append("describe")
    return done


def _check_name(kind: ModelKind, family: ModelFamily, data: TaskData) -> None:
    """The kind is a named ModelKind, the family's kind, and the one its name finds."""
    _require(isinstance(kind, ModelKind), kind, "is not an automl.kinds.ModelKind")
    _require(isinstance(kind.name, str) and kind.name != "", kind, "has no name")
    _require(isinstance(family, ModelFamily), kind, f"{family!r} is not an automl.ModelFamily")
    try:
        found = kinds.of(family)
    except PluginError as exc:
        raise _fail(kind, str(exc)) from None
    _require(
        found is kind,
        kind,
        f"is not the kind of family {family.name!r}: pass a family whose ModelFamily.kind it is",
    )
    _require(
        kinds.get(kind.name) is kind,
        kind,
        f"another kind object ({kinds.get(kind.name)!r}) already holds the name {kind.name!r}",
    )
    _require(family.supports(data), kind, f"{family.name} does not support this data")


def _check_build(
    kind: ModelKind, family: ModelFamily, data: TaskData
) -> tuple[dict[str, Any], Any]:
    """``check_build`` takes the family's model and refuses anything else; returns the
    suggested parameters and the data spec the model was built for."""
    _, params = suggested(family, data)
    spec = data.spec
    featurizer = family.featurizer(params, data)
    if featurizer is not None:
        spec = featurizer.fit(data.x_train, data.y_train).spec(data.spec)
    wrong = kind.check_build(family.build(params, spec))
    _require(wrong is None, kind, f"check_build refuses {family.name}'s model: it {wrong}")
    wrong = kind.check_build(object())
    _require(isinstance(wrong, str) and wrong, kind, "check_build accepts an object()")
    return params, spec


def _check_deadline(
    kind: ModelKind,
    family: ModelFamily,
    params: dict[str, Any],
    data: TaskData,
    metric: Any,
    output: np.ndarray,
) -> None:
    """A kind that says it stops near a deadline reads the clock (``time.monotonic``, the
    deadline's clock) in a fit whose deadline has passed, and returns a usable model: cut
    short (``stopped_by`` "time_budget"), or the very model an unhurried fit gives (it ended,
    by early stopping say, before it first looked at the clock)."""
    from automl.objective import train_candidate

    deadline, clock, reads = time.monotonic(), time.monotonic, []

    def counted() -> float:
        reads.append(1)
        return clock()

    time.monotonic = counted  # the kind's reads of the clock, counted for this one fit
    try:
        stopped = train_candidate(
            family, params, data, metric, device="cpu", seed=0, deadline=deadline
        )
    finally:
        time.monotonic = clock
    _require(
        bool(reads),
        kind,
        "says it stops near a deadline (stoppable), but never read time.monotonic() in a fit "
        "whose deadline had passed",
    )
    again = check_output(kind, stopped.predictor.output(data.x_valid), data, data.n_valid)
    _require(
        stopped.stopped_by == "time_budget" or np.array_equal(again, output),
        kind,
        f"a passed deadline cut its fit short (its model differs from an unhurried fit's), "
        f"but it reports stopped_by {stopped.stopped_by!r} (expected 'time_budget')",
    )


def _check_trained(kind: ModelKind, predictor: Any, data: TaskData) -> Predictor:
    """The kind's own predictor within what the core got (a featurizer's wrapper around it)."""
    inner = predictor.inner if isinstance(predictor, FeaturizedPredictor) else predictor
    _require(isinstance(inner, Predictor), kind, f"trained a {type(inner).__name__}")
    _require(
        (inner.problem_type, inner.n_outputs) == (data.problem_type, data.spec.n_outputs),
        kind,
        f"trained a {inner.problem_type} model of {inner.n_outputs} outputs for "
        f"{data.problem_type} data of {data.spec.n_outputs}",
    )
    try:
        found = kinds.get(inner.kind, f"its trained model (Predictor.kind {inner.kind!r})")
    except PluginError as exc:
        raise _fail(kind, str(exc)) from None
    _require(
        found is kind,
        kind,
        f"trains models whose Predictor.kind {inner.kind!r} names another kind: the core weighs "
        f"them and moves them to the host through {type(found).__name__}",
    )
    return inner


def _check_save_load(
    kind: ModelKind,
    family: ModelFamily,
    params: dict[str, Any],
    predictor: Any,
    data: TaskData,
    output: np.ndarray,
) -> None:
    """Save as ``automl``'s model folder does, verify the folder, and load it back."""
    from automl.modelfolder import verify, write_folder

    featurizer = None
    if isinstance(predictor, FeaturizedPredictor):
        featurizer, spec, predictor = predictor.featurizer, predictor.spec, predictor.inner
    else:
        spec = data.spec
    saved: dict[str, Any] = {}

    def fill(folder: Path) -> list[str]:
        (folder / _MEMBER).mkdir()
        kept, files = kind.save(predictor, folder / _MEMBER)
        saved.update(kept=kept, files=files)
        _require(isinstance(kept, dict), kind, f"save() keeps a {type(kept).__name__}")
        _require(
            isinstance(files, list) and files and all(isinstance(f, str) for f in files),
            kind,
            f"save() lists {files!r}, not the names of the files it wrote",
        )
        return [f"{_MEMBER}/{f}" for f in files]

    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = write_folder(Path(tmp) / "model", fill)
            listing = verify(folder)
        except (DataError, FileNotFoundError) as exc:
            raise _fail(kind, f"save() wrote a folder automl cannot load: {exc}") from exc
        try:
            entry = json.loads(json.dumps(saved["kept"], allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise _fail(kind, f"save() keeps what JSON cannot hold: {exc}") from exc
        _require(entry == saved["kept"], kind, "save() keeps what JSON does not give back")
        for name in saved["files"]:
            with (folder / _MEMBER / name).open("rb") as fh:
                head = fh.read(2)
            _require(
                head not in PICKLE_HEADERS,
                kind,
                f"save() wrote {name} as a pickle, which runs code when loaded: save arrays "
                "(numpy, allow_pickle=False), skops with an allow-list, or a library's own "
                "format",
            )
        # the member entry the model folder's config holds (persistence._save_member)
        entry = {"family": family.name, "kind": kind.name, "params": params, **entry}

        def load() -> Predictor:
            return kind.load(
                family,
                params,
                spec,
                entry,
                lambda name: listing.path(f"{_MEMBER}/{name}"),
                "cpu",
                tuple(family.trusted_types),
            )

        loaded, unpickled = _unpickled_by(load)
        _require(
            not unpickled,
            kind,
            f"load() unpickles {sorted(set(unpickled))[:3]}: a pickle runs code when loaded "
            "(save arrays, skops with an allow-list, or a library's own format)",
        )
        _check_trained(kind, loaded, data)
        if featurizer is not None:
            loaded = FeaturizedPredictor(featurizer, loaded, spec)
        again = np.asarray(loaded.output(data.x_valid))
    _require(
        again.shape == output.shape and np.array_equal(again, output),
        kind,
        "a saved and loaded model gives other outputs (largest difference "
        f"{_largest_difference(again, output)})",
    )


def _largest_difference(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"shape {a.shape} against {b.shape}"
    return f"{float(np.max(np.abs(a - b))) if a.size else 0.0:.3g}"
