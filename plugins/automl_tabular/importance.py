"""Permutation importance of a table's input columns (AutoGluon's ``feature_importance``).

Each column of the raw rows is shuffled in turn and the rows scored again with the search
metric: the drop (for a metric where larger is better; the rise otherwise) is what the model
loses without that column. Computed on the rows given (held-out rows, not the training ones),
through the whole predict path, so preprocessing and pair columns are part of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.plugin import ParameterError


def permutation_importance(
    result: Any,
    data: Any,
    y: Any,
    *,
    n_repeats: int = 5,
    seed: int = 0,
    sample_weight: Any = None,
    metric: Any = None,
) -> pd.DataFrame:
    """A row per input column, most important first: importance (mean drop of the metric),
    stddev over the ``n_repeats`` shuffles, and n."""
    if int(n_repeats) < 1:
        raise ParameterError(f"n_repeats must be a positive integer; got {n_repeats}")
    pre = result.features
    frame = pre._frame(data).reset_index(drop=True)
    y_enc, base_output = result._labelled(frame, y)
    scorer = result._metric(metric)
    sign = 1.0 if scorer.direction == "maximize" else -1.0
    base = scorer(y_enc, base_output, sample_weight)
    rng = np.random.default_rng(seed)
    rows = []
    for column in pre.input_columns:
        drops = []
        for _ in range(int(n_repeats)):
            shuffled = frame.copy()
            shuffled[column] = rng.permutation(shuffled[column].to_numpy())
            score = scorer(y_enc, result.predictor.output(pre.transform(shuffled)), sample_weight)
            drops.append(sign * (base - score))
        rows.append(
            {
                "feature": column,
                "importance": float(np.mean(drops)),
                "stddev": float(np.std(drops, ddof=1)) if len(drops) > 1 else 0.0,
                "n": len(drops),
            }
        )
    table = pd.DataFrame(rows).set_index("feature")
    return table.sort_values("importance", ascending=False)
