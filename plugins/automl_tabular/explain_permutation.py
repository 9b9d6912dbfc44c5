"""Permutation SHAP of a tabular model on the table's own columns (``automl.permutation_shap``):
what an ensemble is explained with, on its combined output.

A column is switched off by giving its model-ready columns (a one-hot encoding's levels, a
missing indicator) the values of a background row; the output is averaged over the background
rows (interventional SHAP). All the masked rows of a chunk go to the model in one call, so an
ensemble of tree models costs a few predict calls, not a tree walk per member and row.
"""

from __future__ import annotations

import numpy as np

from automl.plugin import sample_rows, sized_permutation_shap
from automl_tabular.shap_explainers import Attributions

MAX_BATCH = 200_000  # masked rows a model call at most
# background rows a switched-off column takes its values from (at most kernel_background): the
# cost of a row is proportional to it, and an ensemble of two tree models on a busy 2-core
# machine reached 3 rows of 50 in a 4 s allowance with 20
BACKGROUND = 10


def permutation_attributions(  # noqa: PLR0913
    predictor, ptype, x, background, classes, matrix, bounds, deadline, notes
) -> Attributions:
    """SHAP values of ``x`` on the columns of ``matrix`` (model-ready column → table column),
    for each row's explained class, from ``predictor.output``."""
    bg = sample_rows(background, min(BACKGROUND, bounds.kernel_background), bounds.seed)
    columns = np.asarray(matrix, dtype=bool).T  # table column → its model-ready columns

    def evaluate(requests: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        blocks, counts = [], []
        for i, masks in requests:
            kept = masks @ columns if masks.shape[1] else np.zeros((len(masks), x.shape[1]), bool)
            rows = np.where(kept[:, None, :], x[i][None, None, :], bg[None, :, :])
            blocks.append(rows.reshape(-1, x.shape[1]))
            counts.append(len(masks))
        stacked = np.concatenate(blocks).astype(np.float32)
        out = np.concatenate(
            [
                predictor.output(stacked[s : s + MAX_BATCH])
                for s in range(0, len(stacked), MAX_BATCH)
            ]
        )
        found, pos = [], 0
        for (i, _), m in zip(requests, counts, strict=True):
            part = out[pos : pos + m * len(bg)]
            pos += m * len(bg)
            picked = part if part.ndim == 1 else part[:, classes[i]]
            found.append(np.asarray(picked, dtype=np.float64).reshape(m, len(bg)).mean(axis=1))
        return found

    sizes = [columns.shape[0]] * len(x)
    values, base, permutations = sized_permutation_shap(
        sizes,
        evaluate,
        most=bounds.permutations,
        minimum=bounds.min_rows,
        deadline=deadline,
        notes=notes,
        seed=bounds.seed,
    )
    if ptype == "regression":
        space = "value"
    else:
        space = "probability" if predictor.has_proba else "predicted-class indicator"
    algorithm = (
        f"permutation SHAP on the table's columns ({len(bg)} background rows, "
        f"{permutations} antithetic permutation pairs a row)"
    )
    table = np.stack(values) if values else np.zeros((0, columns.shape[0]))
    return Attributions(table, base, space, algorithm, on_columns=True)
