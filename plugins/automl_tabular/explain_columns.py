"""Model-ready columns → the table's own columns, for explanations: which model-ready columns
came from one input column, their names, and the rows as they read in the table."""

from __future__ import annotations

from typing import Any

import numpy as np


class FeatureView:
    """Model-ready columns → the table's columns (grouping matrix, names, readable values)."""

    def __init__(self, features: Any, width: int) -> None:
        from automl_tabular.preprocessing import TabularPreprocessor, source_columns

        self.pre = features if isinstance(features, TabularPreprocessor) else None
        if self.pre is not None:
            sources = source_columns(self.pre)
            self.model_names = list(self.pre.feature_names)
            self.names = list(dict.fromkeys(sources))
            self.categorical = [
                i
                for i, (name, src) in enumerate(zip(self.model_names, sources))
                if name.startswith(f"{src}=") or name == f"{src}.missing"
            ]
        else:
            names = list(getattr(features, "feature_names", []) or [])
            sources = names if len(names) == width else [f"x{i}" for i in range(width)]
            self.model_names, self.names, self.categorical = sources, list(sources), []
        index = {name: j for j, name in enumerate(self.names)}
        self.matrix = np.zeros((width, len(self.names)))
        self.matrix[np.arange(width), [index[s] for s in sources]] = 1.0

    def group(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(-1, self.matrix.shape[0]) @ self.matrix

    def readable(self, x: np.ndarray):
        import pandas as pd

        if self.pre is not None:
            from automl_tabular.preprocessing import readable_rows

            return readable_rows(self.pre, x)
        return (
            pd.DataFrame([[f"{v:.3g}" for v in row] for row in x], columns=self.names),
            np.asarray(x, dtype=np.float64),
        )
