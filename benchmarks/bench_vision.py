"""Vision benchmark: automl.fit on MNIST and Fashion-MNIST (and optionally the CIFAR-10 subset)
from ../shared/datasets/, each with the official test split, default settings otherwise.

Prints one row per dataset: metric, test accuracy, seconds (search, refit, total), trials,
pruned share and the chosen model; writes the rows to benchmarks/bench_vision.json. Study storages
land in studies/<name>/ (git-ignored).

    python benchmarks/bench_vision.py [--time-budget 900] [--only mnist fashion_mnist cifar10]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from automl_vision.idx import load_idx

import automl

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "datasets"
SETS = ("mnist", "fashion_mnist", "cifar10")


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if name == "cifar10":
        with np.load(DATA / "cifar10_jpeg_subset.npz") as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    x, y = load_idx(DATA / name)
    x_test, y_test = load_idx(DATA / name, split="test")
    return x, y, x_test, y_test


def run(name: str, time_budget: float, **options) -> dict:
    x, y, x_test, y_test = load(name)
    started = time.monotonic()
    result = automl.fit(
        (x, y),
        time_budget=time_budget,
        study_name=f"bench-vision-{name}-{time.strftime('%Y%m%d-%H%M%S')}",
        verbose=False,
        **options,
    )
    seconds = time.monotonic() - started
    accuracy = result.score(x_test, y_test, metric="accuracy")
    board = result.leaderboard()
    finished = board[board["state"].isin(["complete", "pruned", "fail"])]
    return {
        "dataset": name,
        "metric": "accuracy",
        "test_accuracy": round(float(accuracy), 4),
        "valid_score": round(float(result.valid_score), 4),
        "seconds": round(seconds, 1),
        "search_s": result.timings["search"],
        "refit_s": result.timings["refit"],
        "trials": len(finished),
        "pruned_share": round(float((finished["state"] == "pruned").mean()), 2),
        "model": result.describe(),
        "leaderboard": board.drop(columns=["params"]).head(8).to_dict("records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-budget", type=float, default=900)
    parser.add_argument("--only", nargs="+", choices=SETS, default=["mnist", "fashion_mnist"])
    parser.add_argument("--no-refit", action="store_true", help="keep the best trial's model")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    parser.add_argument("--out", default=str(HERE / "bench_vision.json"))
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    os.chdir(HERE.parent)  # storages go to studies/<name>/ (git-ignored), as fit puts them
    rows = []
    header = (
        f"{'dataset':<14} {'metric':<9} {'test':>7} {'seconds':>8} {'trials':>6} pruned  model"
    )
    print(f"time_budget={args.time_budget:.0f}s per dataset, threads={args.threads}", flush=True)
    for name in args.only:
        row = run(name, args.time_budget, refit=not args.no_refit)
        rows.append(row)
        for r in row["leaderboard"]:
            print("   ", r, flush=True)
        print(header)
        print(
            f"{row['dataset']:<14} {row['metric']:<9} {row['test_accuracy']:>7.4f} "
            f"{row['seconds']:>8.1f} {row['trials']:>6} {row['pruned_share']:>6.0%}  "
            f"{row['model']}",
            flush=True,
        )
    print("\n" + header)
    for row in rows:
        print(
            f"{row['dataset']:<14} {row['metric']:<9} {row['test_accuracy']:>7.4f} "
            f"{row['seconds']:>8.1f} {row['trials']:>6} {row['pruned_share']:>6.0%}  "
            f"{row['model']}"
        )
    Path(args.out).write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
