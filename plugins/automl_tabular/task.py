"""The tabular task: tables in, a validated and preprocessed train/valid split out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import (
    DataError,
    ParameterError,
    RowFormat,
    Task,
    TaskData,
    check_keywords,
    check_task_options,
)
from automl.plugin import split_target as split_train_valid
from automl_tabular.inputs import ACCEPTED, accepts, split_target
from automl_tabular.preprocessing import TabularPreprocessor, column_names
from automl_tabular.profile import TabularProfile

MAX_EPOCHS = 60
# rows as a fidelity (automl.row_rungs): on a training split of more than 1.5 times this many
# rows, trials start on this many and the promising ones move on to more
ROW_RUNGS_FROM = 50_000
MIN_RUNG_ROWS = 100
# the drift reference's statistics (deciles, level shares) come from a seeded sample of this
# many training rows: kept until the end of the fit, 4M rows of them held 400 MB
PROFILE_ROWS = 200_000


class TabularTask(Task):
    name = "tabular"
    cv_max_rows = 4000  # small tables: a 20% holdout is too few rows to rank trials on

    def accepts(self, dataset: Any, target: Any = None) -> float:
        return accepts(dataset, target)

    def describe_input(self) -> str:
        return ACCEPTED

    def explainer(self):
        from automl_tabular.explain import TabularExplainer

        return TabularExplainer()

    def feature_importance(self, result: Any, data: Any, y: Any, **options: Any) -> pd.DataFrame:
        from automl_tabular.importance import permutation_importance

        check_keywords(permutation_importance, options, "feature_importance")
        return permutation_importance(result, data, y, **options)

    def parse_rows(self, payload: Any, features: Any) -> Any:
        from automl_tabular.profile import rows_from_json

        return rows_from_json(payload, features)

    def describe_features(self, features: Any) -> list[dict[str, Any]]:
        from automl_tabular.profile import describe_columns

        return describe_columns(features)

    def row_format(self, features: Any) -> RowFormat:
        from automl_tabular.row_format import row_format

        return row_format(features)

    def exporter(self):
        from automl_tabular.export import TabularExporter

        return TabularExporter()

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
        check_task_options(self.name, options, {"row_rungs_from": None})
        row_rungs_from = _rung_rows(options.get("row_rungs_from", ROW_RUNGS_FROM))
        frame, y = split_target(dataset, target)
        if len(frame) == 0:
            raise DataError("the data is empty: no rows to learn from; pass at least a few rows")
        n_given = 0
        if valid is not None:
            frame, y, n_given = _with_valid(frame, y, valid, target)
        split = split_train_valid(y, problem_type, valid_fraction, seed, n_given_valid=n_given)
        train, valid_rows = split.train, split.valid
        rows = frame.iloc[train]  # taken once: a copy of the table's training rows
        pre = TabularPreprocessor().fit(rows, split.y[train], split.problem_type)
        x_train = pre.transform(rows)
        profile = TabularProfile(pre).fit(rows)
        profile_rows = profile.measure(_sample(rows, PROFILE_ROWS, seed))
        del rows  # the training rows' copy: the model-ready matrix holds what trials need
        raw_valid = frame.iloc[valid_rows].reset_index(drop=True)
        x_valid = pre.transform(raw_valid)
        summary: dict[str, Any] = {
            "columns": frame.shape[1],
            "features": x_train.shape[1],
            "missing_values": pre.missing_counts,
            "notes": list(pre.notes),
        }
        return TaskData.from_split(
            split,
            x_train,
            x_valid,
            input_shape=(x_train.shape[1],),
            features=pre,
            summary=summary,
            max_epochs=MAX_EPOCHS,
            raw_valid=raw_valid,
            profile=profile,
            profile_rows=profile_rows,
            row_rungs_from=row_rungs_from,
        )


def _sample(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` of ``rows`` (seeded, in their order), or all of them when there are no more."""
    if len(rows) <= n:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
    return rows.iloc[keep]


def _rung_rows(value: Any) -> int | None:
    """The ``row_rungs_from`` option: a whole number of rows, or None (every trial on all)."""
    if value is None:
        return None
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not whole or value < MIN_RUNG_ROWS:
        raise ParameterError(
            f"row_rungs_from must be a whole number of rows >= {MIN_RUNG_ROWS} (the rows trials "
            f"start on, on a large table; default {ROW_RUNGS_FROM}) or None to train every "
            f"trial on all rows; got {value!r}"
        )
    return value


def _with_valid(frame: pd.DataFrame, y: Any, valid: Any, target: Any) -> tuple:
    """The training rows followed by the caller's validation rows (a DataFrame with the target
    column, or an (X, y) pair), their columns matched by name."""
    frame_v, y_v = split_target(valid, target if not isinstance(valid, tuple) else None)
    names, names_v = column_names(frame), column_names(frame_v)
    missing = [n for n in names if n not in names_v]
    if missing:
        raise DataError(
            f"the validation data lacks column(s) of the training data: {missing[:10]}; pass "
            "the same columns"
        )
    frame_v = frame_v.set_axis(names_v, axis=1)[names].set_axis(frame.columns, axis=1)
    rows = pd.concat([frame, frame_v], ignore_index=True)
    labels = pd.concat([pd.Series(y).reset_index(drop=True), pd.Series(y_v)], ignore_index=True)
    return rows, labels, len(frame_v)
