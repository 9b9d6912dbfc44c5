"""The checks of a trained model's outputs that the conformance kit (``automl.testing``) runs:
what the core's ``Predictor.output`` contract says, class probabilities ``(n, k)`` or regression
values ``(n,)``, and, for regression, values on the target's scale that follow it."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl import kinds
from automl.task import ModelFamily, TaskData

CHECK_EPOCHS = 2  # torch families train this many epochs in the checks
MIN_CORRELATION = 0.1  # a trained regression model's outputs follow its training targets
MAX_SPREAD = 3.0  # ... with a spread of at most this many times the targets'


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
