"""Which SHAP explainer explains a tabular model: the tree, linear and gradient explainers for the
models they fit, the bounded KernelExplainer for the rest and when one fails; an ensemble by
permutation SHAP on its combined output, a model on pair columns on its own input; a forest
whose exact tree SHAP would not reach ``ExplainBounds.min_rows`` rows in time (deep trees: 2.3 s
a row for 300 trees on adult) by permutation SHAP too, sized to reach them."""

from __future__ import annotations

from typing import Any

from automl.plugin import ExplainError
from automl_tabular.explain_permutation import permutation_attributions
from automl_tabular.interactions import PairwiseFeatures
from automl_tabular.shap_explainers import (
    Attributions,
    TreeTooSlow,
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


def members_of(result: Any) -> list[tuple[Any, float, str]]:
    members = getattr(result, "members", None)
    if not members:
        return [(result.predictor, 1.0, result.model_name)]
    return [(m.predictor, float(m.weight), m.family.name) for m in members]


def shap_attributions(  # noqa: PLR0913
    result, x, background, classes, view, bounds, deadline, notes
) -> Attributions:
    """SHAP for the result's model; an ensemble by permutation SHAP on its combined output (a
    tree walk per member and row, with a background for the members' common probability
    space, reached 2 of 200 rows in a 5 s allowance)."""
    members = members_of(result)
    ptype = result.problem_type
    if len(members) == 1:
        try:
            return _shap_one(members[0][0], ptype, x, background, classes, bounds, deadline, notes)
        except TreeTooSlow as slow:
            notes.append(f"{slow}: permutation SHAP on the model's output instead")
    else:
        names = ", ".join(f"{name} x{weight:.2f}" for _, weight, name in members)
        notes.append(f"ensemble ({names}): explained on its combined output")
    return permutation_attributions(
        result.predictor, ptype, x, background, classes, view.matrix, bounds, deadline, notes
    )


def _shap_one(predictor, ptype, x, background, classes, bounds, deadline, notes) -> Attributions:  # noqa: PLR0913
    """SHAP for one trained model. A specific explainer that fails (a model version shap does
    not parse, say) falls back to the bounded KernelExplainer."""
    args = (predictor, ptype, x, background, classes, bounds, deadline, notes)
    try:
        return _specific(*args)
    except _NoSpecific as why:
        return kernel_shap(*args, why=str(why))
    except (ImportError, ExplainError, TreeTooSlow):
        raise
    except Exception as exc:
        return kernel_shap(
            *args, why=f"the specific explainer failed ({type(exc).__name__}: {exc})"
        )


class _NoSpecific(Exception):
    """No specific SHAP explainer fits this model (the message says why)."""


def _specific(  # noqa: PLR0913
    predictor, ptype, x, background, classes, bounds, deadline, notes
) -> Attributions:
    featurized = hasattr(predictor, "featurizer")
    if featurized and isinstance(predictor.featurizer, PairwiseFeatures):
        return _with_pairs(predictor, ptype, x, background, classes, bounds, deadline, notes)
    estimator = None if featurized else getattr(predictor, "estimator", None)
    module = None if featurized else getattr(predictor, "module", None)
    kind = type(estimator if estimator is not None else predictor).__name__
    if estimator is not None and kind in TREE_PROBA + TREE_REGRESSORS:
        space = "value" if ptype == "regression" else "probability"
        return tree_shap(estimator, x, classes, space, deadline, notes, bounds.min_rows)
    if estimator is not None and kind in TREE_MARGIN:
        return tree_shap(estimator, x, classes, "log-odds", deadline, notes, bounds.min_rows)
    if estimator is not None and is_linear(estimator):
        space = linear_space(estimator, ptype)
        return linear_shap(estimator, x, background, classes, space, deadline, notes)
    if module is not None:
        return gradient_shap(predictor, ptype, x, background, classes, bounds, deadline, notes)
    raise _NoSpecific(f"no specific SHAP explainer for {kind}")


def _with_pairs(  # noqa: PLR0913
    predictor, ptype, x, background, classes, bounds, deadline, notes
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
    )
    return Attributions(
        pairs.fold(wide.values),
        wide.base,
        wide.space,
        wide.algorithm + "; pair columns split evenly between their two columns",
    )
