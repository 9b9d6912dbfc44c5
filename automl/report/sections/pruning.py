"""What pruning and early stopping saved in the search, in epochs."""

from __future__ import annotations

from typing import Any

from automl.report.sections.formatting import fmt


def pruning_summary(study: Any, trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Epochs the epoch-trained trials ran against what full runs would have taken. Trials the
    time budget stopped are left out: the epochs a budget cuts are not savings."""
    max_epochs = study.user_attrs.get("max_epochs") or getattr(study.pruner, "_max_resource", None)
    trained = [t for t in trials if t["by_epoch"] and t["state"] in ("complete", "pruned")]
    pruned = [t for t in trials if t["state"] == "pruned"]
    if not trained:
        text = (
            "No trial reported per-epoch scores (the families that ran fit in one go), so "
            "pruning had nothing to cut."
        )
        if pruned:
            text += (
                f" {len(pruned)} trial(s) were pruned before reporting a score: the leaderboard "
                "notes say why."
            )
        return {"text": text, "facts": [("pruned trials", fmt(len(pruned)))]}
    budget_cut = [t for t in trained if t.get("stopped_by") == "time_budget"]
    counted = [t for t in trained if t.get("stopped_by") != "time_budget"]
    run = sum(int(t["epochs"] or 0) for t in counted)
    facts = [
        ("epoch-trained trials", fmt(len(trained))),
        ("pruned", fmt(len([t for t in trained if t["state"] == "pruned"]))),
        ("epochs run", fmt(sum(int(t["epochs"] or 0) for t in trained))),
    ]
    cut_text = ""
    if budget_cut:
        cut_epochs = sum(int(t["epochs"] or 0) for t in budget_cut)
        facts.append(("stopped by the time budget", fmt(len(budget_cut))))
        cut_text = (
            f" {len(budget_cut)} trial(s) that the time budget stopped (after {cut_epochs} "
            "epochs in all) are not counted: epochs a budget cuts are not savings."
        )
    if not isinstance(max_epochs, (int, float)) or max_epochs <= 0:
        return {
            "text": "The epoch cap of the search is not known, so the saving cannot be told."
            + cut_text,
            "facts": facts,
        }
    if not counted:
        return {
            "text": "The time budget stopped every epoch-trained trial, so nothing can be "
            "credited to pruning or early stopping." + cut_text,
            "facts": facts,
        }
    full = int(max_epochs) * len(counted)
    saved = 1 - run / full if full else 0.0
    cut = [t for t in counted if t["state"] == "pruned"]
    cut_run = sum(int(t["epochs"] or 0) for t in cut)
    facts += [
        ("epochs full runs would take", f"{fmt(full)} ({fmt(len(counted))} × {int(max_epochs)})"),
        ("saved", f"{saved:.0%}"),
    ]
    text = (
        f"Epoch-trained trials ran {run} epochs where full runs of {int(max_epochs)} epochs would "
        f"have taken {full}: {saved:.0%} saved by pruning and early stopping together."
    )
    if cut:
        text += (
            f" The {len(cut)} pruned trial(s) stopped after {cut_run} epochs instead of "
            f"{int(max_epochs) * len(cut)}."
        )
    return {"text": text + cut_text, "facts": facts}
