"""The deletion check and the agreement measure on a model whose true attributions are known: a
linear score, where removing a feature (setting it to 0) lowers the output by exactly its
weight times its value."""

from __future__ import annotations

import numpy as np
import pytest

from automl.faithfulness import RANDOM_DRAWS, agreement, deletion_check, removal_count

RNG = np.random.default_rng(0)
WEIGHTS = np.linspace(2.0, 0.0, 20)  # feature 0 matters most, feature 19 not at all
X = RNG.uniform(0.5, 1.5, (30, 20))


def _check(attributions, share=0.2):
    def remove(i, features):
        row = X[i].copy()
        row[features] = 0.0
        return row

    def score(rows, which):
        return np.stack(rows) @ WEIGHTS

    return deletion_check(list(attributions), remove, score, share=share, seed=1)


def test_true_attributions_beat_random_ones():
    check = _check(X * WEIGHTS)
    assert check.k.tolist() == [4] * 30
    # the top four of each row are among features 0..5 (weights 1.7-2): a drop near 4 * 1.9;
    # four random ones: near 4 * 1.0 (the mean weight)
    assert check.mean_drop > 7 and 3 < check.mean_random < 5
    assert check.above_random and check.significant and check.verdict == "above random"
    assert "deletion check on 30 rows" in check.summary("SHAP")


def test_reversed_attributions_are_flagged():
    check = _check(-(X * WEIGHTS))  # ranks the useless features first
    assert check.mean_drop < check.mean_random
    assert not check.above_random and check.verdict == "not above random"


def test_random_draws_are_the_chance_level():
    draws = []
    for seed in range(3):
        noise = np.random.default_rng(seed).normal(size=X.shape)
        draws.append(_check(noise).mean_drop)
    chance = _check(X * WEIGHTS).mean_random
    assert abs(np.mean(draws) - chance) < 0.35 * chance  # noise ranks drop about as much


def test_rows_without_features_and_bad_share():
    def remove(i, features):
        return i

    def score(rows, which):
        return np.ones(len(rows))

    check = deletion_check([np.zeros(0), np.ones(3)], remove, score, share=0.5)
    assert check.k.tolist() == [0, 2] and check.drop.tolist() == [0.0, 0.0]
    assert "on 1 rows" in check.summary("SHAP")  # the row without features is left out
    assert (
        removal_count(0, 0.1) == 0 and removal_count(3, 0.1) == 1 and removal_count(50, 0.1) == 5
    )
    with pytest.raises(ValueError, match="share must be in"):
        deletion_check([np.ones(2)], remove, score, share=0.0)
    assert RANDOM_DRAWS >= 3


def test_agreement_of_identical_and_opposite_rankings():
    a = [np.arange(10.0), np.array([3.0, 1.0, 2.0])]
    same = agreement(a, a, share=0.2)
    assert np.allclose(same.rank_correlation, 1.0) and same.top_overlap.tolist() == [1, 1]
    opposite = agreement(a, [-v for v in a], share=0.2)
    assert opposite.mean_correlation == pytest.approx(-1.0) and opposite.mean_overlap == 0.0
    uneven = agreement([np.ones(3)], [np.ones(4)], share=0.5)
    assert np.isnan(uneven.rank_correlation[0])  # rows of different lengths: not comparable
