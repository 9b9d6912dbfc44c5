"""`make demo`: a real search of about a minute on a dataset bundled with scikit-learn.

Breast-cancer diagnosis (569 rows, 30 numeric features): 25% stratified test split, one search
over the MLP and the classical families, then the leaderboard, the chosen model and its test score.
The study lands in studies/demo/ (resumable; delete the folder to start over).
"""

from __future__ import annotations

import sys
import time

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import automl


def main(time_budget: float = 60.0) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    train, test = train_test_split(frame, test_size=0.25, stratify=frame["target"], random_state=0)
    started = time.monotonic()
    # prints the leaderboard, the chosen model, and where the report and the model went
    result = automl.fit(train, target="target", time_budget=time_budget, study_name="demo")
    elapsed = time.monotonic() - started
    x_test, y_test = test.drop(columns="target"), test["target"]
    scores = result.evaluate(x_test, y_test)
    print("Test split:", ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
    reloaded = automl.load(result.model_path)
    agree = (reloaded.predict(x_test) == result.predict(x_test)).mean()
    print(f"Reloaded model ({result.model_path}) agrees on {agree:.0%} of test rows")
    print(
        f"Wall time {elapsed:.1f}s (search {result.timings['search']:.1f}s, "
        f"refit {result.timings['refit']:.1f}s)"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
