"""Kinds of models as strategy objects (``automl.kinds._base.ModelKind``): the built-in torch
and scikit-learn kinds (``torch``, ``sklearn``, with their training loops in ``torch_training``
and ``sklearn_training``), and how the kind of a family (``of``), of a trained model
(``of_predictor``) or of a name written in a model folder (``get``) is found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl.kinds._base import FitOptions, ModelKind, Retry, Split, object_nbytes

if TYPE_CHECKING:
    from automl.predictors import Predictor
    from automl.task import ModelFamily

__all__ = [
    "FitOptions",
    "ModelKind",
    "Retry",
    "Split",
    "get",
    "object_nbytes",
    "of",
    "of_predictor",
]

_BUILT_IN: dict[str, ModelKind] = {}
_ADDED: dict[str, ModelKind] = {}


def _built_in() -> dict[str, ModelKind]:
    if not _BUILT_IN:
        from automl.kinds.sklearn import SklearnKind
        from automl.kinds.torch import TorchKind

        _BUILT_IN.update({k.name: k for k in (TorchKind(), SklearnKind())})
    return _BUILT_IN


def of(family: ModelFamily) -> ModelKind:
    """The kind of a family: a ``ModelKind`` object it holds (a plugin's own kind, remembered
    by name for the models it trains; a built-in kind's name is refused), or a built-in kind's
    name ("torch", "sklearn")."""
    kind = family.kind
    if isinstance(kind, ModelKind):
        built_in = _built_in().get(kind.name)
        if built_in is not None and kind is not built_in:
            from automl.errors import PluginError

            raise PluginError(
                f"model family {family.name!r} has a kind of its own ({type(kind).__name__}) "
                f"that takes the name {kind.name!r} of a built-in kind: name it after its plugin "
                "(the name is written in model folders, and the built-in kind's models would be "
                "weighed and moved through it)"
            )
        _ADDED.setdefault(kind.name, kind)
        return kind
    return get(kind, f"model family {family.name!r}")


def get(name: Any, who: str = "a trained model") -> ModelKind:
    """The kind called ``name``; a ``PluginError`` naming the known ones otherwise."""
    from automl.errors import PluginError

    known = {**_built_in(), **_ADDED}
    if name not in known:
        raise PluginError(
            f"{who} is of an unknown model kind {name!r}: a family's kind is one of "
            f"{sorted(known)} or an automl.kinds.ModelKind object"
        )
    return known[name]


def of_predictor(predictor: Predictor) -> tuple[ModelKind, Predictor]:
    """The kind of a trained model, found once by the name it carries (``Predictor.kind``),
    and the model that kind handles: the one inside a ``FeaturizedPredictor`` (its ``inner``),
    else ``predictor`` itself."""
    inner = getattr(predictor, "inner", predictor)
    return get(inner.kind, f"a trained model (Predictor.kind {inner.kind!r})"), inner
