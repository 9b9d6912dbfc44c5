"""Model folders: ``config.json`` (family, params, data spec, labels), torch weights as a state
dict loaded with ``weights_only=True``, scikit-learn estimators with skops (trusted types only),
the fitted encoders and featurizers as JSON + ``.npz`` (their ``get_state``), and a manifest
(``automl.modelfolder``) that lists every file with its sha256.

No file of a model folder is a pickle: loading one runs no code of the folder's choosing. A
plugin part without ``get_state`` is saved with skops and loads only when its type is trusted
(``load(path, trusted=[...])``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl import artifacts
from automl.errors import DataError, PluginError
from automl.modelfolder import Listing, verify, write_folder
from automl.predictors import FeaturizedPredictor

if TYPE_CHECKING:
    from automl.result import FittedResult

FORMAT = 2
CONFIG = "config.json"
FEATURES = "features"  # the task's fitted feature encoder: features.json (+ .npz)
WEIGHTS = "weights.pt"  # torch members: a state dict
ESTIMATOR = "estimator.skops"  # scikit-learn members
FEATURIZER = "featurizer"  # a family's own fitted input transform, if it has one
PROFILE = "profile"  # the task's drift InputProfile (profile.json + .npz), if it has one
DRIFT = "drift"  # the drift reference: training statistics and held-out predictions


def save_result(result: FittedResult, path: str) -> str:
    """Write the model folder at ``path`` (replacing an earlier model folder there whole)."""
    return str(write_folder(Path(path), lambda tmp: _write(result, tmp)))


def _write(result: FittedResult, folder: Path) -> list[str]:
    from automl import __version__
    from automl.search import redact

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
    import torch

    predictor, written = member.predictor, []
    entry: dict[str, Any] = {
        "family": member.family.name,
        "kind": predictor.kind,
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
    if predictor.kind == "torch":
        entry["y_scale"] = [predictor.y_mean, predictor.y_std]
        state = {k: v.detach().cpu() for k, v in predictor.module.state_dict().items()}
        torch.save(state, folder / sub / WEIGHTS)
        written.append(f"{sub}/{WEIGHTS}")
    else:
        artifacts.save_skops(predictor.estimator, folder / sub / ESTIMATOR)
        written.append(f"{sub}/{ESTIMATOR}")
    return entry, written


def load(
    path: str,
    *,
    device: str = "cpu",
    plugins: Any = None,
    trusted: list[str] | tuple[str, ...] = (),
    storage: str | None = None,
) -> FittedResult:
    """Load a model folder written by ``FittedResult.save``. Its model families come from the
    installed plugins (and any plugin objects in ``plugins``, as for ``fit``). ``trusted``
    names further types that skops may rebuild (a plugin's own estimator or featurizer without
    ``get_state``); ``storage`` reopens the study when its URL held a password (saved
    redacted)."""
    from automl.plugins import load_registry
    from automl.result import FittedResult
    from automl.targets import TargetEncoder
    from automl.task import DataSpec, FeatureEncoder
    from automl.training import resolve_device

    listing = verify(Path(path))
    config = json.loads(listing.path(CONFIG).read_text())
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise DataError(f"{path} has model format {config.get('format')}; expected {FORMAT}")
    registry = load_registry(plugins)
    packages = _packages(registry)
    trusted = tuple(trusted)
    dev = resolve_device(device)
    features = artifacts.load_part(
        config["features"], listing.path, FEATURES, FeatureEncoder, packages, trusted
    )
    members = [
        _load_member(i, entry, config, registry, listing, dev, packages, trusted)
        for i, entry in enumerate(config["members"])
    ]
    target = TargetEncoder.from_json(config["target"])
    result = FittedResult(
        task=config["task"],
        members=members,
        spec=DataSpec.from_json(config["spec"]),
        features=features,
        target=target,
        metric=_metric(config, target),
        problem_type_reason=config["problem_type_reason"],
        study=None,
        best_trial=config["best_trial"],
        valid_score=config["valid_score"],
        refit=config["refit"],
        timings=config["timings"],
        summary=config["summary"],
        study_name=config["study_name"],
        storage=storage or config["storage"],
    )
    result._direction = config.get("metric_direction", result.metric_direction)
    if config.get(PROFILE) and config.get(DRIFT):
        from automl.drift import DriftReference, InputProfile

        read = listing.path
        result.profile = artifacts.load_part(
            config[PROFILE], read, PROFILE, InputProfile, packages, trusted
        )
        result.drift = artifacts.load_part(
            config[DRIFT], read, DRIFT, DriftReference, packages, trusted
        )
    return result


def _metric(config: dict[str, Any], target: Any) -> Any:
    """The search metric by name (built-in or a scikit-learn scorer); a custom callable is not
    saved, so its name stands for it (``score`` then needs ``metric=``)."""
    from automl.metrics import resolve

    try:
        return resolve(
            config["metric"],
            target.problem_type,
            classes=target.classes,
            positive=config.get("positive", 1),
        )
    except (DataError, ValueError):
        return config["metric"]


def _packages(registry: Any) -> set[str]:
    """Where the classes a model folder names may come from: automl and the loaded plugins."""
    objects = [*registry.tasks.values(), *registry.models.values()]
    return {"automl"} | {type(obj).__module__.split(".")[0] for obj in objects}


def _load_member(
    index: int,
    entry: dict,
    config: dict,
    registry: Any,
    listing: Listing,
    dev: Any,
    packages: set[str],
    trusted: tuple[str, ...],
) -> Any:
    import torch

    from automl.predictors import SklearnPredictor, TorchPredictor
    from automl.result import Member
    from automl.task import DataSpec, Featurizer

    if entry["family"] not in registry.models:
        raise PluginError(
            f"model family {entry['family']!r} (task {config['task']!r}) is not loaded: "
            f"install or unblock the plugin that provides it; loaded: {sorted(registry.models)}"
        )
    family = registry.models[entry["family"]]
    trusted = (*trusted, *family.trusted_types)
    sub = f"member_{index}"
    spec = DataSpec.from_json(entry["spec"])
    featurizer = None
    if entry.get("featurizer"):
        featurizer = artifacts.load_part(
            entry["featurizer"],
            lambda name: listing.path(f"{sub}/{name}"),
            FEATURIZER,
            Featurizer,
            packages,
            trusted,
        )
    if entry["kind"] == "torch":
        module = family.build(entry["params"], spec)
        weights = listing.path(f"{sub}/{WEIGHTS}")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle.UnpicklingError for anything but tensors and plain data
            why = str(exc).splitlines()[0]
            raise DataError(
                f"refusing to load {weights}: it is not a plain state dict ({why})"
            ) from None
        module.load_state_dict(state)
        mean, std = entry["y_scale"]
        predictor = TorchPredictor(
            module.to(dev), spec.problem_type, spec.n_outputs, mean, std, dev
        )
    elif entry["kind"] == "sklearn":
        estimator = artifacts.load_skops(listing.path(f"{sub}/{ESTIMATOR}"), trusted)
        predictor = SklearnPredictor(estimator, spec.problem_type, spec.n_outputs)
    else:
        raise DataError(f"unknown model kind {entry['kind']!r} in {listing.folder / CONFIG}")
    if featurizer is not None:
        predictor = FeaturizedPredictor(featurizer, predictor, spec)
    return Member(
        entry["trial"], family, entry["params"], predictor, entry["weight"], entry["epochs"]
    )
