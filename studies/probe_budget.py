"""Measures how far a search overruns its time budget when its trials are gradient boosting
(hist_gb) on covertype's 75% split, the family whose trials ran up to 90 s: search seconds
beyond the budget and each trial's seconds and note.

    PYTHONPATH=.:plugins .venv/bin/python studies/probe_budget.py [budget seconds, default 60]
"""

import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

import automl

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/tabular/covertype_kaggle15k.csv.gz"


def main(budget: float) -> None:
    frame = pd.read_csv(DATA)
    train, _ = train_test_split(
        frame, test_size=0.25, stratify=frame["Cover_Type"], random_state=0
    )
    result = automl.fit(
        train,
        target="Cover_Type",
        models=["hist_gb"],
        time_budget=budget,
        storage=":memory:",
        verbose=False,
        ensemble=False,
        refit=False,
        report=False,
    )
    board = result.leaderboard()
    columns = ["trial", result.metric, "seconds", "state", "note"]
    print(board.sort_values("trial")[columns].to_string(index=False))
    search = result.timings["search"]
    print(f"budget {budget:.0f} s, search {search:.1f} s, overrun {search - budget:.1f} s")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
