"""The text task: texts and labels in, a validated train/valid split of cleaned strings out.

Each model family brings its own tokeniser (a ``Featurizer``), which the core fits on the
training rows of each trial; the task itself only validates, cleans and splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.errors import DataError
from automl.targets import prepare_target, split_indices
from automl.task import DataSpec, FeatureEncoder, Task, TaskData
from automl_text.groups import containment_groups, grouped_split
from automl_text.inputs import ACCEPTED, accepts, clean_texts, split_text_input
from automl_text.profile import TextProfile
from automl_text.tokenize import words

MAX_EPOCHS = (6, 20)  # fewer passes over bigger sets: from-scratch text models peak early
LONGEST_SEARCHED = 256  # the longest sequence length any family searches (tokens)
OPTIONS = ("text_column", "empty_texts", "group_texts")


class TextFeatures(FeatureEncoder):
    """Predict-time input to a cleaned object array of strings: a string, a list/array/Series
    of strings, or a DataFrame holding the training text column (or a single column)."""

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
            if self.column is not None and self.column in raw.columns:
                raw = raw[self.column]
            elif raw.shape[1] == 1:
                raw = raw.iloc[:, 0]
            else:
                raise DataError(
                    f"the text column {self.column!r} is not in the data; columns: "
                    f"{list(raw.columns)[:20]}"
                )
        if not isinstance(raw, (list, tuple, np.ndarray, pd.Series)):
            raise DataError(
                f"predict takes a string, a list/array/Series of strings or a DataFrame with "
                f"the text column; got {type(raw).__name__}"
            )
        texts, _ = clean_texts(raw, where="the input")
        return texts

    def describe_missing(self) -> dict[str, str]:
        return {self.column or "text": "missing texts are read as empty strings (with a warning)"}


class TextTask(Task):
    name = "text"
    modality = "text"

    def accepts(self, dataset: Any, target: Any = None) -> float:
        return accepts(dataset, target)

    def describe_input(self) -> str:
        return ACCEPTED

    def parse_rows(self, payload: Any, features: Any) -> Any:
        from automl_text.profile import texts_from_json

        return texts_from_json(payload)

    def describe_features(self, features: Any) -> list[dict[str, Any]]:
        name = features.column or "text"
        return [{"name": name, "type": "text", "detail": "a string"}]

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
        **options: Any,
    ) -> TaskData:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError(f"the text task takes no option(s) {unknown}; it knows {OPTIONS}")
        empty_texts = options.get("empty_texts", "warn")
        if empty_texts not in ("warn", "error"):
            raise ValueError(f"empty_texts must be 'warn' or 'error'; got {empty_texts!r}")
        raw, y, column, notes = split_text_input(dataset, target, options.get("text_column"))
        if len(raw) == 0:
            raise DataError("the data is empty: no texts to learn from; pass at least a few rows")
        texts, clean_notes = clean_texts(raw, empty_texts=empty_texts)
        notes += clean_notes
        y_enc, encoder, ptype, reason = prepare_target(y, problem_type)
        train, valid = split_indices(y_enc, ptype, valid_fraction, seed)
        row_groups = None
        if options.get("group_texts", True):
            groups, note = containment_groups(texts)
            if len(np.unique(groups)) < len(groups):
                train, valid = grouped_split(y_enc, groups, ptype, valid_fraction, seed)
                notes.append(note)
                _check_classes(y_enc, train, valid, ptype)
                row_groups = np.concatenate([groups[train], groups[valid]])
        lengths = np.array([len(words(t)) for t in texts[train]])
        long = int((lengths > LONGEST_SEARCHED).sum())
        if long:
            notes.append(
                f"{long} training text(s) exceed {LONGEST_SEARCHED} tokens, the longest searched "
                "sequence length: the sequence models truncate them (TF-IDF reads them whole)"
            )
        n_outputs = 1 if ptype == "regression" else len(encoder.classes)
        profile = TextProfile(column).fit(texts[train])
        summary: dict[str, Any] = {
            "rows": len(texts),
            "text_column": column,
            "train_rows": len(train),
            "valid_rows": len(valid),
            "tokens_per_text": {
                "mean": round(float(lengths.mean()), 1),
                "p95": int(np.percentile(lengths, 95)),
                "max": int(lengths.max()),
            },
            "truncated_over_longest_length": long,
            "notes": notes,
        }
        if ptype != "regression":
            counts = np.bincount(y_enc, minlength=n_outputs)
            summary["class_counts"] = {str(c): int(n) for c, n in zip(encoder.classes, counts)}
        return TaskData(
            task=self.name,
            problem_type=ptype,
            problem_type_reason=reason,
            x_train=texts[train],
            y_train=y_enc[train],
            x_valid=texts[valid],
            y_valid=y_enc[valid],
            spec=DataSpec(
                (1,), n_outputs, ptype, {"p95_tokens": summary["tokens_per_text"]["p95"]}
            ),
            features=TextFeatures(column),
            target=encoder,
            summary=summary,
            max_epochs=int(np.clip(300_000 // max(1, len(train)), *MAX_EPOCHS)),
            groups=row_groups,
            profile=profile,
            profile_rows=profile.training_rows(texts[train]),
        )


def _check_classes(y: np.ndarray, train: np.ndarray, valid: np.ndarray, ptype: str) -> None:
    if ptype == "regression":
        return
    for name, rows in (("training", train), ("validation", valid)):
        absent = sorted(set(np.unique(y)) - set(np.unique(y[rows])))
        if absent:
            raise DataError(
                f"the {name} split has no text of class code(s) {absent}: their texts all sit in "
                "groups of texts contained in one another. Pass more texts of those classes, or "
                "group_texts=False to split texts one by one"
            )
