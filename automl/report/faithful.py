"""Whether the report's explanations are faithful: each method's deletion check (removing the
features it ranks highest against as many random ones) and how far SHAP and LIME agree, as the
template shows them (``automl.faithfulness`` computes the numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.report.sections import fmt


def unit_words(note: str, unit: str) -> str:
    """An explainer's note with "rows" read as the task's unit (images, texts)."""
    if unit == "row":
        return note
    note = note.replace(" a row", f" per {unit}").replace(" rows", f" {unit}s")
    return note.replace("each row's", f"each {unit}'s")


def agreement_of(shap_exp, lime_exp, n: int) -> Any:
    """How far SHAP and LIME agree on the first ``n`` explained rows (None without both)."""
    from automl.faithfulness import agreement

    if shap_exp is None or lime_exp is None or shap_exp.deletion is None:
        return None
    rows = min(n, len(shap_exp.rows), len(lime_exp.rows))
    if rows == 0:
        return None
    return agreement(
        [shap_exp.attributions(i) for i in range(rows)],
        [lime_exp.attributions(i) for i in range(rows)],
        share=shap_exp.deletion.share,
    )


def faithfulness_table(shap_exp, lime_exp, agreement, unit: str) -> dict[str, Any] | None:
    """The deletion check of each method and their agreement, as the template's table."""
    rows, flags = [], []
    for name, exp in (("SHAP", shap_exp), ("LIME", lime_exp)):
        check = None if exp is None else exp.deletion
        if check is None:
            continue
        rows.append(
            {
                "method": name,
                "rows": fmt(int((check.k > 0).sum())),
                "share": f"{check.share:.0%}",
                "drop": fmt(check.mean_drop, 3),
                "random": fmt(check.mean_random, 3),
                "ok": check.above_random,
                "verdict": unit_words(check.verdict, unit),
            }
        )
        if not check.above_random:
            flags.append(
                f"{name}: removing its top-ranked features lowers the explained output by "
                f"{fmt(check.mean_drop, 3)} on average, no more than removing as many random "
                f"features ({fmt(check.mean_random, 3)}): its attributions may not show what "
                "the model relies on."
            )
    if not rows:
        return None
    agree = None
    if agreement is not None:
        agree = {
            "rows": fmt(len(agreement.k)),
            "spearman": fmt(agreement.mean_correlation, 2),
            "overlap": f"{agreement.mean_overlap:.0%}"
            if np.isfinite(agreement.mean_overlap)
            else "–",
        }
    return {"rows": rows, "flags": flags, "agreement": agree}


def row_faithfulness(pos: int, shap_exp, lime_exp, agreement) -> list[tuple[str, str]]:
    """The deletion check and agreement of example ``pos``, as (label, value) facts."""
    facts = []
    for name, exp in (("SHAP", shap_exp), ("LIME", lime_exp)):
        check = None if exp is None else exp.deletion
        if check is not None and pos < len(check.drop):
            facts.append(
                (
                    f"{name} deletion (top {check.k[pos]} vs {check.k[pos]} random)",
                    f"{fmt(float(check.drop[pos]), 3)} vs {fmt(float(check.random_drop[pos]), 3)}",
                )
            )
    if agreement is not None and pos < len(agreement.k):
        corr, overlap = agreement.rank_correlation[pos], agreement.top_overlap[pos]
        facts.append(
            (
                "SHAP/LIME agreement",
                f"rank correlation {fmt(float(corr), 2)}, top-{agreement.k[pos]} overlap "
                + (f"{overlap:.0%}" if np.isfinite(overlap) else "–"),
            )
        )
    return facts
