"""The defaults on imbalanced tables (issue 28, items 4 and 5): the minority class as the
positive class and class weights searched, against the old defaults (the second label as the
positive class, no class weights: ``positive_class=<second label>, class_weight="none"``), on
the same code, data, split and budget.

Tables: credit-g (``bad`` 30%, the first label alphabetically) and a fraud-like table made from
bank-marketing (every ``no`` row of a 10,000-row sample and as many ``yes`` rows as make 3.6%,
relabelled ``fraud`` / ``ok``). 25% of rows (stratified, seed 0) are held out as the test set.
Prints, per table, metric and defaults: what ``evaluate`` reports as f1 (of its positive
class), the minority class's recall and f1 on the test rows, the best trial's class_weight and
the seconds taken.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_imbalance.py \\
        [--datasets ../shared/datasets/tabular] [--trials 30] [--metrics accuracy f1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import train_test_split

import automl

ROOT = Path(__file__).resolve().parents[1]


def credit_g(folder: Path) -> tuple[pd.DataFrame, str, str]:
    return pd.read_csv(folder / "credit_g.csv.gz"), "class", "bad"


def fraud_like(folder: Path) -> tuple[pd.DataFrame, str, str]:
    frame = pd.read_csv(folder / "bank_marketing.csv.gz")
    rng = np.random.default_rng(0)
    no = frame[frame["y"] == "no"].sample(10_000 - 360, random_state=0)
    yes = frame[frame["y"] == "yes"].sample(360, random_state=0)
    frame = pd.concat([no, yes]).iloc[rng.permutation(10_000)].reset_index(drop=True)
    frame["y"] = frame["y"].map({"yes": "fraud", "no": "ok"})
    return frame, "y", "fraud"


def one(frame: pd.DataFrame, target: str, minority: str, metric: str, old: bool, trials: int):
    train, test = train_test_split(frame, test_size=0.25, stratify=frame[target], random_state=0)
    labels = sorted(frame[target].unique())
    given = {"positive_class": labels[1], "class_weight": "none"} if old else {}
    began = time.perf_counter()
    result = automl.fit(
        train,
        target,
        metric=metric,
        n_trials=trials,
        time_budget=600,
        preset="fast",
        storage=":memory:",
        verbose=False,
        report=False,
        seed=0,
        **given,
    )
    seconds = time.perf_counter() - began
    x, y = test.drop(columns=target), test[target]
    pred = result.predict(x)
    return {
        "defaults": "old" if old else "new",
        "metric": metric,
        "positive": result.positive_class,
        "evaluate f1": round(result.evaluate(x, y)["f1"], 3),
        "minority recall": round(recall_score(y, pred, pos_label=minority), 3),
        "minority f1": round(f1_score(y, pred, pos_label=minority), 3),
        "class_weight": result.best_params.get("class_weight", "-"),
        "model": result.model_name,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared/datasets/tabular")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--metrics", nargs="+", default=["accuracy", "f1"])
    args = parser.parse_args()
    for load in (credit_g, fraud_like):
        frame, target, minority = load(args.datasets)
        share = (frame[target] == minority).mean()
        print(f"\n{load.__name__}: {len(frame)} rows, {minority!r} {share:.1%}")
        rows = [
            one(frame, target, minority, metric, old, args.trials)
            for metric in args.metrics
            for old in (True, False)
        ]
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
