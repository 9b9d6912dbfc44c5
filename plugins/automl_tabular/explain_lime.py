"""LIME on tabular models: ``LimeTabularExplainer`` with one-hot and missing-indicator columns
treated as categorical."""

from __future__ import annotations

import numpy as np

from automl.plugin import ExplainError, LimeRow, lime_row, lime_rows


def lime_attributions(result, x, background, classes, view, bounds, deadline, notes):
    from lime.lime_tabular import LimeTabularExplainer

    ptype = result.problem_type
    predictor = result.predictor
    if ptype != "regression" and not predictor.has_proba:
        raise ExplainError(
            f"LIME needs class probabilities; model {result.model_name!r} gives none "
            "(its estimator has no predict_proba)"
        )
    regression = ptype == "regression"
    explainer = LimeTabularExplainer(
        np.asarray(background, dtype=np.float64),
        mode="regression" if regression else "classification",
        feature_names=view.model_names,
        categorical_features=view.categorical,
        class_names=None if regression else [str(c) for c in result.classes_ or []],
        discretize_continuous=True,
        feature_selection="none",
        random_state=bounds.seed,
    )
    width = x.shape[1]

    def predict(z: np.ndarray) -> np.ndarray:
        return predictor.output(np.asarray(z, dtype=np.float32))

    def explain_row(i: int, samples: int) -> LimeRow:
        label = 1 if regression else int(classes[i])
        exp = explainer.explain_instance(
            x[i].astype(np.float64),
            predict,
            labels=(label,),
            num_features=width,
            num_samples=samples,
        )
        return lime_row(exp, label, width)

    rows = lime_rows(
        explain_row,
        len(x),
        deadline,
        notes,
        samples=bounds.lime_samples,
        minimum=bounds.min_examples,
    )
    notes.append(
        f"LIME: up to {bounds.lime_samples} perturbed samples a row, numeric columns discretised "
        "into quartiles; a weight is what the row's bin or level adds to the local linear model"
    )
    labels = [1 if regression else int(classes[i]) for i in range(len(rows))]
    predicted = [
        r.explanation.predicted_value if regression else r.explanation.predict_proba[label]
        for r, label in zip(rows, labels, strict=True)
    ]
    return (
        np.stack([r.weights for r in rows]),
        np.array([r.intercept for r in rows], dtype=np.float64),
        np.array(predicted, dtype=np.float64),
        np.array([r.score for r in rows], dtype=np.float64),
    )
