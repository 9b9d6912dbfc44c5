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
from typing import Any, NamedTuple

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


class Table(NamedTuple):
    """A study's table: its definition, rows, target and the feature columns by kind."""

    study: dict
    data: pd.DataFrame
    target: str
    columns: list[str]
    categorical: list[str]
    numeric: list[str]

    def split(self, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The 75/25 (the study's test_size) split of this seed, stratified."""
        return train_test_split(
            self.data,
            test_size=self.study["test_size"],
            random_state=seed,
            stratify=self.data[self.target],
        )

    def encoder(self, dense: bool = False) -> Any:
        """One-hot categories and normal-quantile numbers, as the tabular plugin encodes."""
        return make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=not dense), self.categorical),
            (QuantileTransformer(output_distribution="normal", n_quantiles=200), self.numeric),
        )


def load_table(name: str) -> Table:
    study = tomllib.loads((HERE / f"{name}.toml").read_text())["study"]
    data = pd.read_csv(HERE / study["data"])
    target = study["target"]
    columns = [c for c in data.columns if c != target]
    categorical = [c for c in columns if data[c].dtype.kind not in "iufb"]
    numeric = [c for c in columns if c not in categorical]
    return Table(study, data, target, columns, categorical, numeric)


def main(name: str, seeds: list[str]) -> int:
    table = load_table(name)
    columns, target = table.columns, table.target
    scores: dict[str, list[float]] = {}
    for seed in map(int, seeds):
        train, test = table.split(seed)
        for model_name, model in candidates(seed).items():
            fitted = make_pipeline(table.encoder(), model).fit(train[columns], train[target])
            predicted = np.ravel(fitted.predict(test[columns]))
            scores.setdefault(model_name, []).append(float((predicted == test[target]).mean()))
    print(f"{name}: test accuracy per split seed {seeds}, then the mean")
    for model_name, values in sorted(scores.items(), key=lambda kv: -np.mean(kv[1])):
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{model_name:<14} {shown}  mean {np.mean(values):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
