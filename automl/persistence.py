"""Model folders: ``config.json`` (family, params, data spec, labels), torch weights as a state
dict loaded with ``weights_only=True``, scikit-learn parts with joblib, and a sha256 manifest
checked on load.

joblib files (the fitted feature encoder, scikit-learn estimators) are pickles: load model folders
from trusted sources only. Torch weights never execute code on load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl.errors import DataError, PluginError
from automl.predictors import FeaturizedPredictor

if TYPE_CHECKING:
    from automl.result import FittedResult

FORMAT = 1
CONFIG = "config.json"
MANIFEST = "MANIFEST.json"
FEATURES = "features.joblib"  # the task's fitted feature encoder
WEIGHTS = "weights.pt"  # torch members: a state dict
ESTIMATOR = "estimator.joblib"  # scikit-learn members
FEATURIZER = "featurizer.joblib"  # a family's own fitted input transform, if it has one


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_result(result: FittedResult, path: str) -> str:
    import joblib

    from automl import __version__

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(result.features, folder / FEATURES)
    files = [CONFIG, FEATURES]
    members = []
    for i, member in enumerate(result.members):
        sub = f"member_{i}"
        (folder / sub).mkdir(exist_ok=True)
        entry, written = _save_member(member, result.spec, folder, sub)
        members.append(entry)
        files += written
    config: dict[str, Any] = {
        "format": FORMAT,
        "automl_version": __version__,
        "task": result.task,
        "members": members,
        "spec": result.spec.to_json(),
        "target": result.target.to_json(),
        "metric": result.metric,
        "problem_type_reason": result.problem_type_reason,
        "valid_score": result.valid_score,
        "best_trial": result.best_trial,
        "refit": result.refit,
        "timings": result.timings,
        "summary": result.summary,
        "study_name": result.study_name,
        "storage": result.storage,
    }
    (folder / CONFIG).write_text(json.dumps(config, indent=2, default=str))
    manifest = {name: _sha256(folder / name) for name in files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return str(folder)


def _save_member(member: Any, spec: Any, folder: Path, sub: str) -> tuple[dict, list[str]]:
    import joblib
    import torch

    predictor, written = member.predictor, []
    entry: dict[str, Any] = {
        "dir": sub,
        "family": member.family.name,
        "kind": predictor.kind,
        "params": member.params,
        "trial": member.trial,
        "weight": member.weight,
        "epochs": member.epochs,
        "spec": spec.to_json(),
    }
    if isinstance(predictor, FeaturizedPredictor):
        joblib.dump(predictor.featurizer, folder / sub / FEATURIZER)
        written.append(f"{sub}/{FEATURIZER}")
        entry["spec"] = predictor.spec.to_json()
        predictor = predictor.inner
    if predictor.kind == "torch":
        entry["y_scale"] = [predictor.y_mean, predictor.y_std]
        state = {k: v.detach().cpu() for k, v in predictor.module.state_dict().items()}
        torch.save(state, folder / sub / WEIGHTS)
        written.append(f"{sub}/{WEIGHTS}")
    else:
        joblib.dump(predictor.estimator, folder / sub / ESTIMATOR)
        written.append(f"{sub}/{ESTIMATOR}")
    return entry, written


def _verify(folder: Path) -> dict[str, Any]:
    if not (folder / MANIFEST).is_file() or not (folder / CONFIG).is_file():
        raise DataError(f"{folder} is not an automl model folder (no {CONFIG} or {MANIFEST})")
    manifest = json.loads((folder / MANIFEST).read_text())
    for name, expected in manifest.items():
        file = folder / name
        if not file.is_file():
            raise DataError(f"model folder {folder} is missing {name}")
        if _sha256(file) != expected:
            raise DataError(f"{file} does not match its checksum in {MANIFEST}: refusing to load")
    config = json.loads((folder / CONFIG).read_text())
    if config.get("format") != FORMAT:
        raise DataError(f"{folder} has model format {config.get('format')}; expected {FORMAT}")
    return config


def load(path: str, *, device: str = "cpu", plugins: Any = None) -> FittedResult:
    """Load a model folder written by ``FittedResult.save``. Its model families come from the
    installed plugins (and any plugin objects in ``plugins``, as for ``fit``)."""
    import joblib

    from automl.metrics import METRICS
    from automl.plugins import load_registry
    from automl.result import FittedResult
    from automl.targets import TargetEncoder
    from automl.task import DataSpec
    from automl.training import resolve_device

    folder = Path(path)
    config = _verify(folder)
    registry = load_registry(plugins)
    dev = resolve_device(device)
    members = [_load_member(entry, config, registry, folder, dev) for entry in config["members"]]
    return FittedResult(
        task=config["task"],
        members=members,
        spec=DataSpec.from_json(config["spec"]),
        features=joblib.load(folder / FEATURES),
        target=TargetEncoder.from_json(config["target"]),
        metric=METRICS[config["metric"]],
        problem_type_reason=config["problem_type_reason"],
        study=None,
        best_trial=config["best_trial"],
        valid_score=config["valid_score"],
        refit=config["refit"],
        timings=config["timings"],
        summary=config["summary"],
        study_name=config["study_name"],
        storage=config["storage"],
    )


def _load_member(entry: dict, config: dict, registry: Any, folder: Path, dev: Any) -> Any:
    import joblib
    import torch

    from automl.predictors import SklearnPredictor, TorchPredictor
    from automl.result import Member
    from automl.task import DataSpec

    if entry["family"] not in registry.models:
        raise PluginError(
            f"model family {entry['family']!r} (task {config['task']!r}) is not loaded: "
            f"install or unblock the plugin that provides it; loaded: {sorted(registry.models)}"
        )
    family = registry.models[entry["family"]]
    sub = folder / entry["dir"]
    spec = DataSpec.from_json(entry["spec"])
    if entry["kind"] == "torch":
        module = family.build(entry["params"], spec)
        try:
            state = torch.load(sub / WEIGHTS, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle.UnpicklingError for anything but tensors and plain data
            why = str(exc).splitlines()[0]
            raise DataError(
                f"refusing to load {sub / WEIGHTS}: it is not a plain state dict ({why})"
            ) from None
        module.load_state_dict(state)
        mean, std = entry["y_scale"]
        predictor = TorchPredictor(
            module.to(dev), spec.problem_type, spec.n_outputs, mean, std, dev
        )
    else:
        predictor = SklearnPredictor(
            joblib.load(sub / ESTIMATOR), spec.problem_type, spec.n_outputs
        )
    if (sub / FEATURIZER).is_file():
        predictor = FeaturizedPredictor(joblib.load(sub / FEATURIZER), predictor, spec)
    return Member(
        entry["trial"], family, entry["params"], predictor, entry["weight"], entry["epochs"]
    )
