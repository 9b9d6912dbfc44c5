"""Permutation importance of a table's input columns (AutoGluon's ``feature_importance``).

Each column of the raw rows is shuffled in turn and the rows scored again with the search
metric: the drop (for a metric where larger is better; the rise otherwise) is what the model
loses without that column. Computed on the rows given (held-out rows, not the training ones),
through the whole predict path, so preprocessing and pair columns are part of it.

Its cost is bounded: at most ``max_rows`` rows (a seeded sample), ``n_repeats`` shuffles of
every column, and no new repeat once ``seconds`` are spent (the first always runs). Each
repeat predicts the shuffled copies of all columns in a few large calls (``BATCH_ROWS`` rows
at most), not one call per column: an ensemble's per-call cost made 60-328 rows take 10-19 s.
The table's ``attrs`` say what was used.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import DataError, ParameterError

MAX_ROWS = 1000  # rows scored (a seeded sample of the rows given beyond this)
SECONDS = 10.0  # no new repeat starts past this many seconds (None: no clock)
BATCH_ROWS = 50_000  # shuffled rows predicted in one call


def permutation_importance(  # noqa: PLR0913
    result: Any,
    data: Any,
    y: Any,
    *,
    n_repeats: int = 5,
    max_rows: int | None = MAX_ROWS,
    seconds: float | None = SECONDS,
    seed: int = 0,
    sample_weight: Any = None,
    metric: Any = None,
) -> pd.DataFrame:
    """A row per input column, most important first: importance (mean drop of the metric),
    stddev over the shuffles done, and n (the shuffles done). Bounded: at most ``max_rows``
    rows (a seeded sample; None: all), ``n_repeats`` shuffles per column, and no new repeat
    once ``seconds`` have passed (None: no clock; the first repeat always runs). The table's
    ``attrs`` say what was used: rows, rows_given, repeats, repeats_asked, seconds and
    stopped (why fewer repeats ran, or None)."""
    if int(n_repeats) < 1:
        raise ParameterError(f"n_repeats must be a positive integer; got {n_repeats}")
    if max_rows is not None and int(max_rows) < 1:
        raise ParameterError(f"max_rows must be a positive integer or None; got {max_rows}")
    started = time.monotonic()
    pre = result.features
    frame = pre._frame(data).reset_index(drop=True)
    y_enc = np.asarray(result.target.encode(y))
    if len(y_enc) != len(frame):
        raise DataError(f"X has {len(frame)} rows but y has {len(y_enc)}: they must match")
    if len(frame) == 0:
        raise DataError("no rows to score: pass at least one labelled row")
    weights = None if sample_weight is None else np.asarray(sample_weight)
    rng = np.random.default_rng(seed)
    given = len(frame)
    if max_rows is not None and given > int(max_rows):
        keep = np.sort(rng.choice(given, size=int(max_rows), replace=False))
        frame, y_enc = frame.iloc[keep].reset_index(drop=True), y_enc[keep]
        weights = None if weights is None else weights[keep]
    scorer = result._metric(metric)
    sign = 1.0 if scorer.direction == "maximize" else -1.0
    base = scorer(y_enc, result.predictor.output(pre.transform(frame)), weights)
    columns = list(pre.input_columns)
    drops: dict[str, list[float]] = {c: [] for c in columns}
    stopped, shuffling = None, time.monotonic()
    for repeat in range(int(n_repeats)):
        if repeat and seconds is not None:  # another repeat only when it ends in time
            pace = (time.monotonic() - shuffling) / repeat
            if time.monotonic() - started + pace > seconds:
                stopped = f"time allowance: {repeat} of {n_repeats} repeats in {seconds:g} s"
                break
        for column, score in _shuffled_scores(result, frame, columns, rng, scorer, y_enc, weights):
            drops[column].append(sign * (base - score))
    table = pd.DataFrame(
        [
            {
                "feature": column,
                "importance": float(np.mean(d)),
                "stddev": float(np.std(d, ddof=1)) if len(d) > 1 else 0.0,
                "n": len(d),
            }
            for column, d in drops.items()
        ]
    ).set_index("feature")
    table = table.sort_values("importance", ascending=False)
    table.attrs.update(
        rows=len(frame),
        rows_given=given,
        repeats=len(drops[columns[0]]) if columns else 0,
        repeats_asked=int(n_repeats),
        seconds=round(time.monotonic() - started, 3),
        stopped=stopped,
    )
    return table


def _shuffled_scores(result, frame, columns, rng, scorer, y_enc, weights):
    """One repeat: each column shuffled in a copy of ``frame``, the copies predicted together
    in calls of at most ``BATCH_ROWS`` rows; yields (column, score)."""
    n = len(frame)
    per_call = max(1, BATCH_ROWS // n)
    for start in range(0, len(columns), per_call):
        batch = columns[start : start + per_call]
        copies = []
        for column in batch:
            shuffled = frame.copy()
            shuffled[column] = rng.permutation(shuffled[column].to_numpy())
            copies.append(shuffled)
        stacked = pd.concat(copies, ignore_index=True)
        output = result.predictor.output(result.features.transform(stacked))
        for i, column in enumerate(batch):
            yield column, scorer(y_enc, output[i * n : (i + 1) * n], weights)
