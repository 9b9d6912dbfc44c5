"""Measures the tree families' `pairs` option: a default extra_trees model (300 trees) trained on
covertype's 75% split and scored on its 25% test split: without pairwise columns, with their
differences, and with their sums and differences.

    .venv/bin/python studies/probe_pairs.py
"""

from pathlib import Path

import pandas as pd
from automl_tabular.interactions import PairwiseFeatures
from automl_tabular.preprocessing import TabularPreprocessor
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.model_selection import train_test_split

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/tabular/covertype_kaggle15k.csv.gz"


def main() -> None:
    frame = pd.read_csv(DATA)
    y = frame.pop("Cover_Type").to_numpy()
    train, test, y_train, y_test = train_test_split(
        frame, y, test_size=0.25, stratify=y, random_state=0
    )
    pre = TabularPreprocessor().fit(train)
    x_train, x_test = pre.transform(train), pre.transform(test)
    pairs = PairwiseFeatures(pre, sums=True)
    diffs = PairwiseFeatures(pre, sums=False)
    for name, (a, b) in {
        "plain": (x_train, x_test),
        "differences": (diffs.transform(x_train), diffs.transform(x_test)),
        "sums and differences": (pairs.transform(x_train), pairs.transform(x_test)),
    }.items():
        model = ExtraTreesClassifier(300, max_features="sqrt", n_jobs=-1, random_state=0)
        model.fit(a, y_train)
        print(
            f"{name}: {a.shape[1]} columns, test accuracy {(model.predict(b) == y_test).mean():.4f}"
        )


if __name__ == "__main__":
    main()
