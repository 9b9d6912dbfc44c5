"""Saving model folders (``automl.loading`` reads them): ``config.json`` (family, params,
data spec, labels), each member's state as its model kind writes it (``automl.kinds``: torch
weights as a state dict, scikit-learn estimators with skops), the fitted encoders and
featurizers as JSON + ``.npz`` (their ``get_state``), and a manifest (``automl.modelfolder``)
that lists every file with its sha256.

No file of a model folder is a pickle: loading one runs no code of the folder's choosing. A
plugin part without ``get_state`` is saved with skops and loads only when its type is trusted
(``load(path, trusted=[...])``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl import artifacts, kinds
from automl.modelfolder import write_folder
from automl.outputs import check_folder
from automl.predictors import FeaturizedPredictor

if TYPE_CHECKING:
    from automl.result import FittedResult

FORMAT = 2
CONFIG = "config.json"
FEATURES = "features"  # the task's fitted feature encoder: features.json (+ .npz)
FEATURIZER = "featurizer"  # a family's own fitted input transform, if it has one
PROFILE = "profile"  # the task's drift InputProfile (profile.json + .npz), if it has one
DRIFT = "drift"  # the drift reference: training statistics and held-out predictions


def save_result(result: FittedResult, path: str) -> str:
    """Write the model folder at ``path`` (replacing an earlier model folder there whole)."""
    target = check_folder(path, "the model folder")
    return str(write_folder(target, lambda tmp: _write(result, tmp)))


def kept_instead(result: FittedResult, path: str | Path) -> str | None:
    """Why the model folder at ``path`` should stay rather than be replaced by ``result``'s
    model: it holds a model of the same study (name and storage) and metric whose validation
    score is better than ``result``'s (a tie replaces it); None: replace it. A folder without a
    readable ``config.json`` holding those is not compared (saving decides what it may replace).
    """
    try:
        old = json.loads((Path(path) / CONFIG).read_text())
        old_score = float(old["valid_score"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    from automl.urls import redact

    same = (old.get("study_name"), old.get("storage"), old.get("metric")) == (
        result.study_name,
        redact(result.storage),
        result.metric,
    )
    new_score = float(result.valid_score)
    if not same or old_score != old_score or new_score != new_score:  # NaN: not compared
        return None
    sign = 1 if result.metric_direction == "maximize" else -1
    if sign * old_score <= sign * new_score:
        return None
    return (
        f"{path} keeps the earlier model of study {result.study_name!r} (trial "
        f"{old.get('best_trial')}, validation {result.metric} {old_score:.4f}): this run's model "
        f"scored {new_score:.4f}"
    )


def _write(result: FittedResult, folder: Path) -> list[str]:
    from automl import __version__
    from automl.urls import redact

    features, files = artifacts.save_part(result.features, folder, FEATURES)
    monitoring: dict[str, Any] = {}
    for stem, part in ((PROFILE, result.profile), (DRIFT, result.drift)):
        if part is not None:
            monitoring[stem], written = artifacts.save_part(part, folder, stem)
            files += written
    members = []
    for i, member in enumerate(result.members):
        sub = f"member_{i}"
        (folder / sub).mkdir()
        entry, written = _save_member(member, result.spec, folder, sub)
        members.append(entry)
        files += written
    config: dict[str, Any] = {
        "format": FORMAT,
        "automl_version": __version__,
        "task": result.task,
        "features": features,
        **monitoring,
        "members": members,
        "spec": result.spec.to_json(),
        "target": result.target.to_json(),
        "target_name": result.target_name,
        "metric": result.metric,
        "metric_direction": result.metric_direction,
        "positive": result.positive,
        "problem_type_reason": result.problem_type_reason,
        "valid_score": result.valid_score,
        "best_trial": result.best_trial,
        "refit": result.refit,
        "timings": result.timings,
        "summary": result.summary,
        "study_name": result.study_name,
        "storage": redact(result.storage),
    }
    (folder / CONFIG).write_text(json.dumps(config, indent=2, default=str))
    return [CONFIG, *files]


def _save_member(member: Any, spec: Any, folder: Path, sub: str) -> tuple[dict, list[str]]:
    predictor, written = member.predictor, []
    entry: dict[str, Any] = {
        "family": member.family.name,
        "kind": kinds.of(member.family).name,
        "params": member.params,
        "trial": member.trial,
        "weight": member.weight,
        "epochs": member.epochs,
        "spec": spec.to_json(),
        "featurizer": None,
    }
    if isinstance(predictor, FeaturizedPredictor):
        part, files = artifacts.save_part(predictor.featurizer, folder / sub, FEATURIZER)
        entry["featurizer"] = part
        written += [f"{sub}/{f}" for f in files]
        entry["spec"] = predictor.spec.to_json()
        predictor = predictor.inner
    kept, files = kinds.of(member.family).save(predictor, folder / sub)
    entry.update(kept)
    written += [f"{sub}/{f}" for f in files]
    return entry, written
