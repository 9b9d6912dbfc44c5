"""A section built on its own: one that fails becomes a note saying why, never a missing page."""

from __future__ import annotations

from typing import Any


def guarded(build: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``build(...)``, or a section that says why it could not be drawn."""
    try:
        return build(*args, **kwargs)
    except Exception as exc:  # a report is written whatever one part does
        return {"error": f"{type(exc).__name__}: {exc}", "missing": []}


def guarded_text(build: Any, *args: Any) -> str:
    """``build(...)``, or "" when it fails (a line of text the page can do without)."""
    try:
        return str(build(*args))
    except Exception:
        return ""
