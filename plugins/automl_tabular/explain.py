"""Explanations of tabular models, on the table's original columns.

SHAP: ``TreeExplainer`` for the tree families (path-dependent, no background needed),
``LinearExplainer`` for linear models, ``GradientExplainer`` (expected gradients, ≤ 100
background rows) for the torch MLP, and a bounded ``KernelExplainer`` for anything else. LIME:
``LimeTabularExplainer`` with one-hot and missing-indicator columns treated as categorical.

Both run on the model-ready columns; attributions of the columns that came from one input column
(the levels of a one-hot encoding, a missing indicator, the parts of a date) are summed back onto
that column, so explanations name the table's own columns. An ensemble is explained member by
member in probability (or value) space and the members' attributions are averaged with the
ensemble's weights — SHAP values are additive in the model, so that is the ensemble's.

``predictions`` is the model's own output for the explained class; the sampling explainers
(expected gradients, the kernel fallback) add up to it only approximately, and the report shows
the gap. Faithfulness: the deletion check sets a row's top 20% columns (or random ones) to the
background rows' mean (``automl.faithfulness``).

The parts: ``explain_columns`` (model-ready columns → the table's), ``explain_shap`` (which SHAP
explainer for which model; ensembles, pair columns), ``shap_explainers`` (one function a SHAP
explainer) and ``explain_lime``.
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
    explained_class,
    output_label,
)
from automl_tabular.explain_columns import FeatureView
from automl_tabular.explain_lime import lime_attributions
from automl_tabular.explain_shap import members_of, shap_attributions

DELETION_SHARE = 0.20  # of the table's columns
OUTPUT_SPACES = ("probability", "value", "predicted-class indicator")  # what output() returns


class TabularExplainer(Explainer):
    """SHAP and LIME for the tabular task's models (see the module docstring)."""

    about = (
        "Attributions of model-ready columns that come from one input column (one-hot levels, "
        "missing indicators, date parts) are summed onto that column."
    )

    def prepare(self, result: Any) -> None:
        """One model is explained with the shap library's explainers (an ensemble by the
        core's permutation SHAP, which needs no shap): import it now."""
        if len(members_of(result)) == 1:
            import shap  # noqa: F401

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
        x = np.asarray(x, dtype=np.float32)
        background = np.asarray(background, dtype=np.float32)
        if len(x) == 0:
            raise ExplainError("no rows to explain")
        view = FeatureView(result.features, x.shape[1])
        output = result.predictor.output(x)
        classes = explained_class(output, result.problem_type, positive=result.positive)
        notes: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "shap":
                found = shap_attributions(
                    result, x, background, classes, view, bounds, deadline, notes
                )
                n = len(found.values)
                values, base, space, algorithm = (
                    found.values,
                    found.base,
                    found.space,
                    found.algorithm,
                )
                if space in OUTPUT_SPACES:  # the model's own output, which sampling approximates
                    predictions = _picked(output[:n], classes[:n])
                else:  # an exact margin explainer: its values add up to the margin
                    predictions = base + values.sum(axis=1)
                local_fit = None
                on_columns = found.on_columns
            elif method == "lime":
                values, base, predictions, local_fit = lime_attributions(
                    result, x, background, classes, view, bounds, deadline, notes
                )
                n, algorithm = len(values), "LimeTabularExplainer"
                space = "value" if result.problem_type == "regression" else "probability"
                on_columns = False
            else:
                raise ExplainError(f"unknown method {method!r}; the tabular task knows shap, lime")
        display, colour = view.readable(x[:n])
        grouped = np.asarray(values, dtype=np.float64) if on_columns else view.group(values)
        share = bounds.deletion_share or DELETION_SHARE
        deletion = _deletion(result, x[:n], background, grouped, classes[:n], view, share, bounds)
        notes.append(deletion.summary(method.upper()))
        return Explanation(
            method=method,
            algorithm=algorithm,
            feature_names=view.names,
            values=grouped,
            base_values=np.asarray(base, dtype=np.float64),
            predictions=np.asarray(predictions, dtype=np.float64),
            output=[output_label(result, int(c)) for c in classes[:n]],
            output_space=space,
            rows=np.arange(n),
            display=display,
            colour=colour,
            local_fit=local_fit,
            notes=notes,
            seconds=time.monotonic() - started,
            deletion=deletion,
        )


def _picked(output: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each row's output for its explained class (the value itself for regression)."""
    output = np.asarray(output, dtype=np.float64)
    return output if output.ndim == 1 else output[np.arange(len(output)), classes]


def _deletion(result, x, background, grouped, classes, view, share, bounds):
    """The deletion check on the table's columns: a removed column's model-ready columns are
    set to the background rows' mean."""
    from automl.plugin import deletion_check

    fill = np.asarray(background, dtype=np.float32).mean(axis=0)
    members = [np.flatnonzero(view.matrix[:, j]) for j in range(view.matrix.shape[1])]

    def remove(i: int, columns: np.ndarray) -> np.ndarray:
        row = x[i].copy()
        for j in columns:
            row[members[j]] = fill[members[j]]
        return row

    def score(rows: list[np.ndarray], which: np.ndarray) -> np.ndarray:
        return _picked(result.predictor.output(np.stack(rows)), classes[which])

    return deletion_check(list(grouped), remove, score, share=share, seed=bounds.seed)
