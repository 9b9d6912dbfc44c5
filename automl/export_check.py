"""The export's agreement check: which rows it runs on, and how the graph's outputs are compared
with the model's own.

Rows: the rows given, else the held-out rows, else rows drawn from the training reference
(``Exporter.sample``), at most ``CHECK_ROWS``; at least ``minimum_rows`` (``MIN_CHECK_ROWS``, or
every training row when fewer were trained), rows drawn from the training reference making up
the rest. Given rows that hold no row at all are refused (a header-only file is a mistake, not
a check). Then the task's edge rows (``Exporter.edge_rows``: a number missing, a level never
seen, the training extremes), each named. Every row must agree within ``TOLERANCE``; the check
records how many rows of each source it ran on, the edge cases, and the worst row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.errors import ExportError

if TYPE_CHECKING:
    from automl.export import Exporter

TOLERANCE = 1e-4
CHECK_ROWS = 200  # rows the agreement check runs on, at most (edge rows besides)
MIN_CHECK_ROWS = 100  # ... and at least, or every training row when fewer were trained
DRAWN = "rows drawn from the training reference"
EDGE = "edge rows"


@dataclass
class EdgeRows:
    """Rows at the edges of what a model was trained on, as ``predict`` takes them, with a
    name per row (``"age missing"``): what an exporter's ``edge_rows`` returns."""

    rows: Any
    names: list[str]


@dataclass
class CheckSet:
    """Rows of one source, the model's own outputs on them, and (edge rows) their names."""

    source: str
    rows: Any
    expected: np.ndarray
    names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.expected)


def minimum_rows(result: Any) -> int:
    """``MIN_CHECK_ROWS``, or the number of training rows when fewer were trained."""
    trained = (result.summary or {}).get("train_rows")
    return MIN_CHECK_ROWS if not trained else min(MIN_CHECK_ROWS, int(trained))


@dataclass
class CheckPlan:
    """The rows the check runs on, by source (edge rows last), the minimum it needed, and a
    note when the task builds no edge rows."""

    sets: list[CheckSet]
    minimum: int
    edge_note: str | None = None


def check_plan(result: Any, exporter: Exporter, data: Any) -> CheckPlan:
    """The rows to check ``result``'s export on: see the module's docstring."""
    if data is not None:
        first = _set(result, "given rows", head(data, CHECK_ROWS))
        if not len(first):
            raise ExportError(
                "the rows given to check the export hold no rows: pass at least "
                f"{minimum_rows(result)} rows, or none to check on rows drawn from the "
                "training reference"
            )
    elif result.holdout_raw is not None:
        first = _set(result, "held-out rows", head(result.holdout_raw, CHECK_ROWS))
    else:
        first = _set(result, DRAWN, exporter.sample(result, CHECK_ROWS, seed=0))
    sets, need = [first], minimum_rows(result)
    if len(first) < need:  # drawn rows make up the rest (another seed where first were drawn)
        seed = 1 if first.source == DRAWN else 0
        try:
            drawn = exporter.sample(result, need - len(first), seed=seed)
        except ExportError as exc:
            raise ExportError(
                f"the check needs at least {need} rows; {first.source} hold {len(first)}, and "
                f"no more can be drawn ({exc}): pass {need} rows"
            ) from None
        sets.append(_set(result, DRAWN, drawn))
        if sum(len(s) for s in sets) < need:
            raise ExportError(
                f"the check needs at least {need} rows; {first.source} and the rows the "
                f"{result.task} task draws hold {sum(len(s) for s in sets)}: pass {need} rows"
            )
    edge = exporter.edge_rows(result)
    if edge is None:
        return CheckPlan(sets, need, f"the {result.task} task builds no edge rows")
    edges = _set(result, EDGE, edge.rows)
    if len(edges) != len(edge.names):
        raise ExportError(
            f"the {result.task} task's edge rows gave {len(edges)} predictions for "
            f"{len(edge.names)} named rows"
        )
    edges.names = list(edge.names)
    return CheckPlan([*sets, edges], need)


def _set(result: Any, source: str, rows: Any) -> CheckSet:
    return CheckSet(source, rows, expected(result, rows))


def head(data: Any, n: int) -> Any:
    """The first ``n`` rows of a frame, list or array (anything else as it is)."""
    if hasattr(data, "iloc"):
        return data.iloc[:n]
    if isinstance(data, (list, tuple, np.ndarray)):
        return data[:n]
    return data


def expected(result: Any, rows: Any) -> np.ndarray:
    """The model's own outputs: probabilities (n, k), or values (n,) for regression."""
    if result.problem_type == "regression":
        return np.asarray(result.predict(rows), dtype=np.float64).reshape(-1)
    return np.asarray(result.predict_proba(rows), dtype=np.float64)


def agreement(plan: CheckPlan, run: Callable[[Any], np.ndarray], runtime: str) -> dict[str, Any]:
    """The exported graph (``run``: raw rows in, outputs out) against the model on every set.
    Probabilities must agree within TOLERANCE; regression values within TOLERANCE times
    their size when that is above 1 (a float32 graph holds about 7 digits: 300.0 is known to
    3e-5, not to 1e-4 absolute over a sum of trees)."""
    sets = plan.sets
    regression = sets[0].expected.ndim == 1
    diff = 0.0
    worst: dict[str, Any] | None = None
    for s in sets:
        if not len(s):
            continue
        got = np.asarray(run(s.rows), dtype=np.float64)
        got = got.reshape(-1) if regression else got
        if got.shape != s.expected.shape:
            gap = rel = np.full(len(s), np.inf)
        else:
            gap = np.abs(got - s.expected)
            gap = gap if regression else gap.max(axis=1)
            rel = gap / np.maximum(1.0, np.abs(s.expected)) if regression else gap
        i = int(np.argmax(rel))
        diff = max(diff, float(gap.max()))
        if worst is None or rel[i] > worst["diff"]:
            worst = {"source": s.source, "row": i, "diff": float(rel[i])}
            if s.names is not None:
                worst["case"] = s.names[i]
    edges = next((s for s in sets if s.names is not None), None)
    check = {
        "runtime": runtime,
        "rows": sum(len(s) for s in sets),
        "source": sets[0].source,
        "sources": _counts(sets),
        "minimum_rows": plan.minimum,
        "edge_rows": 0 if edges is None else len(edges),
        "edge_cases": [] if edges is None else list(edges.names or []),
        "compared_with": "predict" if regression else "predict_proba",
        "max_abs_diff": diff,
        "tolerance": TOLERANCE,
        "passed": bool((worst["diff"] if worst else 0.0) <= TOLERANCE),
        "worst_row": worst,
    }
    if plan.edge_note:
        check["edge_note"] = plan.edge_note
    if regression:
        check["max_rel_diff"] = worst["diff"] if worst else 0.0
        check["rule"] = "|diff| <= tolerance * max(1, |value|)"
    return check


def _counts(sets: list[CheckSet]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in sets:
        out[s.source] = out.get(s.source, 0) + len(s)
    return out


def failure(what: str, check: dict[str, Any]) -> ExportError:
    """The refusal of a graph that disagrees, naming its worst row."""
    worst = check["worst_row"] or {}
    where = (
        f"edge row {worst['case']!r}"
        if "case" in worst
        else f"row {worst.get('row')} of the {worst.get('source')}"
    )
    rows = " + ".join(f"{n} {s}" for s, n in check["sources"].items())
    return ExportError(
        f"the {what} disagrees with the model by {check['max_abs_diff']:.3g} (tolerance "
        f"{TOLERANCE}; worst: {where}) on {rows}: not written"
    )
