"""What one input is called on the page."""

from __future__ import annotations

from typing import Any


def unit_of(result: Any) -> str:
    """What one input is called on the page ("row", "image", "text"): the task explainer's
    ``unit``, "row" when there is none."""
    from automl.explain import explainer_for

    try:
        return str(getattr(explainer_for(result), "unit", "row"))
    except Exception:
        return "row"
