"""Explanations of text models on raw strings: a synthetic set where the label is decided by one
keyword among random words (so the right answer is known) for a TF-IDF model and a torch
sequence model, every text family end to end, an ensemble, ``Explanation.tokens`` and the text
report.

The fitted results are cached for the session (``fitted``) and shared with
tests/core/test_report.py.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from automl_text.explain import spans, without

import automl
from automl.explain import ExplainBounds, explain
from tests import DATA

WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "music",
    "table",
    "green",
    "window",
    "paper",
    "light",
    "garden",
    "bread",
    "chair",
    "ocean",
    "forest",
    "pencil",
    "yellow",
    "silver",
    "winter",
    "summer",
]
KEYWORDS = {"ham": "zebra", "spam": "bonus"}
FIT = {"n_trials": 1, "storage": ":memory:", "verbose": False, "report": False, "seed": 0}
REPORT_BOUNDS = ExplainBounds(seconds=math.inf, rows=40, lime_samples=300, permutations=3)
TABLE_WORDS = ("one-hot", "missing indicator", "date parts", "input column", "Missing values")


@pytest.fixture(autouse=True)
def _one_thread():
    """Two busy shared cores: one torch thread avoids oversubscription in these tiny runs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def keyword_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts of 5-11 random words plus one keyword that decides the label."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = ("ham", "spam")[i % 2]
        words = list(rng.choice(WORDS, rng.integers(5, 12)))
        words.insert(int(rng.integers(0, len(words) + 1)), KEYWORDS[label])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@functools.cache
def fitted(name: str):
    """Keyword models of one family (``keywords_<family>``), the ensemble of the TF-IDF and CNN
    ones, and ``sms``: the bundled SMS spam sample, TF-IDF and fastText searched."""
    if name.startswith("keywords_"):
        family = name.removeprefix("keywords_")
        return automl.fit(keyword_texts(300), models=[family], max_epochs=3, **FIT)
    if name == "ensemble":
        from automl.ensemble import EnsemblePredictor
        from automl.result import Member

        tfidf, cnn = fitted("keywords_tfidf_linear"), fitted("keywords_cnn")
        blend = copy.copy(tfidf)
        blend.members = [
            Member(0, tfidf.family, tfidf.best_params, tfidf.predictor, weight=1.0),
            Member(1, cnn.family, cnn.best_params, cnn.predictor, weight=1.0),
        ]
        blend.predictor = EnsemblePredictor([(tfidf.predictor, 1.0), (cnn.predictor, 1.0)])
        blend.model_name = "ensemble"
        return blend
    if name == "sms":
        sms = pd.read_csv(DATA / "sms_spam_sample.csv")
        return automl.fit(
            sms,
            target="label",
            models=["tfidf_linear", "fasttext"],
            max_epochs=2,
            **{**FIT, "n_trials": 2},
        )
    raise KeyError(name)


def _first(exp, i: int) -> str:
    """The token row i attributes most to its explained class."""
    return max(exp.tokens[i], key=lambda tv: tv[1])[0]


@pytest.mark.parametrize("family", ["tfidf_linear", "cnn"])
def test_the_keyword_ranks_first_for_shap_and_lime(family):
    result = fitted(f"keywords_{family}")
    for method in ("shap", "lime"):
        exp = explain(result, method=method, seconds=math.inf, rows=30, lime_samples=400)
        assert len(exp.rows) == 30
        first = [_first(exp, i) in KEYWORDS.values() for i in range(30)]
        assert np.mean(first) >= 0.9, (method, np.mean(first))
        assert exp.deletion.above_random and exp.deletion.significant, method


def test_tokens_in_text_order_and_the_global_token_table():
    result = fitted("keywords_tfidf_linear")
    texts = ["Bonus river, bonus!", "zebra"]
    exp = explain(result, texts, method="shap", seconds=math.inf)
    assert [t for t, _ in exp.tokens[0]] == ["Bonus", "river", ",", "bonus", "!"]
    assert exp.output == result.predict(texts).tolist()
    # SHAP: the base value (every token deleted) plus the values is the output
    sums = np.array([sum(v for _, v in row) for row in exp.tokens])
    np.testing.assert_allclose(exp.base_values + sums, exp.predictions, atol=1e-6)
    np.testing.assert_allclose(exp.predictions, result.predict_proba(texts).max(axis=1), atol=1e-9)
    frame = exp.to_frame()
    assert list(frame.columns) == ["bonus", "river", ",", "!", "zebra"]  # lower-cased, distinct
    bonus = exp.tokens[0][0][1] + exp.tokens[0][3][1]
    assert frame.loc[0, "bonus"] == pytest.approx(bonus) and frame.loc[1, "bonus"] == 0
    assert frame.loc[1, "zebra"] == pytest.approx(exp.tokens[1][0][1])
    assert list(exp.attributions(0)) == [v for _, v in exp.tokens[0]]
    bare = explain(result, ["_", "zebra"], method="shap", seconds=math.inf)  # no token; one token
    assert bare.tokens[0] == [] and bare.base_values[0] == pytest.approx(bare.predictions[0])
    assert bare.base_values[1] + bare.tokens[1][0][1] == pytest.approx(bare.predictions[1])


def test_deleting_tokens_keeps_the_rest_of_the_text():
    text = "Win a £1000 prize, call now!"
    cut = spans(text)
    assert [text[a:b] for a, b in cut] == [
        "Win",
        "a",
        "£",
        "1000",
        "prize",
        ",",
        "call",
        "now",
        "!",
    ]
    assert without(text, cut, [2, 3, 5]) == "Win a  prize call now!"
    assert without(text, cut, []) == text


@pytest.mark.parametrize("family", ["fasttext", "rnn", "transformer"])
def test_every_sequence_family_is_explained_through_its_own_tokenizer(family):
    result = fitted(f"keywords_{family}")
    texts, _ = keyword_texts(4, seed=5)
    shap = explain(result, texts, method="shap", seconds=math.inf, permutations=2)
    lime = explain(result, texts, method="lime", seconds=math.inf, lime_samples=200)
    proba = result.predict_proba(texts).max(axis=1)
    for exp in (shap, lime):
        assert [len(t) for t in exp.tokens] == [len(spans(t)) for t in texts]
        np.testing.assert_allclose(exp.predictions, proba, atol=1e-6)
    sums = np.array([sum(v for _, v in row) for row in shap.tokens])
    np.testing.assert_allclose(shap.base_values + sums, shap.predictions, atol=1e-5)


def test_an_ensemble_is_explained_on_its_combined_output():
    result = fitted("ensemble")
    texts, _ = keyword_texts(6, seed=7)
    combined = result.predictor.output(np.asarray(texts, dtype=object))
    for method in ("shap", "lime"):
        exp = explain(result, texts, method=method, seconds=math.inf, lime_samples=300)
        np.testing.assert_allclose(exp.predictions, combined.max(axis=1), atol=1e-9)
        assert [_first(exp, i) in KEYWORDS.values() for i in range(6)].count(True) >= 5


def test_the_text_report_highlights_words_and_has_no_table_wording(tmp_path):
    from automl.report import write_report

    path = write_report(fitted("sms"), tmp_path / "report.html", bounds=REPORT_BOUNDS)
    page = Path(path).read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert page.count('data-role="example"') == 6
    assert page.count('data-role="highlighted-shap"') == 6
    assert page.count('data-role="highlighted-lime"') == 6
    spans_ = re.findall(r'<span class="tok" style="background: rgba\([\d, .]+\)" title="', page)
    assert len(spans_) > 60
    assert 'data-role="top-tokens"' in page and "explained as ham" in page
    assert re.search(r"Held-out text \d+: predicted (ham|spam)", page)
    assert 'data-role="faithfulness"' in page and page.count('data-role="row-faithfulness"') == 6
    assert "texts explained (global view)" in page
    for word in TABLE_WORDS:
        assert word not in page, word
    assert "validation rows" not in page and "each row&#39;s" not in page  # texts, not rows
    assert "validation texts" in page and "deletion check on " in page
