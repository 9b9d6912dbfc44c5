"""Which model family wins on a small table, outside the search: each candidate's default
fitted on the 75% split of several seeds and scored on the 25% test split (a split of 250 rows
moves accuracy by several hundredths, so one split cannot rank them). The columns are encoded
as the tabular plugin does (one-hot categories, normal-quantile numbers). Behind the
``catboost`` family (docs/DESIGN.md):

    PYTHONPATH=.:plugins .venv/bin/python studies/probe_families.py credit_g 0 1 2 3 4 5 6 7
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer

HERE = Path(__file__).parent


def candidates(seed: int) -> dict:
    from catboost import CatBoostClassifier

    return {
        "linear": LogisticRegression(max_iter=3000),
        "hist_gb": HistGradientBoostingClassifier(random_state=seed),
        "catboost": CatBoostClassifier(
            verbose=False, random_seed=seed, thread_count=2, allow_writing_files=False
        ),
        "random_forest": RandomForestClassifier(300, random_state=seed, n_jobs=2),
        "extra_trees": ExtraTreesClassifier(300, random_state=seed, n_jobs=2),
    }


def main(name: str, seeds: list[str]) -> int:
    study = tomllib.loads((HERE / f"{name}.toml").read_text())["study"]
    data = pd.read_csv(HERE / study["data"])
    target = study["target"]
    columns = [c for c in data.columns if c != target]
    categorical = [c for c in columns if data[c].dtype.kind not in "iufb"]
    numeric = [c for c in columns if c not in categorical]
    scores: dict[str, list[float]] = {}
    for seed in map(int, seeds):
        train, test = train_test_split(
            data, test_size=study["test_size"], random_state=seed, stratify=data[target]
        )
        for model_name, model in candidates(seed).items():
            encode = make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), categorical),
                (QuantileTransformer(output_distribution="normal", n_quantiles=200), numeric),
            )
            fitted = make_pipeline(encode, model).fit(train[columns], train[target])
            predicted = np.ravel(fitted.predict(test[columns]))
            scores.setdefault(model_name, []).append(float((predicted == test[target]).mean()))
    print(f"{name}: test accuracy per split seed {seeds}, then the mean")
    for model_name, values in sorted(scores.items(), key=lambda kv: -np.mean(kv[1])):
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{model_name:<14} {shown}  mean {np.mean(values):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
