"""Explanations of text models on raw strings, through the model's own predict path.

Every family (TF-IDF + linear, fastText, CNN, RNN, Transformer) and every ensemble of them is
explained the same way: the explainers hand perturbed strings to ``result.predictor.output``,
so the tokenizer a trial chose (its vocabulary, n-grams, truncation) is part of what is
explained. Tokens are the text plugin's words and punctuation marks (``tokenize.TOKEN``), in
their written case; a token is removed by deleting it from the string.

SHAP: ``shap.Explainer`` with a ``shap.maskers.Text`` masker on those tokens (masked tokens
deleted), which is SHAP's partition explainer: Owen values over the masker's token hierarchy,
``ExplainBounds.partition_evals`` model calls a text; base value plus values equals the output.
LIME: ``lime_text.LimeTextExplainer`` over token positions (a repeated word is two features),
removed tokens deleted. Both explain each text's predicted class (or the predicted value).
The deletion check deletes a text's top 20% tokens (``automl.faithfulness``).
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from automl.plugin import (
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    LimeRow,
    explained_class,
    lime_row,
    lime_rows,
    output_label,
    run_chunks,
)
from automl_text.tokenize import TOKEN

DELETION_SHARE = 0.20  # of a text's tokens
SHAP_CHUNK = 8  # texts per SHAP step between deadline checks
EVAL_BATCH = 256  # texts per model call


def spans(text: str) -> list[tuple[int, int]]:
    """Where the tokens of ``text`` are: (start, end) character offsets, in order."""
    return [m.span() for m in TOKEN.finditer(text)]


def without(text: str, cut: list[tuple[int, int]], removed: Any) -> str:
    """``text`` with the tokens at positions ``removed`` (of ``cut``, its token spans)
    deleted; the characters between tokens stay."""
    removed = set(int(i) for i in removed)
    parts, pos = [], 0
    for j, (start, end) in enumerate(cut):
        if j in removed:
            parts.append(text[pos:start])
            pos = end
    parts.append(text[pos:])
    return "".join(parts)


class _Tokens:
    """The token splitter in the form ``shap.maskers.Text`` takes (a minimal HuggingFace-like
    tokenizer: token strings as ids, with their character offsets)."""

    def __call__(self, s: str, return_offsets_mapping: bool = True) -> dict[str, list]:
        cut = spans(s)
        out: dict[str, list] = {"input_ids": [s[a:b] for a, b in cut]}
        if return_offsets_mapping:
            out["offset_mapping"] = cut
        return out


class TextExplainer(Explainer):
    """SHAP (partition explainer, text masker) and LIME (LimeTextExplainer) on raw strings."""

    unit = "text"
    examples = 6
    about = (
        "Each text is explained through the model's own tokenizer and predict path, for the "
        "class it predicts (or the predicted value); a token is a word or a punctuation mark "
        "and is removed by deleting it from the text. SHAP: the partition explainer with a text "
        "masker (Owen values over a hierarchy of neighbouring tokens). LIME: a linear model "
        "over which tokens are kept."
    )

    def explain(
        self,
        result: Any,
        x: np.ndarray,
        *,
        method: str,
        background: np.ndarray,
        bounds: ExplainBounds,
        deadline: float,
    ) -> Explanation:
        started = time.monotonic()
        texts = [str(t) for t in np.asarray(x, dtype=object)]
        if not texts:
            raise ExplainError("no texts to explain")
        output = result.predictor.output(np.asarray(texts, dtype=object))
        regression = result.problem_type == "regression"
        classes = explained_class(output, result.problem_type, predicted=True)
        picked = output if regression else output[np.arange(len(texts)), classes]
        notes: list[str] = []
        local_fit = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "shap":
                per_row, base = _shap(result, texts, classes, bounds, deadline, notes)
                algorithm = (
                    f"PartitionExplainer (shap.maskers.Text, tokens deleted, "
                    f"{bounds.partition_evals} model calls a text)"
                )
            elif method == "lime":
                per_row, base, local_fit = _lime(result, texts, classes, bounds, deadline, notes)
                algorithm = "LimeTextExplainer (token positions, tokens deleted)"
            else:
                raise ExplainError(f"unknown method {method!r}; the text task knows shap, lime")
        n = len(per_row)
        tokens = [
            [(texts[i][a:b], float(v)) for (a, b), v in zip(spans(texts[i]), per_row[i])]
            for i in range(n)
        ]
        names, table = token_table(tokens)
        share = bounds.deletion_share or DELETION_SHARE
        deletion = _deletion(result, texts[:n], per_row, classes[:n], share, bounds.seed)
        notes.append(deletion.summary(method.upper()))
        return Explanation(
            method=method,
            algorithm=algorithm,
            feature_names=names,
            values=table,
            base_values=np.asarray(base, dtype=np.float64),
            predictions=np.asarray(picked[:n], dtype=np.float64),
            output=[output_label(result, int(c)) for c in classes[:n]],
            output_space="value" if regression else "probability",
            rows=np.arange(n),
            local_fit=local_fit,
            notes=notes,
            seconds=time.monotonic() - started,
            tokens=tokens,
            deletion=deletion,
        )


def token_table(tokens: list[list[tuple[str, float]]]) -> tuple[list[str], np.ndarray]:
    """The global token table: a column per distinct (lower-cased) token of the rows, in order
    of first appearance; a row's value is the sum over its occurrences, 0 where absent."""
    index: dict[str, int] = {}
    for row in tokens:
        for token, _ in row:
            index.setdefault(token.lower(), len(index))
    table = np.zeros((len(tokens), len(index)))
    for i, row in enumerate(tokens):
        for token, value in row:
            table[i, index[token.lower()]] += value
    return list(index), table


def explained_output(result: Any, texts: list[str], classes: np.ndarray) -> np.ndarray:
    """The model's output for ``texts``: the probability of ``classes[j]`` for text j, or the
    predicted value (regression); in batches of ``EVAL_BATCH``."""
    out = []
    for start in range(0, len(texts), EVAL_BATCH):
        batch = np.asarray(texts[start : start + EVAL_BATCH], dtype=object)
        found = result.predictor.output(batch)
        if result.problem_type != "regression":
            found = found[np.arange(len(batch)), classes[start : start + EVAL_BATCH]]
        out.append(found)
    return np.concatenate(out) if out else np.zeros(0)


# -- SHAP -----------------------------------------------------------------------------------------
def _shap(result, texts, classes, bounds, deadline, notes):  # noqa: C901
    import shap

    masker = shap.maskers.Text(_Tokens(), mask_token="...", collapse_mask_token=False)
    masker.mask_token = ""  # a masked token is deleted ("..." only set the masker up)
    explainers: dict[int, Any] = {}

    def explainer(cls: int) -> Any:
        if cls not in explainers:

            def f(batch: Any) -> np.ndarray:
                batch = [str(t) for t in batch]
                return explained_output(result, batch, np.full(len(batch), cls))

            explainers[cls] = shap.Explainer(f, masker, algorithm="partition")
        return explainers[cls]

    def run(start: int, stop: int):
        values: list[np.ndarray] = [np.zeros(0)] * (stop - start)
        base = np.zeros(stop - start)
        by_class = defaultdict(list)
        for j in range(start, stop):
            n_tokens = len(spans(texts[j]))
            if n_tokens > 1:
                by_class[int(classes[j])].append(j)
                continue
            # no token: nothing to attribute, the output is the base value; one token: its
            # value is exact (and shap's text clustering needs two tokens)
            empty, full = explained_output(result, ["", texts[j]], classes[[j, j]])
            base[j - start] = empty if n_tokens else full
            values[j - start] = np.array([full - empty]) if n_tokens else np.zeros(0)
        for cls, rows in by_class.items():
            found = explainer(cls)(
                [texts[j] for j in rows],
                max_evals=bounds.partition_evals,
                batch_size=EVAL_BATCH,
                silent=True,
            )
            for pos, j in enumerate(rows):
                values[j - start] = np.asarray(found.values[pos], dtype=np.float64).reshape(-1)
                base[j - start] = float(np.ravel(found.base_values[pos])[0])
        return values, base

    pieces, _ = run_chunks(run, len(texts), deadline, SHAP_CHUNK, notes, "SHAP")
    per_row = [v for piece in pieces for v in piece[0]]
    base = np.concatenate([piece[1] for piece in pieces])
    for j, v in enumerate(per_row):
        if len(v) != len(spans(texts[j])):
            raise ExplainError(
                f"SHAP's text masker split text {j} into {len(v)} tokens, not the "
                f"{len(spans(texts[j]))} of the text plugin"
            )
    notes.append(
        "SHAP: base value = the output for the text with every token deleted; base value "
        "plus a text's SHAP values = its output"
    )
    return per_row, base


# -- LIME -----------------------------------------------------------------------------------------
def _lime(result, texts, classes, bounds, deadline, notes):
    from lime.lime_text import LimeTextExplainer

    regression = result.problem_type == "regression"

    def split(text: str) -> list[str]:
        return [text[a:b] for a, b in spans(text)]

    explainer = LimeTextExplainer(
        split_expression=split,
        bow=False,
        mask_string="",
        feature_selection="none",
        random_state=bounds.seed,
    )

    def classify(batch: list[str]) -> np.ndarray:
        out = [
            result.predictor.output(np.asarray(batch[s : s + EVAL_BATCH], dtype=object))
            for s in range(0, len(batch), EVAL_BATCH)
        ]
        out = np.concatenate(out)
        return out.reshape(-1, 1) if regression else out

    def explain_row(i: int) -> LimeRow:
        n_tokens = len(spans(texts[i]))
        label = 0 if regression else int(classes[i])
        if n_tokens == 0:  # nothing to delete: the model's output is the whole story
            return LimeRow(np.zeros(0), float(classify([texts[i]])[0, label]), np.nan)
        exp = explainer.explain_instance(
            texts[i],
            classify,
            labels=(label,),
            num_features=n_tokens,
            num_samples=bounds.lime_samples,
        )
        return lime_row(exp, label, n_tokens)

    rows = lime_rows(explain_row, len(texts), deadline, notes)
    notes.append(
        f"LIME: {bounds.lime_samples} perturbed texts each, a random number of tokens deleted; "
        "a weight is what keeping the token adds to the local linear model"
    )
    return (
        [r.weights for r in rows],
        np.array([r.intercept for r in rows], dtype=np.float64),
        np.array([r.score for r in rows], dtype=np.float64),
    )


# -- faithfulness ---------------------------------------------------------------------------------
def _deletion(result, texts, per_row, classes, share, seed):
    from automl.plugin import deletion_check

    cuts = [spans(t) for t in texts]

    def remove(i: int, tokens: np.ndarray) -> str:
        return without(texts[i], cuts[i], tokens)

    def score(rows: list[str], which: np.ndarray) -> np.ndarray:
        return explained_output(result, rows, classes[which])

    return deletion_check(per_row, remove, score, share=share, seed=seed)
