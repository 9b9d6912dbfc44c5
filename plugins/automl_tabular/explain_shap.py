"""Which SHAP explainer explains a tabular model: the tree, linear and gradient explainers for the
models they fit, the bounded KernelExplainer for the rest and when one fails; an ensemble member
by member, a model on pair columns on its own input."""

from __future__ import annotations

from typing import Any

from automl.plugin import ExplainError
from automl_tabular.interactions import PairwiseFeatures
from automl_tabular.shap_explainers import (
    Attributions,
    gradient_shap,
    is_linear,
    kernel_shap,
    linear_shap,
    linear_space,
    tree_shap,
)

TREE_PROBA = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")
TREE_MARGIN = (
    "HistGradientBoostingClassifier",
    "GradientBoostingClassifier",
    "CatBoostClassifier",
)
TREE_REGRESSORS = (
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "DecisionTreeRegressor",
    "HistGradientBoostingRegressor",
    "GradientBoostingRegressor",
    "CatBoostRegressor",
)


def _members(result: Any) -> list[tuple[Any, float, str]]:
    members = getattr(result, "members", None)
    if not members:
        return [(result.predictor, 1.0, result.model_name)]
    return [(m.predictor, float(m.weight), m.family.name) for m in members]


def shap_attributions(result, x, background, classes, bounds, deadline, notes) -> Attributions:
    """SHAP for the result's model; an ensemble's members each on their own, averaged with the
    ensemble's weights."""
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
    return Attributions(values, base, space, "SHAP per ensemble member, weighted")


def _shap_one(  # noqa: PLR0913
    predictor, ptype, x, background, classes, bounds, deadline, notes, same_space=False
) -> Attributions:
    """SHAP for one trained model; ``same_space`` asks for probability (classification) or
    value output, so that members of an ensemble add up. A specific explainer that fails (a
    model version shap does not parse, say) falls back to the bounded KernelExplainer."""
    args = (predictor, ptype, x, background, classes, bounds, deadline, notes)
    try:
        return _specific(*args, same_space=same_space)
    except _NoSpecific as why:
        return kernel_shap(*args, why=str(why))
    except (ImportError, ExplainError):
        raise
    except Exception as exc:
        return kernel_shap(
            *args, why=f"the specific explainer failed ({type(exc).__name__}: {exc})"
        )


class _NoSpecific(Exception):
    """No specific SHAP explainer fits this model (the message says why)."""


def _specific(  # noqa: PLR0913
    predictor, ptype, x, background, classes, bounds, deadline, notes, *, same_space
) -> Attributions:
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
        return tree_shap(estimator, x, classes, space, None, deadline, notes)
    if estimator is not None and kind in TREE_MARGIN:
        if not same_space:
            return tree_shap(estimator, x, classes, "log-odds", None, deadline, notes)
        if ptype == "binary":
            return tree_shap(estimator, x, classes, "probability", background, deadline, notes)
        raise _NoSpecific(f"{kind} gives no probability-space tree explanation for 3+ classes")
    if estimator is not None and is_linear(estimator):
        space = linear_space(estimator, ptype)
        if not same_space or space == "value":
            return linear_shap(estimator, x, background, classes, space, deadline, notes)
        raise _NoSpecific("a linear model's SHAP values are log-odds, not the ensemble's space")
    if module is not None:
        return gradient_shap(predictor, ptype, x, background, classes, bounds, deadline, notes)
    raise _NoSpecific(f"no specific SHAP explainer for {kind}")


def _with_pairs(  # noqa: PLR0913
    predictor, ptype, x, background, classes, bounds, deadline, notes, same_space
) -> Attributions:
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
    return Attributions(
        pairs.fold(wide.values),
        wide.base,
        wide.space,
        wide.algorithm + "; pair columns split evenly between their two columns",
    )
