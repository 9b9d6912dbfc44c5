"""`make bench-tabular`: automl.fit on the tabular sets of ../shared/datasets/tabular/.

adult uses its official train/test split; the other sets a 25% test split (stratified for
classification, random_state=0). Each search gets `--time-budget` seconds (300 by default) on
this machine. Prints one row per dataset: metric, test score (plus ROC AUC for binary sets),
seconds, trials, pruned share and the chosen model; writes the rows to studies/bench_tabular.json.

    python studies/bench_tabular.py [--time-budget 300] [--only adult credit_g]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

import automl

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "tabular"
SETS = {
    "adult": ("class", "accuracy"),
    "bank_marketing": ("y", "accuracy"),
    "credit_g": ("class", "accuracy"),
    "california_housing": ("median_house_value", "r2"),
    "covertype": ("Cover_Type", "accuracy"),
}
FILES = {"covertype": "covertype_kaggle15k.csv.gz"}


def load_split(name: str, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "adult":
        return (pd.read_csv(DATA / "adult_train.csv.gz"), pd.read_csv(DATA / "adult_test.csv.gz"))
    frame = pd.read_csv(DATA / FILES.get(name, f"{name}.csv.gz"))
    stratify = None if name == "california_housing" else frame[target]
    return train_test_split(frame, test_size=0.25, stratify=stratify, random_state=0)


def run_one(name: str, time_budget: float, seed: int) -> dict:
    target, metric = SETS[name]
    train, test = load_split(name, target)
    started = time.monotonic()
    result = automl.fit(
        train, target=target, metric=metric, time_budget=time_budget, seed=seed,
        study_name=f"bench-{name}-{time.strftime('%Y%m%d-%H%M%S')}", verbose=False,
    )
    seconds = time.monotonic() - started
    scores = result.evaluate(test.drop(columns=target), test[target])
    states = [t.state.name for t in result.study.trials]
    row = {
        "dataset": name,
        "metric": metric,
        "score": round(scores[metric], 4),
        "roc_auc": round(scores["roc_auc"], 4) if result.problem_type == "binary" else None,
        "seconds": round(seconds, 1),
        "search_s": result.timings["search"],
        "refit_s": result.timings["refit"],
        "trials": len(states),
        "pruned_share": round(states.count("PRUNED") / max(1, len(states)), 3),
        "failed": states.count("FAIL"),
        "model": result.model_name,
        "valid_score": round(result.valid_score, 4),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=sorted(SETS), default=list(SETS))
    args = parser.parse_args()
    rows = [run_one(name, args.time_budget, args.seed) for name in args.only]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    out = Path(__file__).parent / "bench_tabular.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
