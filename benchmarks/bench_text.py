"""Text benchmarks: automl.fit on ../shared/datasets/text/ against a TF-IDF baseline.

SMS spam: a 25% stratified test split (random_state=0), `time_budget=300`. SST-2: train -> dev,
`time_budget=900`. The baseline is TF-IDF word 1-2-grams + char_wb 2-5-grams (sublinear tf) and
logistic regression (C=10), fitted on the same training rows and scored on the same test rows.
Prints one JSON row per dataset and a table: dataset, metric, test accuracy, baseline accuracy,
seconds, trials, pruned share and the chosen model. Run under the shared benchmark lock:

    flock /tmp/automl-bench.lock .venv/bin/python benchmarks/bench_text.py [--only sms_spam]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import automl

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "text"
BUDGETS = {"sms_spam": 300.0, "sst2": 900.0}


def load_split(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "sst2":
        return pd.read_csv(DATA / "sst2_train.csv.gz"), pd.read_csv(DATA / "sst2_dev.csv.gz")
    frame = pd.read_csv(DATA / f"{name}.csv.gz")
    return train_test_split(frame, test_size=0.25, stratify=frame["label"], random_state=0)


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10.0, max_iter=3000),
    )
    model.fit(train["text"], train["label"])
    return float(np.mean(model.predict(test["text"]) == test["label"].to_numpy()))


def run_one(name: str, time_budget: float, seed: int) -> dict:
    train, test = load_split(name)
    started = time.monotonic()
    result = automl.fit(
        train,
        target="label",
        metric="accuracy",
        time_budget=time_budget,
        seed=seed,
        study_name=f"bench-text-{name}-{time.strftime('%Y%m%d-%H%M%S')}",
        verbose=False,
    )
    seconds = time.monotonic() - started
    accuracy = result.score(test["text"], test["label"])
    states = [t.state.name for t in result.study.trials]
    models = [t.params.get("model") for t in result.study.trials]
    row = {
        "dataset": name,
        "metric": "accuracy",
        "test": round(accuracy, 4),
        "tfidf_baseline": round(baseline(train, test), 4),
        "seconds": round(seconds, 1),
        "search_s": result.timings["search"],
        "refit_s": result.timings["refit"],
        "trials": len(states),
        "pruned_share": round(states.count("PRUNED") / max(1, len(states)), 3),
        "failed": states.count("FAIL"),
        "per_family": {m: models.count(m) for m in dict.fromkeys(models)},
        "model": result.describe(),
        "valid": round(result.valid_score, 4),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(BUDGETS), default=list(BUDGETS))
    parser.add_argument("--time-budget", type=float, default=None, help="override both budgets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: the 2 shared cores are busy)"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows = [run_one(n, args.time_budget or BUDGETS[n], args.seed) for n in args.only]
    table = pd.DataFrame(rows).drop(columns=["per_family"])
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 60)
    print(table.to_string(index=False))
    out = Path(__file__).parent / "bench_text.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
