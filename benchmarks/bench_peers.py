"""AutoGluon and FLAML on the splits ``benchmarks/bench_splits.py`` draws, for the issue's peer
figures. Not a project dependency: run it with a scratch environment that has them,

    python -m venv /tmp/peers
    /tmp/peers/bin/pip install "autogluon.tabular[lightgbm,catboost,xgboost]" flaml
    /tmp/peers/bin/python benchmarks/bench_peers.py credit_g 60 0 1 2 3 4

It reads the study's TOML for the data, target, test share and metric (accuracy or r2), splits
as ``automl.studyfile.split`` does (scikit-learn's ``train_test_split``, the seed as its
``random_state``, stratified for classification), and fits AutoGluon
(``TabularPredictor(label).fit(train, time_limit=...)``, default preset) and FLAML
(``AutoML().fit(X, y, time_budget=...)``) with their defaults; prints a row per system and
seed, with the wall time of the fit, and each system's mean.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parents[1] / "studies"  # the study files


def split(study: dict, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = pd.read_csv(HERE / study["data"])
    y = data[study["target"]]
    classification = study["metric"] not in ("r2", "rmse", "mae") and y.dtype.kind in "OUbi"
    return train_test_split(
        data,
        test_size=study["test_size"],
        random_state=seed,
        stratify=y if classification else None,
    )


def autogluon(train, test, target, metric, seconds):
    from autogluon.tabular import TabularPredictor

    with tempfile.TemporaryDirectory() as path:
        started = time.perf_counter()
        predictor = TabularPredictor(target, eval_metric=metric, path=path, verbosity=0)
        predictor.fit(train, time_limit=seconds)
        wall = time.perf_counter() - started
        return predictor.predict(test.drop(columns=[target])), wall


def flaml(train, test, target, metric, seconds):
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        train.drop(columns=[target]),
        train[target],
        time_budget=seconds,
        metric=metric,
        verbose=0,
    )
    wall = time.perf_counter() - started
    return automl.predict(test.drop(columns=[target])), wall


def main(name: str, seconds: str, seeds: list[str]) -> int:
    study = tomllib.loads((HERE / f"{name}.toml").read_text())["study"]
    target, metric = study["target"], study["metric"]
    score = r2_score if metric == "r2" else accuracy_score
    means: dict[str, list[float]] = {}
    for seed in map(int, seeds):
        train, test = split(study, seed)
        for system in (autogluon, flaml):
            predicted, wall = system(train, test, target, metric, float(seconds))
            value = float(score(test[target], predicted))
            means.setdefault(system.__name__, []).append(value)
            print(f"{system.__name__} seed {seed}: {metric} {value:.4f}  wall {wall:.1f} s")
            sys.stdout.flush()
    for system, values in means.items():
        print(f"{system} mean {sum(values) / len(values):.4f} over {len(values)} splits")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
