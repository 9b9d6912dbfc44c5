"""Tokenisers, fitted on the training rows only (the core fits a family's featurizer there).

``SequenceFeaturizer``: a word-level vocabulary of the trial's size (ids by frequency; 0 is
padding, 1 unknown), optionally with hashed word bigrams and hashed character n-grams of each
word (fastText-style subwords), cut at the trial's sequence length. Output: int64 ids (n, L),
L = the longest row of that call (at most ``max_len``), pad id 0 at the end of each row.
``TfidfFeaturizer``: word and character n-gram TF-IDF (a sparse matrix) for the linear family.
Hashes are crc32, stable across processes (Python's ``hash`` of a str is not).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import Any

import numpy as np

from automl.plugin import DataSpec, Featurizer

TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]", re.UNICODE)
PAD, UNK = 0, 1


def words(text: str) -> list[str]:
    """Lower-cased words (with inner apostrophes) and single punctuation marks."""
    return TOKEN.findall(text.lower())


def _hash(s: str, buckets: int) -> int:
    return zlib.crc32(s.encode("utf-8")) % buckets


class SequenceFeaturizer(Featurizer):
    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        *,
        bigram_buckets: int = 0,
        char_buckets: int = 0,
        char_n: tuple[int, int] = (3, 5),
        min_count: int = 1,
    ) -> None:
        self.vocab_size, self.max_len = int(vocab_size), int(max_len)
        self.bigram_buckets, self.char_buckets = int(bigram_buckets), int(char_buckets)
        self.char_n, self.min_count = tuple(char_n), int(min_count)
        self.vocab: dict[str, int] = {}
        self.truncated = 0
        self.rows_seen = 0

    def fit(self, x: Any, y: np.ndarray) -> SequenceFeaturizer:
        tokenized = [words(text) for text in x]
        counts = Counter(w for toks in tokenized for w in toks)
        kept = [w for w, n in counts.most_common(self.vocab_size - 2) if n >= self.min_count]
        self.vocab = {w: i + 2 for i, w in enumerate(kept)}
        # hash tables no larger than what the training rows hold: fewer idle embedding rows
        if self.bigram_buckets:
            seen = {(a, b) for toks in tokenized for a, b in zip(toks, toks[1:])}
            self.bigram_buckets = max(1, min(self.bigram_buckets, len(seen)))
        if self.char_buckets:
            lo, hi = self.char_n
            grams = {
                f"<{w}>"[i : i + n]
                for w in counts
                for n in range(lo, hi + 1)
                for i in range(len(w) + 3 - n)
            }
            self.char_buckets = max(1, min(self.char_buckets, len(grams)))
        self.rows_seen = len(x)
        self.truncated = int(sum(n > self.max_len for n in self._lengths(x)))
        return self

    def get_state(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "max_len": self.max_len,
            "bigram_buckets": self.bigram_buckets,
            "char_buckets": self.char_buckets,
            "char_n": list(self.char_n),
            "min_count": self.min_count,
            "words": np.array(sorted(self.vocab, key=self.vocab.get), dtype=str),
            "truncated": self.truncated,
            "rows_seen": self.rows_seen,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SequenceFeaturizer:
        self = cls(
            state["vocab_size"],
            state["max_len"],
            bigram_buckets=state["bigram_buckets"],
            char_buckets=state["char_buckets"],
            char_n=tuple(state["char_n"]),
            min_count=state["min_count"],
        )
        self.vocab = {w: i + 2 for i, w in enumerate(state["words"].tolist())}
        self.truncated, self.rows_seen = state["truncated"], state["rows_seen"]
        return self

    @property
    def n_ids(self) -> int:
        """Embedding rows needed: pad, unk, words, then the hash buckets."""
        return 2 + len(self.vocab) + self.bigram_buckets + self.char_buckets

    def _ids(self, text: str, cache: dict[str, list[int]]) -> list[int]:
        toks = words(text)
        if not self.bigram_buckets and not self.char_buckets:
            return [self.vocab.get(w, UNK) for w in toks[: self.max_len]]
        out: list[int] = []
        bigram_base = 2 + len(self.vocab)
        char_base = bigram_base + self.bigram_buckets
        for i, w in enumerate(toks):
            out.append(self.vocab.get(w, UNK))
            if self.bigram_buckets and i:
                out.append(bigram_base + _hash(toks[i - 1] + " " + w, self.bigram_buckets))
            if self.char_buckets:
                grams = cache.get(w)
                if grams is None:
                    grams = cache[w] = self._char_ids(w, char_base)
                out.extend(grams)
            if len(out) >= self.max_len:
                break
        return out[: self.max_len]

    def _char_ids(self, word: str, base: int) -> list[int]:
        marked = f"<{word}>"
        lo, hi = self.char_n
        return [
            base + _hash(marked[i : i + n], self.char_buckets)
            for n in range(lo, hi + 1)
            for i in range(len(marked) - n + 1)
        ]

    def _lengths(self, x: Any) -> list[int]:
        """Untruncated id counts: words, bigrams and character n-grams."""
        lo, hi = self.char_n
        per_word: dict[str, int] = {}
        lengths = []
        for text in x:
            toks = words(text)
            n = len(toks) + (max(0, len(toks) - 1) if self.bigram_buckets else 0)
            if self.char_buckets:
                for w in toks:
                    if w not in per_word:
                        m = len(w) + 2
                        per_word[w] = sum(max(0, m - k + 1) for k in range(lo, hi + 1))
                    n += per_word[w]
            lengths.append(n)
        return lengths

    def transform(self, x: Any) -> np.ndarray:
        cache: dict[str, list[int]] = {}
        rows = [self._ids(t, cache) for t in x]
        width = max([1, *map(len, rows)])
        out = np.zeros((len(rows), width), dtype=np.int64)
        for i, ids in enumerate(rows):
            out[i, : len(ids)] = ids
        return out

    def spec(self, spec: DataSpec) -> DataSpec:
        extra = {
            **spec.extra,
            "n_ids": self.n_ids,
            "words": len(self.vocab),
            "max_len": self.max_len,
            "truncated_train_rows": self.truncated,
        }
        return DataSpec((self.max_len,), spec.n_outputs, spec.problem_type, extra)


CHAR_RANGES = {"none": None, "1-4": (1, 4), "2-5": (2, 5), "3-6": (3, 6)}


class TfidfFeaturizer(Featurizer):
    """Word n-gram TF-IDF (1..word_n) side by side with char_wb n-gram TF-IDF; sublinear tf."""

    def __init__(
        self,
        word_n: int = 2,
        char: str = "2-5",
        min_df: int = 1,
        max_features: int = 0,
        nb: bool = False,
    ) -> None:
        self.word_n, self.char, self.min_df = int(word_n), char, int(min_df)
        self.max_features = int(max_features) or None
        self.nb = bool(nb)
        self.union = None
        self.ratios = None  # NB log-count ratios (NBSVM, Wang & Manning 2012): binary only
        self.rows_seen = 0

    def _vectorizers(self, vocabularies: list[dict[str, int]] | None = None) -> list:
        """The word (and char_wb) vectorizers, unfitted or with the given vocabularies."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        common = {"sublinear_tf": True, "min_df": self.min_df, "dtype": np.float32}
        kinds = [
            ("word", {"ngram_range": (1, self.word_n), "token_pattern": r"(?u)\b\w+\b"}),
        ]
        if CHAR_RANGES[self.char] is not None:
            kinds.append(("char", {"analyzer": "char_wb", "ngram_range": CHAR_RANGES[self.char]}))
        out = []
        for i, (name, own) in enumerate(kinds):
            fixed = {"vocabulary": vocabularies[i]} if vocabularies else {}
            limit = {"max_features": self.max_features} if not vocabularies else {}
            out.append((name, TfidfVectorizer(**common, **own, **limit, **fixed)))
        return out

    def fit(self, x: Any, y: np.ndarray) -> TfidfFeaturizer:
        from sklearn.pipeline import FeatureUnion

        self.union = FeatureUnion(self._vectorizers())
        features = self.union.fit_transform(list(x)).tocsr()
        self.rows_seen = len(x)
        y = np.asarray(y)
        if self.nb and y.dtype.kind in "iu" and set(np.unique(y)) == {0, 1}:
            p = 1.0 + np.asarray(features[y == 1].sum(0)).ravel()
            q = 1.0 + np.asarray(features[y == 0].sum(0)).ravel()
            self.ratios = (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)
        return self

    def get_state(self) -> dict[str, Any]:
        parts = []
        for _, vec in self.union.transformer_list:
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            parts.append({"terms": np.array(terms, dtype=str), "idf": vec.idf_})
        return {
            "word_n": self.word_n,
            "char": self.char,
            "min_df": self.min_df,
            "max_features": self.max_features or 0,
            "nb": self.nb,
            "rows_seen": self.rows_seen,
            "ratios": self.ratios,
            "parts": parts,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TfidfFeaturizer:
        from sklearn.pipeline import FeatureUnion

        self = cls(state["word_n"], state["char"], state["min_df"], state["max_features"])
        self.nb, self.rows_seen = state["nb"], state["rows_seen"]
        self.ratios = None if state["ratios"] is None else np.asarray(state["ratios"])
        vocabularies = [{t: i for i, t in enumerate(p["terms"].tolist())} for p in state["parts"]]
        vectorizers = self._vectorizers(vocabularies)
        for (_, vec), part in zip(vectorizers, state["parts"]):
            vec.idf_ = np.asarray(part["idf"])
        self.union = FeatureUnion(vectorizers)
        return self

    def transform(self, x: Any):
        features = self.union.transform(list(x)).tocsr()
        if self.ratios is not None:
            features = features.multiply(self.ratios).tocsr()
        return features

    def spec(self, spec: DataSpec) -> DataSpec:
        n = sum(len(v.vocabulary_) for _, v in self.union.transformer_list)
        return DataSpec((n,), spec.n_outputs, spec.problem_type, {**spec.extra, "features": n})
