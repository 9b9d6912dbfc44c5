"""Explanations of text models on raw strings, through the model's own predict path.

Every family (TF-IDF + linear, fastText, CNN, RNN, Transformer) and every ensemble of them is
explained the same way: the explainers hand perturbed strings to ``result.predictor.output``,
so the tokenizer a trial chose (its vocabulary, n-grams, truncation) is part of what is
explained. Tokens are the text plugin's words and punctuation marks (``tokenize.TOKEN``), in
their written case; a token is removed by deleting it from the string.

SHAP: permutation SHAP over those tokens (``automl.permutation_shap``; masked tokens deleted),
the perturbed texts of many rows batched into few model calls (shap's partition explainer with
a text masker called the model per text: 27 s for one SMS text on a busy machine); up to
``ExplainBounds.permutations`` antithetic pairs a text, fewer when ``min_rows`` texts would not
fit the time; base value plus values equals the output.
LIME: ``lime_text.LimeTextExplainer`` over token positions (a repeated word is two features),
removed tokens deleted. Both explain each text's predicted class (or the predicted value).
The deletion check deletes a text's top 20% tokens (``automl.faithfulness``).
"""

from __future__ import annotations

import time
import warnings
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
    sized_permutation_shap,
)
from automl_text.tokenize import TOKEN

DELETION_SHARE = 0.20  # of a text's tokens
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


class TextExplainer(Explainer):
    """SHAP (permutation SHAP over tokens) and LIME (LimeTextExplainer) on raw strings."""

    unit = "text"
    examples = 6
    about = (
        "Each text is explained through the model's own tokenizer and predict path, for the "
        "class it predicts (or the predicted value); a token is a word or a punctuation mark "
        "and is removed by deleting it from the text. SHAP: permutation SHAP over the tokens "
        "(the mean change of the output when a token is added, over random orders). LIME: a "
        "linear model over which tokens are kept."
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
                per_row, base, permutations = _shap(
                    result, texts, classes, bounds, deadline, notes
                )
                algorithm = (
                    f"permutation SHAP (tokens deleted, {permutations} antithetic permutation "
                    "pairs a text)"
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
def _shap(result, texts, classes, bounds, deadline, notes):
    """Permutation SHAP over each text's tokens (``automl.permutation_shap``): the texts with
    tokens deleted go to the model in batches, every text of a chunk at once."""
    cuts = [spans(t) for t in texts]

    def evaluate(requests: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        batch, which, counts = [], [], []
        for i, masks in requests:
            batch += [without(texts[i], cuts[i], np.flatnonzero(~mask)) for mask in masks]
            which += [int(classes[i])] * len(masks)
            counts.append(len(masks))
        out = explained_output(result, batch, np.asarray(which, dtype=int))
        return np.split(out, np.cumsum(counts)[:-1])

    per_row, base, permutations = sized_permutation_shap(
        [len(c) for c in cuts],
        evaluate,
        most=bounds.permutations,
        minimum=bounds.min_rows,
        deadline=deadline,
        notes=notes,
        seed=bounds.seed,
    )
    notes.append(
        "SHAP: base value = the output for the text with every token deleted; base value "
        "plus a text's SHAP values = its output"
    )
    return per_row, base, permutations


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

    def explain_row(i: int, samples: int) -> LimeRow:
        n_tokens = len(spans(texts[i]))
        label = 0 if regression else int(classes[i])
        if n_tokens == 0:  # nothing to delete: the model's output is the whole story
            return LimeRow(np.zeros(0), float(classify([texts[i]])[0, label]), np.nan)
        exp = explainer.explain_instance(
            texts[i],
            classify,
            labels=(label,),
            num_features=n_tokens,
            num_samples=samples,
        )
        return lime_row(exp, label, n_tokens)

    rows = lime_rows(
        explain_row,
        len(texts),
        deadline,
        notes,
        samples=bounds.lime_samples,
        minimum=bounds.min_examples,
    )
    notes.append(
        f"LIME: up to {bounds.lime_samples} perturbed texts each, a random number of tokens "
        "deleted; a weight is what keeping the token adds to the local linear model"
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
