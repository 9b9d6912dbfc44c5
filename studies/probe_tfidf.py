"""Measures TF-IDF + logistic regression configurations by 5-fold cross-validation on SMS spam's
training split (the 75% of the benchmark's split; its test rows are not read), as the search
scores them: the baseline (word 1-2 + char_wb 2-5-grams, C=10) and the further starting
configuration of the text family (char 1-4, C=100), with neighbours of both.

    .venv/bin/python studies/probe_tfidf.py
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from automl_text.tokenize import TfidfFeaturizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/text/sms_spam.csv.gz"
CONFIGS = [("2-5", 10.0), ("2-5", 100.0), ("1-4", 10.0), ("1-4", 100.0), ("3-6", 100.0)]


def main() -> None:
    frame = pd.read_csv(DATA)
    train, _ = train_test_split(frame, test_size=0.25, stratify=frame["label"], random_state=0)
    x = train["text"].fillna("").to_numpy(object)
    y = (train["label"] == "spam").to_numpy().astype(int)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(x, y))
    for char, c in CONFIGS:
        started, errors = time.monotonic(), 0
        for fit, hold in folds:
            features = TfidfFeaturizer(word_n=2, char=char).fit(x[fit], y[fit])
            model = LogisticRegression(C=c, max_iter=3000).fit(features.transform(x[fit]), y[fit])
            errors += int((model.predict(features.transform(x[hold])) != y[hold]).sum())
        print(
            f"char {char}, C={c:g}: {errors} errors of {len(y)} "
            f"(accuracy {1 - errors / len(y):.4f}), {time.monotonic() - started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
