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
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.explain import (
    ExplainBounds,
    Explainer,
    ExplainError,
    Explanation,
    explained_class,
    output_label,
    run_chunks,
    sample_rows,
)
from automl_tabular.interactions import PairwiseFeatures

TREE_PROBA = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")
TREE_MARGIN = ("HistGradientBoostingClassifier", "GradientBoostingClassifier")
TREE_REGRESSORS = (
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "DecisionTreeRegressor",
    "HistGradientBoostingRegressor",
    "GradientBoostingRegressor",
)
GRADIENT_BACKGROUND = 100  # the shap authors' advice for GradientExplainer / DeepExplainer
CHUNK = 25
DELETION_SHARE = 0.20  # of the table's columns
OUTPUT_SPACES = ("probability", "value", "predicted-class indicator")  # what output() returns


@dataclass
class _Attributions:
    """SHAP on model-ready columns, for the rows explained so far."""

    values: np.ndarray  # (n, F)
    base: np.ndarray  # (n,)
    space: str
    algorithm: str


class TabularExplainer(Explainer):
    """SHAP and LIME for the tabular task's models (see the module docstring)."""

    about = (
        "Attributions of model-ready columns that come from one input column (one-hot levels, "
        "missing indicators, date parts) are summed onto that column."
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
        x = np.asarray(x, dtype=np.float32)
        background = np.asarray(background, dtype=np.float32)
        if len(x) == 0:
            raise ExplainError("no rows to explain")
        view = _FeatureView(result.features, x.shape[1])
        output = result.predictor.output(x)
        classes = explained_class(output, result.problem_type, positive=result.positive)
        notes: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "shap":
                found = _shap(result, x, background, classes, bounds, deadline, notes)
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
            elif method == "lime":
                values, base, predictions, local_fit = _lime(
                    result, x, background, classes, view, bounds, deadline, notes
                )
                n, algorithm = len(values), "LimeTabularExplainer"
                space = "value" if result.problem_type == "regression" else "probability"
            else:
                raise ExplainError(f"unknown method {method!r}; the tabular task knows shap, lime")
        display, colour = view.readable(x[:n])
        grouped = view.group(values)
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
    from automl.faithfulness import deletion_check

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


class _FeatureView:
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


# -- SHAP -----------------------------------------------------------------------------------------
def _members(result: Any) -> list[tuple[Any, float, str]]:
    members = getattr(result, "members", None)
    if not members:
        return [(result.predictor, 1.0, result.model_name)]
    return [(m.predictor, float(m.weight), m.family.name) for m in members]


def _shap(result, x, background, classes, bounds, deadline, notes) -> _Attributions:
    members = _members(result)
    ptype = result.problem_type
    if len(members) == 1:
        return _shap_one(members[0][0], ptype, x, background, classes, bounds, deadline, notes)
    total = sum(w for _, w, _ in members)
    parts, algorithms = [], []
    for predictor, weight, name in members:
        found = _shap_one(
            predictor, ptype, x, background, classes, bounds, deadline, notes, same_space=True
        )
        parts.append((found, weight / total))
        algorithms.append(f"{name}: {found.algorithm}")
    n = min(len(f.values) for f, _ in parts)
    values = sum(w * f.values[:n] for f, w in parts)
    base = sum(w * f.base[:n] for f, w in parts)
    space = parts[0][0].space
    notes.append(
        "ensemble: each member explained on its own, attributions averaged with the ensemble "
        "weights (" + "; ".join(algorithms) + ")"
    )
    return _Attributions(values, base, space, "SHAP per ensemble member, weighted")


def _shap_one(
    predictor, ptype, x, background, classes, bounds, deadline, notes, same_space=False
) -> _Attributions:
    """SHAP for one trained model; ``same_space`` asks for probability (classification) or
    value output, so that members of an ensemble add up. A specific explainer that fails (a
    model version shap does not parse, say) falls back to the bounded KernelExplainer."""
    args = (predictor, ptype, x, background, classes, bounds, deadline, notes)
    try:
        return _specific(*args, same_space=same_space)
    except _NoSpecific as why:
        return _kernel(*args, why=str(why))
    except (ImportError, ExplainError):
        raise
    except Exception as exc:
        return _kernel(*args, why=f"the specific explainer failed ({type(exc).__name__}: {exc})")


class _NoSpecific(Exception):
    """No specific SHAP explainer fits this model (the message says why)."""


def _specific(
    predictor, ptype, x, background, classes, bounds, deadline, notes, *, same_space
) -> _Attributions:
    featurized = hasattr(predictor, "featurizer")
    if featurized and isinstance(predictor.featurizer, PairwiseFeatures):
        return _with_pairs(
            predictor, ptype, x, background, classes, bounds, deadline, notes, same_space
        )
    estimator = None if featurized else getattr(predictor, "estimator", None)
    module = None if featurized else getattr(predictor, "module", None)
    kind = type(estimator if estimator is not None else predictor).__name__
    if estimator is not None and kind in TREE_PROBA + TREE_REGRESSORS:
        space = "value" if ptype == "regression" else "probability"
        return _tree(estimator, x, classes, space, None, deadline, notes)
    if estimator is not None and kind in TREE_MARGIN:
        if not same_space:
            return _tree(estimator, x, classes, "log-odds", None, deadline, notes)
        if ptype == "binary":
            return _tree(estimator, x, classes, "probability", background, deadline, notes)
        raise _NoSpecific(f"{kind} gives no probability-space tree explanation for 3+ classes")
    if estimator is not None and _is_linear(estimator):
        space = _linear_space(estimator, ptype)
        if not same_space or space == "value":
            return _linear(estimator, x, background, classes, space, deadline, notes)
        raise _NoSpecific("a linear model's SHAP values are log-odds, not the ensemble's space")
    if module is not None:
        return _gradient(predictor, ptype, x, background, classes, bounds, deadline, notes)
    raise _NoSpecific(f"no specific SHAP explainer for {kind}")


def _with_pairs(
    predictor, ptype, x, background, classes, bounds, deadline, notes, same_space
) -> _Attributions:
    """A model on pairwise columns (``pairs``): explained on its own input, then each pair
    column's attribution is split evenly between its two source columns, so the attributions
    still add up to the output (an even split is a convention, not a Shapley value)."""
    pairs = predictor.featurizer
    wide = _specific(
        predictor.inner,
        ptype,
        pairs.transform(x),
        None if background is None else pairs.transform(background),
        classes,
        bounds,
        deadline,
        notes,
        same_space=same_space,
    )
    return _Attributions(
        pairs.fold(wide.values),
        wide.base,
        wide.space,
        wide.algorithm + "; pair columns split evenly between their two columns",
    )


def _pick(values: Any, expected: Any, classes: np.ndarray, columns: list[int] | None) -> tuple:
    """Per row, the attributions and base value of the explained class.

    ``values``: (n, F) for one output (regression, or the positive class of a binary margin
    model) or (n, F, K) / a list of K (n, F) arrays; ``columns`` maps class index → output index
    of the explainer (None: the same)."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=np.float64)
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    n = len(values)
    if values.ndim == 2 or (values.ndim == 3 and values.shape[2] == 1):
        values = values.reshape(n, -1)
        return values, np.full(n, expected.reshape(-1)[-1] if expected.size > 1 else expected[0])
    cols = classes[:n] if columns is None else np.asarray([columns[c] for c in classes[:n]])
    picked = np.zeros(values.shape[:2])
    base = np.zeros(n)
    ok = cols >= 0
    picked[ok] = values[np.flatnonzero(ok), :, cols[ok]]
    base[ok] = expected[cols[ok]]
    return picked, base


def _class_columns(estimator: Any, n_classes: int) -> list[int] | None:
    """Class index → the estimator's output column (-1: a class it never saw in training)."""
    seen = [int(c) for c in getattr(estimator, "classes_", [])]
    if not seen or seen == list(range(n_classes)):
        return None
    return [seen.index(c) if c in seen else -1 for c in range(n_classes)]


def _tree(estimator, x, classes, space, background, deadline, notes) -> _Attributions:
    import shap

    if background is None:
        explainer = shap.TreeExplainer(estimator)  # path-dependent: exact, no background
        algorithm = "TreeExplainer (path-dependent)"
    else:
        explainer = shap.TreeExplainer(
            estimator,
            data=background,
            model_output="probability",
            feature_perturbation="interventional",
        )
        algorithm = f"TreeExplainer (interventional, {len(background)} background rows)"
    n_classes = int(classes.max(initial=0)) + 1
    columns = _class_columns(estimator, max(n_classes, len(getattr(estimator, "classes_", []))))

    def run(start: int, stop: int):
        raw = explainer.shap_values(x[start:stop], check_additivity=False)
        return _pick(raw, explainer.expected_value, classes[start:stop], columns)

    pieces, _ = run_chunks(run, len(x), deadline, 4 * CHUNK, notes, "TreeExplainer")
    return _Attributions(*_concat(pieces), space, algorithm)


def _is_linear(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("sklearn.linear_model") and hasattr(
        estimator, "coef_"
    )


def _linear_space(estimator: Any, ptype: str) -> str:
    if ptype == "regression":
        return "value"
    return "log-odds" if hasattr(estimator, "predict_proba") else "decision score"


def _linear(estimator, x, background, classes, space, deadline, notes) -> _Attributions:
    import shap

    explainer = shap.LinearExplainer(estimator, background)
    columns = _class_columns(estimator, int(classes.max(initial=0)) + 1)

    def run(start: int, stop: int):
        raw = explainer.shap_values(x[start:stop])
        return _pick(raw, explainer.expected_value, classes[start:stop], columns)

    pieces, _ = run_chunks(run, len(x), deadline, 4 * CHUNK, notes, "LinearExplainer")
    algorithm = f"LinearExplainer ({len(background)} background rows)"
    return _Attributions(*_concat(pieces), space, algorithm)


def _gradient(predictor, ptype, x, background, classes, bounds, deadline, notes) -> _Attributions:
    import shap
    import torch

    wrapped = _OutputModule.make(predictor, ptype)
    device = next(predictor.module.parameters()).device
    bg = sample_rows(background, min(bounds.background, GRADIENT_BACKGROUND), bounds.seed)
    bg_t = torch.as_tensor(bg, dtype=torch.float32, device=device)
    explainer = shap.GradientExplainer(wrapped, bg_t, batch_size=2048)
    with torch.no_grad():
        expected = wrapped(bg_t).float().mean(dim=0).cpu().numpy()

    def run(start: int, stop: int):
        chunk = torch.as_tensor(x[start:stop], dtype=torch.float32, device=device)
        raw = explainer.shap_values(chunk, nsamples=bounds.gradient_samples, rseed=bounds.seed)
        return _pick(raw, expected, classes[start:stop], None)

    try:
        pieces, _ = run_chunks(run, len(x), deadline, CHUNK, notes, "GradientExplainer")
    finally:
        predictor.module.eval()
    algorithm = (
        f"GradientExplainer (expected gradients, {len(bg)} background rows, "
        f"{bounds.gradient_samples} samples a row)"
    )
    space = "value" if ptype == "regression" else "probability"
    return _Attributions(*_concat(pieces), space, algorithm)


class _OutputModule:
    """The torch module with the predictor's output head: softmax, or the target's scale."""

    @staticmethod
    def make(predictor: Any, ptype: str) -> Any:
        from torch import nn

        class Wrapped(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = predictor.module

            def forward(self, x):
                out = self.inner(x).float()
                if ptype == "regression":
                    return out.reshape(-1, 1) * predictor.y_std + predictor.y_mean
                return out.softmax(dim=1)

        return Wrapped().eval()


def _kernel(predictor, ptype, x, background, classes, bounds, deadline, notes, *, why):
    import shap

    bg = sample_rows(background, bounds.kernel_background, bounds.seed)
    explainer = shap.KernelExplainer(predictor.output, bg, silent=True)
    limit = min(len(x), bounds.kernel_rows)
    if limit < len(x):
        notes.append(f"KernelExplainer: bounded to {limit} of {len(x)} rows (kernel_rows)")

    def run(start: int, stop: int):
        raw = explainer.shap_values(
            x[start:stop], nsamples=bounds.kernel_samples, silent=True, l1_reg=False
        )
        return _pick(raw, explainer.expected_value, classes[start:stop], None)

    pieces, _ = run_chunks(run, limit, deadline, 2, notes, "KernelExplainer")
    notes.append(f"KernelExplainer used as the bounded fallback: {why}")
    if ptype == "regression":
        space = "value"
    else:
        space = "probability" if predictor.has_proba else "predicted-class indicator"
    algorithm = (
        f"KernelExplainer ({len(bg)} background rows, {bounds.kernel_samples} coalitions a row)"
    )
    return _Attributions(*_concat(pieces), space, algorithm)


def _concat(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])


# -- LIME -----------------------------------------------------------------------------------------
def _lime(result, x, background, classes, view, bounds, deadline, notes):
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

    def run(start: int, stop: int):
        rows = []
        for i in range(start, stop):
            label = 1 if regression else int(classes[i])
            exp = explainer.explain_instance(
                x[i].astype(np.float64),
                predict,
                labels=(label,),
                num_features=width,
                num_samples=bounds.lime_samples,
            )
            weights = np.zeros(width)
            for j, w in exp.local_exp[label]:
                weights[j] = w
            predicted = exp.predicted_value if regression else exp.predict_proba[label]
            rows.append((weights, exp.intercept[label], predicted, exp.score))
        return rows

    pieces, _ = run_chunks(run, len(x), deadline, 1, notes, "LIME")
    rows = [r for piece in pieces for r in piece]
    notes.append(
        f"LIME: {bounds.lime_samples} perturbed samples a row, numeric columns discretised into "
        "quartiles; a weight is what the row's bin or level adds to the local linear model"
    )
    return (
        np.stack([r[0] for r in rows]),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.float64),
    )
