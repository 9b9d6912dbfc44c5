"""What ``fit`` prints when ``verbose``: the leaderboard fitted to a terminal, then the chosen
model, the report and the model folder, each once."""

from __future__ import annotations

from typing import Any

import pandas as pd

WIDTH = 120  # columns of the printed leaderboard
ROWS = 10
TEXT_COLUMNS = ("params", "note")  # cut to fit; the report has them whole


def leaderboard_text(board: pd.DataFrame, width: int = WIDTH, rows: int = ROWS) -> str:
    """The first ``rows`` rows of a leaderboard in at most ``width`` columns: numbers as they
    are, ``params`` and ``note`` cut (with "…") to share what is left."""
    shown = board.head(rows).copy()
    if shown.empty:
        return "(no trials)"
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    for column in TEXT_COLUMNS:
        if column in shown:
            shown[column] = shown[column].fillna("").astype(str)
    text_cols = [c for c in TEXT_COLUMNS if c in shown]
    for limit in range(60, 5, -2):
        for column in text_cols:
            shown[column] = shown[column].map(lambda v, n=limit: _cut(v, n))
        text = shown.to_string(index=False)
        if max(len(line) for line in text.splitlines()) <= width:
            return text
    return text


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def print_result(result: Any) -> None:
    """The leaderboard, the chosen model and where its report and model folder are."""
    board = result.leaderboard()
    if not board.empty:
        print(leaderboard_text(board))
    if len(board) > ROWS:  # never a silent cut
        print(
            f"{ROWS} of {len(board)} trials shown (the best first; result.leaderboard() and the "
            "report list them all)"
        )
    timings = result.timings
    print(
        f"chosen: {result.describe()}; {result.metric}={result.valid_score:.4f} on validation "
        f"(best trial {result.best_trial}); problem type {result.problem_type} "
        f"({result.problem_type_reason}); search {timings['search']:.1f}s, "
        f"refit {timings['refit']:.1f}s, total {timings['total']:.1f}s"
    )
    if (result.summary or {}).get("interrupted"):
        print(f"interrupted: {result.summary['interrupted']}")
    if (result.summary or {}).get("ensemble"):
        print(f"ensemble: {result.summary['ensemble']}")
    note = (result.summary or {}).get("refit", "")
    if note and not note.startswith("refitted"):
        print(f"refit {note}")
    if result.report_path:
        print(f"report: {result.report_path}")
    if result.model_path:
        print(f"model: {result.model_path}")
    elif str((result.summary or {}).get("saved", "")).startswith("not saved:"):
        print(f"model: {result.summary['saved']}")  # an earlier, better model kept, say
