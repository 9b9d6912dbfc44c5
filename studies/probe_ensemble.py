"""Which score greedy ensemble selection should add members by under accuracy, outside the
search: five families' defaults (those of ``probe_families.py``, CatBoost at two depths and two
seeds) give 5-fold out-of-fold probabilities on the 75% split of each seed; greedy selection
(25 rounds, with replacement) by accuracy, log loss or Brier score picks weights on them; the
members refitted on the whole 75% are scored on the 25% test split, and so is the average of
each member's five fold models instead (AutoGluon's bagging; the "fold models" rows). Behind
``automl.ensemble.choose`` (docs/DESIGN.md):

    PYTHONPATH=.:plugins .venv/bin/python studies/probe_ensemble.py credit_g 0 1 2 3 4 5 6 7
"""

from __future__ import annotations

import sys

import numpy as np
from probe_families import candidates, load_table
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from automl.metrics import METRICS


def _accuracy(y, p):
    return METRICS["accuracy"](y, p)


def _log_loss(y, p):
    return -METRICS["log_loss"](y, p)  # negated: larger is better


def _brier(y, p):
    return -float(np.mean(np.sum((p - np.eye(p.shape[1])[y]) ** 2, axis=1)))


SCORES = {"accuracy": _accuracy, "log_loss": _log_loss, "brier": _brier}  # larger is better


def greedy(outputs: dict, y: np.ndarray, score, rounds: int = 25) -> dict:
    total, counts, best = 0, {}, (-np.inf, {})
    for step in range(1, rounds + 1):
        value, name = max((score(y, (total + outputs[n]) / step), n) for n in sorted(outputs))
        total = total + outputs[name]
        counts[name] = counts.get(name, 0) + 1
        if value > best[0]:
            best = (value, dict(counts))
    return best[1]


def main(name: str, seeds: list[str]) -> int:
    from catboost import CatBoostClassifier

    table = load_table(name)
    columns, target = table.columns, table.target
    classes = sorted(table.data[target].unique())
    rows: dict[str, list[float]] = {}
    for seed in map(int, seeds):
        train, test = table.split(seed)
        encode = table.encoder(dense=True)
        x, x_test = encode.fit_transform(train[columns]), encode.transform(test[columns])
        y = train[target].map(classes.index).to_numpy()
        y_test = test[target].map(classes.index).to_numpy()
        models = candidates(seed)
        for depth, offset in ((4, 0), (6, 100)):
            models[f"catboost_d{depth}_s{seed + offset}"] = CatBoostClassifier(
                depth=depth,
                verbose=False,
                random_seed=seed + offset,
                thread_count=2,
                allow_writing_files=False,
            )
        oof, refit, bagged = {}, {}, {}
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        for model_name, model in models.items():
            out = np.zeros((len(y), len(classes)))
            bag = np.zeros((len(y_test), len(classes)))
            for fit, hold in folds.split(x, y):
                fitted = clone(model).fit(x[fit], y[fit])
                out[hold] = fitted.predict_proba(x[hold])
                bag += fitted.predict_proba(x_test) / folds.get_n_splits()
            oof[model_name], bagged[model_name] = out, bag
            refit[model_name] = clone(model).fit(x, y).predict_proba(x_test)
        for score_name, score in SCORES.items():
            weights = greedy(oof, y, score)
            blended = sum(refit[n] * w for n, w in weights.items()) / sum(weights.values())
            rows.setdefault(f"by {score_name}", []).append(_accuracy(y_test, blended))
            bag = sum(bagged[n] * w for n, w in weights.items()) / sum(weights.values())
            rows.setdefault(f"by {score_name}, fold models", []).append(_accuracy(y_test, bag))
        best = max(oof, key=lambda n: _accuracy(y, oof[n]))
        rows.setdefault("best single (oof accuracy)", []).append(_accuracy(y_test, refit[best]))
        rows.setdefault("best single, fold models", []).append(_accuracy(y_test, bagged[best]))
        print(f"seed {seed} done", flush=True)
    print(f"{name}: test accuracy per split seed {seeds}, then the mean")
    for row, values in rows.items():
        shown = " ".join(f"{v:.3f}" for v in values)
        print(f"{row:<28} {shown}  mean {np.mean(values):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
