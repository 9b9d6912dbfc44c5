"""The text task: texts and labels in, a validated train/valid split of cleaned strings out.

Each model family brings its own tokeniser (a ``Featurizer``), which the core fits on the
training rows of each trial; the task itself only validates, cleans and splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import (
    DataError,
    FeatureEncoder,
    RowField,
    RowFormat,
    Task,
    TaskData,
    check_task_options,
    split_target,
)
from automl_text.groups import containment_groups
from automl_text.inputs import (
    ACCEPTED,
    accepts,
    clean_texts,
    is_string_column,
    split_text_input,
)
from automl_text.profile import TextProfile
from automl_text.tokenize import words

MAX_EPOCHS = (6, 20)  # fewer passes over bigger sets: from-scratch text models peak early
LONGEST_SEARCHED = 256  # the longest sequence length any family searches (tokens)
OPTIONS = {
    "text_column": None,
    "empty_texts": ("warn", "error"),
    "group_texts": None,
    "pretrained": None,  # (name, None) pairs: Hugging Face backbones (automl_text.backbones)
}


class TextFeatures(FeatureEncoder):
    """Predict-time input to a cleaned object array of strings: a string, a list/array/Series
    of strings, or a DataFrame holding the training text column (or a single column, or a
    single column of strings)."""

    def __init__(self, column: str | None = None) -> None:
        self.column = column

    def get_state(self) -> dict[str, Any]:
        return {"column": self.column}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextFeatures:
        return cls(state["column"])

    def transform(self, raw: Any) -> np.ndarray:
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, pd.DataFrame):
            raw = self._texts_of(raw)
        if not isinstance(raw, (list, tuple, np.ndarray, pd.Series)):
            raise DataError(
                f"predict takes a string, a list/array/Series of strings or a DataFrame with "
                f"the text column; got {type(raw).__name__}"
            )
        texts, _ = clean_texts(raw, where="the input", fitting=False)
        return texts

    def _texts_of(self, frame: pd.DataFrame) -> pd.Series:
        """A frame's text column: the one named at fit (``text_column=``, the column found in
        a training frame, a named Series' name), else its only column, else its only column of
        strings (an id or a number beside the texts is left out)."""
        columns = list(frame.columns)
        if self.column is not None and self.column in frame.columns:
            return frame[self.column]
        if frame.shape[1] == 1:
            return frame.iloc[:, 0]
        if self.column is not None:
            raise DataError(
                f"the text column {self.column!r} (the model's, named at fit) is not in the "
                f"data; columns: {columns[:20]}: pass a frame holding it, or the texts alone"
            )
        strings = [c for c in columns if is_string_column(frame[c])]
        if len(strings) == 1:
            return frame[strings[0]]
        raise DataError(
            f"cannot tell which column holds the text: the frame has {len(strings)} columns of "
            f"strings {strings[:20]} (columns: {columns[:20]}) and the model was fitted without "
            "a column name (from (texts, labels)): pass the texts alone (df['text']) or a frame "
            "of the text column only"
        )

    def describe_missing(self) -> dict[str, str]:
        return {self.column or "text": "missing texts are read as empty strings (with a warning)"}


class TextTask(Task):
    name = "text"

    def accepts(self, dataset: Any, target: Any = None) -> float:
        return accepts(dataset, target)

    def describe_input(self) -> str:
        return ACCEPTED

    def explainer(self):
        from automl_text.explain import TextExplainer

        return TextExplainer()

    def parse_rows(self, payload: Any, features: Any) -> Any:
        from automl_text.profile import texts_from_json

        return texts_from_json(payload)

    def describe_features(self, features: Any) -> list[dict[str, Any]]:
        name = features.column or "text"
        return [{"name": name, "type": "text", "detail": "a string"}]

    def row_format(self, features: Any) -> RowFormat:
        name = features.column or "text"
        text = RowField(name, "string", "a text", examples=("a text to classify",))
        return RowFormat((text,), record=False)

    def exporter(self):
        from automl_text.export import TextExporter

        return TextExporter()

    def adapt(
        self,
        dataset: Any,
        target: Any = None,
        *,
        problem_type: str | None = None,
        valid_fraction: float = 0.2,
        seed: int = 0,
        valid: Any = None,
        **options: Any,
    ) -> TaskData:
        check_task_options(self.name, options, OPTIONS)
        backbones = None
        if options.get("pretrained"):  # checked before reading the data: no training yet
            from automl_text.backbones import resolve

            backbones = resolve(options["pretrained"])
        empty_texts = options.get("empty_texts", "warn")
        raw, y, column, notes = split_text_input(dataset, target, options.get("text_column"))
        if len(raw) == 0:
            raise DataError("the data is empty: no texts to learn from; pass at least a few rows")
        texts, clean_notes = clean_texts(raw, empty_texts=empty_texts)
        notes += clean_notes
        n_given = 0
        if valid is not None:  # the caller's validation texts: no split is made
            raw_v, y_v, _, _ = split_text_input(
                valid, target if not isinstance(valid, tuple) else None, column
            )
            texts_v, _ = clean_texts(raw_v, empty_texts=empty_texts, where="the validation texts")
            texts = np.concatenate([texts, texts_v])
            y = pd.concat(
                [pd.Series(np.asarray(y)), pd.Series(np.asarray(y_v))], ignore_index=True
            )
            n_given = len(texts_v)
        groups = None
        if options.get("group_texts", True) and not n_given:
            groups, note = containment_groups(texts)
            if len(np.unique(groups)) < len(groups):
                notes.append(note)
            else:
                groups = None
        split = split_target(
            y, problem_type, valid_fraction, seed, n_given_valid=n_given, groups=groups
        )
        train, valid = split.train, split.valid
        lengths = np.array([len(words(t)) for t in texts[train]])
        long = int((lengths > LONGEST_SEARCHED).sum())
        if long:
            notes.append(
                f"{long} training text(s) exceed {LONGEST_SEARCHED} tokens, the longest searched "
                "sequence length: the sequence models truncate them (TF-IDF reads them whole)"
            )
        profile = TextProfile(column).fit(texts[train])
        summary: dict[str, Any] = {
            "text_column": column,
            "tokens_per_text": {
                "mean": round(float(lengths.mean()), 1),
                "p95": int(np.percentile(lengths, 95)),
                "max": int(lengths.max()),
            },
            "truncated_over_longest_length": long,
            "notes": notes,
        }
        return TaskData.from_split(
            split,
            texts[train],
            texts[valid],
            input_shape=(1,),
            spec_extra={
                "p95_tokens": summary["tokens_per_text"]["p95"],
                **({"backbones": backbones} if backbones else {}),
            },
            features=TextFeatures(column),
            summary=summary,
            max_epochs=int(np.clip(300_000 // max(1, len(train)), *MAX_EPOCHS)),
            profile=profile,
            profile_rows=profile.training_rows(texts[train]),
            first_families=("text-backbone",) if backbones else (),
        )
