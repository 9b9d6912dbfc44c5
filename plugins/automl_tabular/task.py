"""The tabular task: tables in, a validated and preprocessed train/valid split out."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.errors import DataError
from automl.targets import prepare_target, split_indices
from automl.task import DataSpec, Task, TaskData
from automl_tabular.inputs import ACCEPTED, accepts, split_target
from automl_tabular.preprocessing import TabularPreprocessor
from automl_tabular.profile import TabularProfile

MAX_EPOCHS = 60


class TabularTask(Task):
    name = "tabular"
    modality = "table"
    cv_max_rows = 4000  # small tables: a 20% holdout is too few rows to rank trials on

    def accepts(self, dataset: Any, target: Any = None) -> float:
        return accepts(dataset, target)

    def describe_input(self) -> str:
        return ACCEPTED

    def explainer(self):
        from automl_tabular.explain import TabularExplainer

        return TabularExplainer()

    def parse_rows(self, payload: Any, features: Any) -> Any:
        from automl_tabular.profile import rows_from_json

        return rows_from_json(payload, features)

    def describe_features(self, features: Any) -> list[dict[str, Any]]:
        from automl_tabular.profile import describe_columns

        return describe_columns(features)

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
        **options: Any,
    ) -> TaskData:
        if options:
            raise TypeError(f"the tabular task takes no option(s) {sorted(options)}")
        frame, y = split_target(dataset, target)
        if len(frame) == 0:
            raise DataError("the data is empty: no rows to learn from; pass at least a few rows")
        y_enc, encoder, ptype, reason = prepare_target(y, problem_type)
        train, valid = split_indices(y_enc, ptype, valid_fraction, seed)
        pre = TabularPreprocessor().fit(frame.iloc[train])
        x_train = pre.transform(frame.iloc[train])
        x_valid = pre.transform(frame.iloc[valid])
        profile = TabularProfile(pre).fit(frame.iloc[train])
        n_outputs = 1 if ptype == "regression" else len(encoder.classes)
        summary: dict[str, Any] = {
            "rows": len(frame),
            "columns": frame.shape[1],
            "features": x_train.shape[1],
            "train_rows": len(train),
            "valid_rows": len(valid),
            "missing_values": pre.missing_counts,
            "notes": pre.notes,
        }
        if ptype != "regression":
            counts = np.bincount(y_enc, minlength=n_outputs)
            summary["class_counts"] = {str(c): int(n) for c, n in zip(encoder.classes, counts)}
        return TaskData(
            task=self.name,
            problem_type=ptype,
            problem_type_reason=reason,
            x_train=x_train,
            y_train=y_enc[train],
            x_valid=x_valid,
            y_valid=y_enc[valid],
            spec=DataSpec((x_train.shape[1],), n_outputs, ptype),
            features=pre,
            target=encoder,
            summary=summary,
            max_epochs=MAX_EPOCHS,
            profile=profile,
            profile_rows=profile.measure(frame.iloc[train]),
            raw_valid=frame.iloc[valid],
        )
