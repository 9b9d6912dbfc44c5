"""Ordinal codes of many-level categories follow the target on large training splits
(``automl_tabular.preprocessing._target_order``), so that one tree split separates the levels
that raise the target from those that lower it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from automl_tabular import preprocessing
from automl_tabular.preprocessing import TabularPreprocessor
from automl_tabular.task import TabularTask
from scipy.stats import spearmanr
from sklearn.tree import DecisionTreeClassifier

LEVELS = 30


def _table(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A 30-level column whose levels each carry an effect on a binary target, and noise."""
    rng = np.random.default_rng(seed)
    effect = np.random.default_rng(99).normal(0, 1.5, LEVELS)
    codes = rng.integers(0, LEVELS, rows)
    y = (effect[codes] + rng.logistic(0, 0.5, rows) > 0).astype(np.int64)
    frame = pd.DataFrame({"level": [f"L{c}" for c in codes], "noise": rng.normal(size=rows)})
    return frame, y, effect


def _stump_accuracy(pre: TabularPreprocessor, frame: pd.DataFrame, y: np.ndarray) -> float:
    """Training accuracy of one split on the level's code."""
    x = pre.transform(frame)[:, :1]
    return DecisionTreeClassifier(max_depth=1).fit(x, y).score(x, y)


def test_codes_follow_the_levels_target_shares_on_a_large_split():
    frame, y, effect = _table(preprocessing.TARGET_ORDER_ROWS)
    pre = TabularPreprocessor().fit(frame, y, "binary")
    (plan,) = [c for c in pre.columns if c.name == "level"]
    assert plan.kind == "ordinal"
    order = [int(level[1:]) for level in plan.levels]
    assert spearmanr(np.arange(LEVELS), effect[order]).statistic > 0.95
    frequency = TabularPreprocessor().fit(frame)  # no target: the levels by their frequency
    assert _stump_accuracy(pre, frame, y) > _stump_accuracy(frequency, frame, y) + 0.05


def test_a_small_split_keeps_the_frequency_order(monkeypatch):
    monkeypatch.setattr(preprocessing, "TARGET_ORDER_ROWS", 5000)
    frame, y, _ = _table(4999)
    with_target = TabularPreprocessor().fit(frame, y, "binary")
    without = TabularPreprocessor().fit(frame)
    assert with_target.columns[0].levels == without.columns[0].levels
    counts = frame["level"].value_counts()
    assert with_target.columns[0].levels[0] == counts.index[0]


def test_a_rare_level_is_drawn_to_the_middle():
    frame, y, effect = _table(preprocessing.TARGET_ORDER_ROWS)
    rare = pd.DataFrame({"level": ["rare"], "noise": [0.0]})
    frame, y = pd.concat([frame, rare], ignore_index=True), np.append(y, 1)
    levels = TabularPreprocessor().fit(frame, y, "binary").columns[0].levels
    # one row of class 1: its share is 1.0, its smoothed share near the overall one
    assert LEVELS // 4 < levels.index("rare") < 3 * LEVELS // 4


def test_a_regression_target_orders_by_the_levels_means():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, LEVELS, preprocessing.TARGET_ORDER_ROWS)
    frame = pd.DataFrame({"level": [f"L{c:02d}" for c in codes]})
    y = 3.0 * codes + rng.normal(0, 1, len(codes))  # level Lk has a mean of 3k
    levels = TabularPreprocessor().fit(frame, y, "regression").columns[0].levels
    assert levels == [f"L{k:02d}" for k in range(LEVELS)]


def test_several_classes_order_by_the_shares_principal_direction():
    """Levels 0-9 hold mostly class 0, 10-19 mostly class 1, 20-29 mostly class 2: the order
    puts class 0's levels at one end and class 2's at the other."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, LEVELS, preprocessing.TARGET_ORDER_ROWS)
    y = np.where(rng.random(len(codes)) < 0.8, codes // 10, rng.integers(0, 3, len(codes)))
    frame = pd.DataFrame({"level": [f"L{c}" for c in codes]})
    levels = TabularPreprocessor().fit(frame, y, "multiclass").columns[0].levels
    group = [int(level[1:]) // 10 for level in levels]
    ends = {group[0], group[-1]}
    assert ends == {0, 2}
    assert group[:10] == [group[0]] * 10 and group[-10:] == [group[-1]] * 10


def test_the_task_orders_codes_by_its_training_rows_target(monkeypatch):
    monkeypatch.setattr(preprocessing, "TARGET_ORDER_ROWS", 2000)
    frame, y, effect = _table(3000)
    frame["y"] = np.where(y == 1, "yes", "no")
    data = TabularTask().adapt(frame, "y", seed=0)
    (plan,) = [c for c in data.features.columns if c.name == "level"]
    order = [int(level[1:]) for level in plan.levels]
    assert spearmanr(np.arange(LEVELS), effect[order]).statistic > 0.8


def test_a_very_large_split_codes_few_level_categories_by_the_target_too(monkeypatch):
    monkeypatch.setattr(preprocessing, "TARGET_ORDER_ROWS", 1000)
    monkeypatch.setattr(preprocessing, "ORDERED_ROWS", 3000)
    rng = np.random.default_rng(3)

    def plans(rows: int) -> dict[str, str]:
        frame = pd.DataFrame(
            {"five": rng.choice(list("abcde"), rows), "two": rng.choice(["x", "y"], rows)}
        )
        y = (frame["five"].isin(["b", "d"]) ^ (rng.random(rows) < 0.1)).to_numpy().astype(int)
        pre = TabularPreprocessor().fit(frame, y, "binary")
        return {c.name: (c.kind, c.levels) for c in pre.columns}

    assert plans(2999) == {"five": ("onehot", list("abcde")), "two": ("onehot", ["x", "y"])}
    large = plans(3000)
    assert large["two"] == ("onehot", ["x", "y"])
    kind, levels = large["five"]
    assert kind == "ordinal" and set(levels[-2:]) == {"b", "d"}  # the levels of class 1
