"""Text to ONNX (or TorchScript).

TF-IDF members take the texts themselves (graph input ``text``: strings (n,), cleaned as
``predict`` cleans them: missing texts as ``""``, cut at 20,000 characters). Their vectoriser is
written here with ONNX's text operators, because skl2onnx converts no ``char_wb`` analyzer:
lower-casing (StringNormalizer), tokens (onnxruntime's Tokenizer: ``[\\p{L}\\p{N}_]+`` for words,
as scikit-learn's ``(?u)\\b\\w+\\b``; whitespace-separated words padded with a space, split into
characters, for ``char_wb``), n-gram counts (TfIdfVectorizer), sublinear tf, idf, L2 norm, the
naive-Bayes ratios, then the linear model (skl2onnx).

Token-id networks take ids: graph input ``ids_<i>`` for member i, int64 (n, L), the output of that
member's own tokenizer (``result.members[i].predictor.featurizer.transform(texts)``: its
vocabulary is in the model folder, ``member_<i>/featurizer.json``); pad id 0 at the end of rows.
That lookup (regex words, vocabulary, crc32-hashed n-grams) stays outside the graph: the graph's
input contract. A pretrained backbone's member (``pretrained=``) takes its Hugging Face
tokenizer's ids the same way: ``result.members[i].predictor.token_ids(texts)``, cut at the
member's max length, padded at row ends with the tokenizer's pad id (the graph masks
``ids != pad id``); the tokenizer's files are in ``member_<i>/tokenizer/`` (load them with
``AutoTokenizer.from_pretrained`` or the ``tokenizers`` library's ``tokenizer.json``). The RNN
family packs its sequences, which torch.export (the ONNX exporter's first step) cannot trace:
it is refused with an error naming it; its TorchScript export works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.plugin import (
    Exporter,
    ExportError,
    GraphBuilder,
    GraphInput,
    chain,
    model_of,
    sklearn_to_onnx,
    to_all_classes,
    torch_to_onnx,
)

TEXT = "text"
WORD = r"[\p{L}\p{N}_]+"  # scikit-learn's (?u)\b\w+\b
NOT_SPACE = r"[^\x{09}-\x{0d}\x{1c}-\x{1f}\x{85}\p{Z}]+"  # what str.split() keeps
LOCALE = "C.UTF-8"


def _is_tfidf(member: Any) -> bool:
    from automl_text.tokenize import TfidfFeaturizer

    return isinstance(getattr(member.predictor, "featurizer", None), TfidfFeaturizer)


def _is_backbone(member: Any) -> bool:
    from automl_text.backbone_kind import BackbonePredictor

    return isinstance(member.predictor, BackbonePredictor)


def _token_ids(member: Any, texts: Any) -> np.ndarray:
    """A token-id member's input: its tokenizer's ids (a featurizer's, or a backbone's own)."""
    if _is_backbone(member):
        return member.predictor.token_ids(texts)
    return member.predictor.featurizer.transform(texts)


def _ids_name(index: int) -> str:
    return f"ids_{index}"


class _Unpacked:
    """A text module run on every column of its ids (no trimming of pad columns, whose
    embeddings are masked anyway), so tracing sees no data-dependent width."""

    @staticmethod
    def wrap(module: Any) -> Any:
        import torch

        class Unpacked(torch.nn.Module):
            def __init__(self, inner) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return self.inner.encode(x, x != getattr(self.inner, "pad_id", 0))

        return Unpacked(module).cpu().eval()


class TextExporter(Exporter):
    def inputs(self, result: Any) -> list[GraphInput]:
        from onnx import TensorProto

        out = []
        if any(_is_tfidf(m) for m in result.members):
            out.append(
                GraphInput(
                    TEXT,
                    TensorProto.STRING,
                    [None],
                    "texts (n,): missing as '', at most 20,000 characters",
                )
            )
        for i, member in enumerate(result.members):
            if _is_backbone(member):
                pad = member.predictor.pad_id
                out.append(
                    GraphInput(
                        _ids_name(i),
                        TensorProto.INT64,
                        [None, None],
                        f"int64 token ids (n, L) from member {i}'s Hugging Face tokenizer "
                        f"(result.members[{i}].predictor.token_ids(texts); its files in "
                        f"member_{i}/tokenizer/), at most {member.predictor.max_len} per row, "
                        f"pad id {pad} at row ends",
                    )
                )
            elif not _is_tfidf(member):
                out.append(
                    GraphInput(
                        _ids_name(i),
                        TensorProto.INT64,
                        [None, None],
                        f"int64 token ids (n, L) from member {i}'s tokenizer "
                        f"(result.members[{i}].predictor.featurizer.transform(texts); "
                        f"vocabulary in member_{i}/featurizer.json), pad id 0 at row ends",
                    )
                )
        return out

    def feed(self, result: Any, raw: Any) -> dict[str, np.ndarray]:
        texts = result.features.transform(raw)
        feed: dict[str, np.ndarray] = {}
        for i, member in enumerate(result.members):
            if _is_tfidf(member):
                feed[TEXT] = np.asarray(texts, dtype=object)
            else:
                feed[_ids_name(i)] = _token_ids(member, texts)
        return feed

    def member(self, result: Any, index: int, member: Any, source: str | None) -> Any:
        regression = result.problem_type == "regression"
        predictor = member.predictor
        if _is_tfidf(member):
            vectoriser = tfidf_graph(predictor.featurizer)
            width = int(vectoriser.graph.output[0].type.tensor_type.shape.dim[1].dim_value)
            est = predictor.inner.estimator
            model = sklearn_to_onnx(est, "tfidf_in", width, regression=regression)
            if not regression:
                model = to_all_classes(model, est.classes_, predictor.n_outputs)
            return chain(vectoriser, model, [("tfidf", "tfidf_in")], f"est{index}__")
        if member.family.name == "rnn":
            raise ExportError(
                f"member {index} (rnn) cannot be converted to ONNX: torch.export, the torch "
                "ONNX exporter's first step, fails on its packed sequences "
                "(pad_packed_sequence sizes its output from the lengths tensor); export it "
                "with format='torchscript'"
            )
        import torch

        inner = predictor if _is_backbone(member) else predictor.inner
        real = 1 if getattr(inner, "pad_id", 0) != 1 else 2  # an id that is no padding
        example = torch.full((2, 8), real, dtype=torch.int64)
        return torch_to_onnx(
            _Unpacked.wrap(inner.module),
            example,
            _ids_name(index),
            {0: "n", 1: "length"},
            regression=regression,
            y_scale=(inner.y_mean, inner.y_std),
        )

    def torch_module(self, result: Any, member: Any) -> Any:
        inner = member.predictor if _is_backbone(member) else member.predictor.inner
        return _Unpacked.wrap(inner.module)

    def torch_input(self, result: Any, index: int, member: Any, raw: Any) -> Any:
        import torch

        texts = result.features.transform(raw)
        return torch.as_tensor(_token_ids(member, texts))

    def torch_contract(self, result: Any) -> str:
        return "int64 token ids (n, L) from each member's own tokenizer, in member order"

    def sample(self, result: Any, n: int, seed: int) -> list[str]:
        """Texts of 1 to 30 words drawn from the training vocabulary (the drift profile's),
        plus an empty text and one of unknown words."""
        vocabulary = sorted(getattr(result.profile, "vocabulary", None) or [])
        if not vocabulary:
            raise ExportError(
                "this model keeps no vocabulary to draw check texts from: pass data="
            )
        rng = np.random.default_rng(seed)
        words = np.asarray(vocabulary, dtype=object)
        texts = [" ".join(rng.choice(words, rng.integers(1, 31))) for _ in range(n - 2)]
        return [*texts, "", "zzqx qqzx, unknown-words!"]


def tfidf_graph(featurizer: Any) -> Any:
    """``TfidfFeaturizer.transform`` as ONNX: strings (n,) in, float (n, features) out."""
    from onnx import TensorProto, helper

    g = GraphBuilder("tfidf__")
    lower = g.op("StringNormalizer", [TEXT], case_change_action="LOWER", locale=LOCALE)
    blocks = []
    for kind, vec in featurizer.union.transformer_list:
        if kind == "word":
            tokens = g.op(
                "Tokenizer",
                [lower],
                domain="com.microsoft",
                tokenexp=WORD,
                mark=0,
                mincharnum=1,
                pad_value="#",
            )
            grams = {gram: col for gram, col in vec.vocabulary_.items()}
            split = str.split
        else:
            tokens = _char_wb_tokens(g, lower)
            grams = dict(vec.vocabulary_)
            split = list
        counts = _ngram_counts(g, tokens, grams, split)
        blocks.append(_tfidf(g, counts, np.asarray(vec.idf_, dtype=np.float32)))
    out = g.op("Concat", blocks, axis=1) if len(blocks) > 1 else blocks[0]
    if featurizer.ratios is not None:
        out = g.op("Mul", [out, g.const(np.asarray(featurizer.ratios)[None], np.float32)])
    g.nodes.append(helper.make_node("Identity", [out], ["tfidf"]))
    width = sum(len(v.vocabulary_) for _, v in featurizer.union.transformer_list)
    return model_of(
        g.nodes,
        [helper.make_tensor_value_info(TEXT, TensorProto.STRING, [None])],
        [helper.make_tensor_value_info("tfidf", TensorProto.FLOAT, [None, width])],
        g.inits,
    )


def _char_wb_tokens(g: GraphBuilder, lower: str) -> str:
    """scikit-learn's ``char_wb`` units: each whitespace-separated word with a space on both
    sides, as characters (n, words x characters), padding tokens two characters long (never
    a character, so never part of an n-gram)."""
    words = g.op(
        "Tokenizer",
        [lower],
        domain="com.microsoft",
        tokenexp=NOT_SPACE,
        mark=0,
        mincharnum=1,
        pad_value=" ",
    )
    space = g.const(" ", object)
    padded = g.op("StringConcat", [g.op("StringConcat", [space, words]), space])
    empty = g.op("Equal", [words, space])
    padded = g.op("Where", [empty, g.const("", object), padded])
    chars = g.op(
        "Tokenizer",
        [padded],
        domain="com.microsoft",
        tokenexp=".",
        mark=0,
        mincharnum=1,
        pad_value="##",
    )
    n = g.op("Shape", [chars], start=0, end=1)
    shape = g.op("Concat", [n, g.const([-1], np.int64)], axis=0)
    return g.op("Reshape", [chars, shape])


def _ngram_counts(g: GraphBuilder, tokens: str, grams: dict[str, int], split: Any) -> str:
    """Counts (n, vocabulary) of the vocabulary's n-grams in each row of tokens."""
    by_length: dict[int, list[tuple[list[str], int]]] = {}
    for gram, col in grams.items():
        parts = split(gram)
        by_length.setdefault(len(parts), []).append((parts, col))
    longest = max(by_length)
    pool, starts, indexes = [], [], []
    for length in range(1, longest + 1):
        starts.append(len(pool))
        for parts, col in sorted(by_length.get(length, [])):
            pool.extend(parts)
            indexes.append(col)
    return g.op(
        "TfIdfVectorizer",
        [tokens],
        mode="TF",
        min_gram_length=min(by_length),
        max_gram_length=longest,
        max_skip_count=0,
        ngram_counts=starts,
        ngram_indexes=indexes,
        pool_strings=pool,
    )


def _tfidf(g: GraphBuilder, counts: str, idf: np.ndarray) -> str:
    """Sublinear tf (1 + log tf), times idf, rows scaled to unit L2 norm."""
    zero = g.const(0.0, np.float32)
    positive = g.op("Greater", [counts, zero])
    safe = g.op("Max", [counts, g.const(1.0, np.float32)])
    tf = g.op(
        "Where", [positive, g.op("Add", [g.op("Log", [safe]), g.const(1.0, np.float32)]), zero]
    )
    weighted = g.op("Mul", [tf, g.const(idf[None], np.float32)])
    norm = g.op(
        "Sqrt",
        [
            g.op(
                "ReduceSum",
                [g.op("Mul", [weighted, weighted]), g.const([1], np.int64)],
                keepdims=1,
            )
        ],
    )
    norm = g.op("Where", [g.op("Equal", [norm, zero]), g.const(1.0, np.float32), norm])
    return g.op("Div", [weighted, norm])
