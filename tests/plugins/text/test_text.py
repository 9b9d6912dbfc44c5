"""The text plugin: inputs, tokenisers fitted on the training split, each family end to end
(train, save, load, predict), and bad input. Small samples and one short trial each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from automl_text.task import TextTask
from automl_text.tokenize import SequenceFeaturizer, words

import automl
from automl.api import choose_task
from automl.plugins import load_registry
from tests import DATA

PROBE = ["free entry to win a prize", "see you at 6"]
QUICK = dict(storage=":memory:", verbose=False, n_trials=1, max_epochs=2)


@pytest.fixture(autouse=True)
def _one_thread():
    """Two busy shared cores: one torch thread avoids oversubscription in these tiny runs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    return pd.read_csv(DATA / "sms_spam_sample.csv")


@pytest.fixture(scope="module")
def small(sms) -> pd.DataFrame:
    return sms.iloc[:240]


def _task(dataset, target=None) -> str:
    return choose_task(load_registry(None), dataset, target, None).name


def test_text_inputs_are_routed_to_the_text_task(sms, tmp_path, adult):
    texts, labels = sms["text"].tolist(), sms["label"].tolist()
    assert _task((texts, labels)) == "text"
    assert _task((sms["text"], sms["label"])) == "text"
    assert _task(sms, "label") == "text"
    path = tmp_path / "sms.csv"
    sms.to_csv(path, index=False)
    assert _task(str(path), "label") == "text"
    # plain tables stay tabular; a table with one free-text column among others too
    assert _task(adult, "class") == "tabular"
    assert _task(sms.assign(n=np.arange(len(sms)), m=1.0), "label") == "tabular"


@pytest.mark.parametrize("kind", ["list", "series", "frame_named", "csv", "folder"])
def test_each_input_kind_fits(kind, small, tmp_path):
    texts, labels = small["text"].tolist(), small["label"].tolist()
    if kind == "list":
        args, kw = ((texts, labels),), {}
    elif kind == "series":
        args, kw = ((small["text"], small["label"]),), {}
    elif kind == "frame_named":
        frame = small.rename(columns={"text": "body"}).assign(id=np.arange(len(small)))
        args, kw = (frame,), {"target": "label", "text_column": "body", "task": "text"}
    elif kind == "csv":
        small.to_csv(tmp_path / "s.csv", index=False)
        args, kw = (str(tmp_path / "s.csv"),), {"target": "label"}
    else:
        for i, (text, label) in enumerate(zip(texts, labels)):
            (tmp_path / "docs" / label).mkdir(parents=True, exist_ok=True)
            (tmp_path / "docs" / label / f"{i}.txt").write_text(text)
        args, kw = (str(tmp_path / "docs"),), {}
    result = automl.fit(*args, models=["tfidf_linear"], **kw, **QUICK)
    assert result.task == "text"
    assert set(result.predict(PROBE)) <= {"ham", "spam"}
    if kind == "frame_named":
        assert "ignored" in " ".join(result.summary["notes"])
        frame = pd.DataFrame({"body": PROBE, "other": [1, 2]})
        assert list(result.predict(frame)) == list(result.predict(PROBE))


def test_text_column_found_automatically(small):
    data = TextTask().adapt(small.assign(kind="sms"), "label")
    assert data.summary["text_column"] == "text"
    assert data.x_train.dtype == object and len(data.x_train) + len(data.x_valid) == len(small)


@pytest.mark.parametrize("family", ["tfidf_linear", "fasttext", "cnn", "rnn", "transformer"])
def test_each_family_trains_saves_loads_and_predicts(family, small, tmp_path):
    result = automl.fit(small, target="label", models=[family], **QUICK)
    assert result.members[0].family.name == family
    before = result.predict_proba(PROBE)
    assert before.shape == (2, 2) and np.allclose(before.sum(1), 1.0)
    loaded = automl.load(result.save(str(tmp_path / "model")))
    assert np.allclose(loaded.predict_proba(PROBE), before, atol=1e-5)
    assert list(loaded.predict(PROBE)) == list(result.predict(PROBE))


def test_networks_train_under_a_time_budget(small):
    """Under a budget, each trial is first asked whether its fit can be stopped: a text
    network must not be built for that before its featurizer has learnt the vocabulary (every
    network trial failed with KeyError 'n_ids' between 4f2f0b3 and this test). Any budget
    asks; one far longer than two trials keeps both in it on a loaded machine (at 60 s, the
    second was left waiting when the first took the search's share)."""
    kw = {**QUICK, "refit": False, "report": False, "n_trials": 2}
    result = automl.fit(small, target="label", models=["fasttext", "cnn"], time_budget=3600, **kw)
    states = {t.params["model"]: t.state.name for t in result.study.trials}
    assert states == {"fasttext": "COMPLETE", "cnn": "COMPLETE"}


def test_starting_configurations_come_before_the_sampler(small):
    """TF-IDF's default and its further starting configurations run first, then the next
    family's default; an n_trials below the number of starting configurations keeps one per
    family."""
    kw = {**QUICK, "models": ["tfidf_linear", "fasttext"], "refit": False, "report": False}
    result = automl.fit(small, target="label", **{**kw, "n_trials": 4})
    first, second, third, fourth = result.study.trials
    assert (first.params["tfidf_linear.char"], first.params["tfidf_linear.C"]) == ("2-5", 10.0)
    assert (second.params["tfidf_linear.char"], second.params["tfidf_linear.C"]) == ("none", 1.0)
    assert (third.params["tfidf_linear.char"], third.params["tfidf_linear.C"]) == ("1-4", 100.0)
    assert fourth.params["model"] == "fasttext"
    two = automl.fit(small, target="label", **{**kw, "n_trials": 2})
    assert [t.params["model"] for t in two.study.trials] == ["tfidf_linear", "fasttext"]


def test_regression_on_text(small):
    y = small["text"].str.len().astype(float) + np.random.default_rng(0).normal(size=len(small))
    result = automl.fit((small["text"], y), models=["tfidf_linear", "fasttext"], **QUICK)
    assert result.problem_type == "regression"
    assert result.predict(PROBE).shape == (2,)


def test_tokenizers_are_fitted_on_the_training_split_only(small):
    # one unique word per row: the vocabulary must hold exactly the training rows' words
    frame = small.assign(text=[f"{t} uniq{i}" for i, t in enumerate(small["text"])])
    result = automl.fit(
        frame, target="label", models=["cnn"], refit=False, **{**QUICK, "n_trials": 1}
    )
    data = TextTask().adapt(frame, "label")  # the same split: same seed
    featurizer = result.members[0].predictor.featurizer
    train_words = {w for t in data.x_train for w in words(t)}
    valid_only = {w for t in data.x_valid for w in words(t)} - train_words
    assert featurizer.rows_seen == len(data.x_train)
    assert set(featurizer.vocab) <= train_words and not set(featurizer.vocab) & valid_only
    # (cv_folds=0: a cross-validated TF-IDF trial keeps its first fold's model, which
    # trained on validation rows of other folds)
    tfidf = automl.fit(
        frame, target="label", models=["tfidf_linear"], refit=False, cv_folds=0, **QUICK
    )
    vocab = tfidf.members[0].predictor.featurizer.union.transformer_list[0][1].vocabulary_
    assert "uniq0" in vocab or "uniq0" in valid_only
    assert not set(vocab) & {w for w in valid_only if w.startswith("uniq")}


def test_sequence_featurizer_ids_hashes_and_truncation():
    texts = np.array(["a b c d e f", "a b", ""], dtype=object)
    feat = SequenceFeaturizer(10, 4, bigram_buckets=100, char_buckets=100).fit(texts, None)
    ids = feat.transform(texts)
    assert ids.shape == (3, 4) and ids.dtype == np.int64
    assert (ids[2] == 0).all() and feat.truncated == 2  # "a b" + char n-grams: 5 ids
    assert feat.bigram_buckets == 5  # no more hash rows than distinct training bigrams
    again = SequenceFeaturizer(10, 4, bigram_buckets=100, char_buckets=100).fit(texts, None)
    assert (again.transform(texts) == ids).all()  # stable hashing
    spec = feat.spec(automl.DataSpec((1,), 2, "binary"))
    assert spec.extra["n_ids"] == 2 + len(feat.vocab) + 5 + feat.char_buckets


# --- bad input: one test per case -------------------------------------------------------------


def test_empty_and_missing_texts_are_counted_and_warned(small):
    texts = small["text"].tolist()
    texts[0], texts[1], texts[2] = "", None, "   "
    with pytest.warns(UserWarning, match=r"3 of 240 texts .* \(1 missing, 2 empty\)"):
        data = TextTask().adapt((texts, small["label"]))
    assert any("3 of 240" in n for n in data.summary["notes"])


def test_empty_texts_error_when_asked(small):
    texts = small["text"].tolist()
    texts[5] = ""
    with pytest.raises(automl.DataError, match="1 of 240 texts"):
        TextTask().adapt((texts, small["label"]), empty_texts="error")


def test_all_texts_empty_is_an_error():
    with pytest.raises(automl.DataError, match="all 8 .* empty"):
        TextTask().adapt(([""] * 8, ["a", "b"] * 4))


def test_non_string_values_are_an_error(small):
    texts = small["text"].tolist()
    texts[3] = 42
    with pytest.raises(automl.DataError, match=r"1 non-string value.*rows 3 \(int 42\)"):
        TextTask().adapt((texts, small["label"]))


def test_one_class_is_an_error(small):
    with pytest.raises(automl.DataError, match="one class"):
        automl.fit((small["text"], ["ham"] * len(small)), **QUICK)


def test_long_texts_are_truncated_and_reported(small):
    texts = small["text"].tolist()
    texts[0] = " ".join(["word"] * 400)
    texts[1] = "x" * 30_000
    data = TextTask().adapt((texts, small["label"]))
    notes = " ".join(data.summary["notes"])
    assert "1 text(s) longer than 20000 characters" in notes
    assert "exceed 256 tokens" in notes or texts[0] in data.x_valid
    feat = SequenceFeaturizer(1000, 32).fit(np.array(texts, dtype=object), None)
    assert feat.transform(np.array(texts[:1], dtype=object)).shape == (1, 32)
    assert feat.spec(data.spec).extra["truncated_train_rows"] >= 1


def test_mismatched_lengths_and_unknown_column_are_errors(small):
    with pytest.raises(automl.DataError, match="must match"):
        TextTask().adapt((small["text"].tolist(), small["label"].tolist()[:-1]))
    with pytest.raises(automl.DataError, match="text_column 'nope'"):
        TextTask().adapt(small, "label", text_column="nope")
    with pytest.raises(automl.DataError, match="empty"):
        TextTask().adapt(([], []))


def test_predict_time_bad_input(small):
    result = automl.fit(small, target="label", models=["tfidf_linear"], **QUICK)
    with pytest.raises(automl.DataError, match="non-string"):
        result.predict(["fine", 3.5])
    with pytest.raises(automl.DataError, match="predict takes"):
        result.predict(12)
    assert len(result.predict("one single text")) == 1


def test_tfidf_nb_scaling_is_fitted_for_binary_labels_only(small):
    from automl_text.tokenize import TfidfFeaturizer

    texts = small["text"].to_numpy(dtype=object)
    y = (small["label"] == "spam").to_numpy().astype(np.int64)
    feat = TfidfFeaturizer(1, "none", nb=True).fit(texts, y)
    assert feat.ratios is not None
    assert feat.transform(texts).shape == (len(texts), len(feat.ratios))
    regression = TfidfFeaturizer(1, "none", nb=True).fit(texts, y.astype(np.float32) * 0.5)
    assert regression.ratios is None


def test_one_empty_text_is_predicted_as_it_is_in_a_batch():
    """ "All texts empty: nothing to learn" is fit's rule: predict reads one empty text as it
    does in a larger batch (with the empty-text warning), through the API and a request body."""
    from automl.serve import ServedModel
    from tests.deploy_models import text_model

    result = automl.load(text_model()[1])
    with pytest.warns(UserWarning, match="1 of 2 texts .* empty"):
        batch = result.predict_proba(["", "free entry to win a prize"])
    with pytest.warns(UserWarning, match="1 of 1 texts .* empty"):
        alone = result.predict_proba([""])
    assert np.allclose(alone, batch[:1])
    with pytest.warns(UserWarning, match="empty"):
        assert result.predict([None]).tolist() == result.predict([""]).tolist()
    with pytest.warns(UserWarning, match="empty"):
        answer = ServedModel(result, result.plugin()).predict({"rows": [""]})
    assert np.allclose(answer["probabilities"], alone, atol=1e-6)
    with pytest.warns(UserWarning, match="empty"):
        assert result.monitor([""]).summary["rows"] == 1
