"""How numbers read on the page: counts, values and metric scores."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "–" if math.isnan(value) else str(value)
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-4):
            return f"{value:.3e}"
        return f"{value:.{digits}g}"
    return str(value)


def score(value: Any) -> str:
    """A metric value: four decimals (scores are compared to each other)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    return f"{value:.4f}" if abs(value) < 1e4 else fmt(value)


def run_time(timings: dict[str, float] | None) -> str:
    """The fit call's seconds (``timings["total"]``): up to the report when ``fit`` writes it
    (the report's and saving's own seconds follow), all of them for a saved model's report."""
    total = (timings or {}).get("total")
    return "–" if total is None else f"{float(total):.1f} s"
