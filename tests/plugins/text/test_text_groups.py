"""The text task's validation split keeps texts contained in longer ones (phrases of one
sentence) on their side, so validation measures sentences the model has not seen; exact repeats
split like any other rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from automl_text.groups import containment_groups
from automl_text.task import TextTask
from automl_text.tokenize import words

from tests import DATA


def test_phrases_join_the_longest_text_holding_them_and_repeats_stay_apart():
    texts = np.array(
        [
            "great movie",
            "a great movie , really",
            "Great",
            "terrible plot twist",
            "terrible plot twist",
            "boring",
            "plot twist",
        ]
    )
    groups, note = containment_groups(texts)
    assert groups[0] == groups[1] == groups[2]  # inside "a great movie , really" (any case)
    assert groups[3] != groups[4]  # an exact repeat is a row of its own
    assert groups[6] in (groups[3], groups[4])  # a phrase goes with a text that holds it
    assert len({groups[1], groups[3], groups[5]}) == 3  # unrelated texts stay apart
    assert note.startswith("3 text(s) share a group (contained in a longer text)")


def _phrases(frame: pd.DataFrame) -> pd.DataFrame:
    """Every message plus its first and last three words as extra rows (same label): a
    corpus of phrases cut from sentences, like SST-2's training set."""
    rows = [frame]
    for take in (slice(0, 3), slice(-3, None)):
        cut = frame["text"].map(lambda t, take=take: " ".join(words(t)[take]))
        rows.append(frame.assign(text=cut))
    return pd.concat(rows, ignore_index=True)


def _inside_training(data) -> tuple[int, int]:
    """Validation texts that occur as a run of words in a training text, and in a longer
    validation text (their group's source)."""
    train = "\n".join(f" {' '.join(words(t))} " for t in data.x_train)
    valid = [" ".join(words(t)) for t in data.x_valid]
    runs = "\n".join(f" {v} " for v in valid)
    in_train = sum(bool(v) and f" {v} " in train for v in valid)
    in_valid = sum(bool(v) and runs.count(f" {v} ") > 1 for v in valid)
    return in_train, in_valid


def test_phrases_stay_with_their_sentence():
    frame = _phrases(pd.read_csv(DATA / "sms_spam_sample.csv"))
    data = TextTask().adapt(frame, "label")
    ungrouped = TextTask().adapt(frame, "label", group_texts=False)
    in_train, in_valid = _inside_training(data)
    leaked, _ = _inside_training(ungrouped)
    # a random split validates on hundreds of phrases of training messages; grouped, only
    # exact repeats and phrases that also occur in other messages (a spam template's opening
    # words) remain (53 against 205 on this sample)
    assert leaked > 150 and in_train < leaked / 3, (in_train, leaked)
    assert in_valid > 150  # the phrases went where their message went
    assert any("share a group" in n for n in data.summary["notes"])
    assert not any("share a group" in n for n in ungrouped.summary["notes"])
    share = data.n_valid / (data.n_train + data.n_valid)
    assert 0.15 < share < 0.25
    assert 0.05 < data.y_valid.mean() < 0.3  # stratified: the spam share of the sample (13%)


def test_unknown_text_options_are_named():
    frame = pd.read_csv(DATA / "sms_spam_sample.csv")
    with pytest.raises(TypeError, match="group_texts"):
        TextTask().adapt(frame, "label", group_by=True)


def test_cross_validation_folds_keep_text_groups_whole():
    from automl.crossval import Folds

    frame = _phrases(pd.read_csv(DATA / "sms_spam_sample.csv"))
    data = TextTask().adapt(frame, "label")
    assert data.groups is not None and len(data.groups) == data.n_train + data.n_valid
    folds = Folds.make(data, 5, seed=0)
    for fit, hold in folds.splits:
        assert not set(data.groups[fit]) & set(data.groups[hold])
        assert 0.05 < folds.y[hold].mean() < 0.3  # still stratified
    # without grouping the folds are plain stratified ones
    assert TextTask().adapt(frame, "label", group_texts=False).groups is None


def test_only_the_fast_family_is_cross_validated_beside_the_networks():
    """Under cv_folds="auto" the text task keeps its holdout split (its networks are too slow
    to train five times), but TF-IDF trials are scored by 5-fold cross-validation; the ensemble
    is chosen on the validation rows, where both kinds of trial have out-of-sample outputs."""
    import automl

    frame = pd.read_csv(DATA / "sms_spam_sample.csv")
    result = automl.fit(
        frame,
        target="label",
        n_trials=2,
        models=["tfidf_linear", "fasttext"],
        max_epochs=2,
        verbose=False,
        storage=":memory:",
    )
    n_valid = len(result.holdout[1])
    assert result.summary["validation"] == (
        f"holdout split of {n_valid} rows; 5-fold cross-validation over train+valid "
        f"(600 rows) for tfidf_linear"
    )
    tfidf, fasttext = result.study.trials
    assert tfidf.params["model"] == "tfidf_linear" and fasttext.params["model"] == "fasttext"
    folds = tfidf.user_attrs["fold_scores"]
    assert len(folds) == 5 and min(folds) - 1e-9 <= tfidf.value <= max(folds) + 1e-9
    assert "fold_scores" not in fasttext.user_attrs
    assert result.holdout_output.shape[0] == n_valid
    # cv_folds=0 turns it off for every family
    plain = automl.fit(
        frame,
        target="label",
        n_trials=1,
        models=["tfidf_linear"],
        cv_folds=0,
        verbose=False,
        storage=":memory:",
        report=False,
    )
    assert plain.summary["validation"] == f"holdout split of {n_valid} rows"
    assert "fold_scores" not in plain.study.trials[0].user_attrs
