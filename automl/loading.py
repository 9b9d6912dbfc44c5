"""Loading a model folder (written by ``automl.persistence``): the folder is verified against
its manifest before anything is read; torch weights load with ``weights_only=True``,
scikit-learn estimators through skops with trusted types only, encoders from JSON + ``.npz``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl import artifacts, kinds
from automl.errors import DataError, PluginError
from automl.modelfolder import Listing, verify
from automl.persistence import CONFIG, DRIFT, FEATURES, FEATURIZER, FORMAT, PROFILE
from automl.predictors import FeaturizedPredictor
from automl.result import FittedResult, Found, Member, Run, Seen
from automl.schema import CONFIG as CONFIG_SCHEMA
from automl.schema import DRIFT_REFERENCE, read_json, reading, validate
from automl.targets import TargetEncoder
from automl.task import DataSpec, FeatureEncoder, Featurizer


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
    from automl.training import resolve_device

    listing = verify(Path(path))
    config_path = listing.path(CONFIG)
    config = read_json(config_path)
    found = config.get("format") if isinstance(config, dict) else None
    if found != FORMAT:
        raise DataError(f"{path} has model format {found!r}; expected {FORMAT}")
    validate(config, CONFIG_SCHEMA, config_path, "model config")
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
    profile = drift = None
    if config.get(PROFILE) and config.get(DRIFT):
        from automl.drift import DriftReference, InputProfile

        read = listing.path
        profile = artifacts.load_part(
            config[PROFILE], read, PROFILE, InputProfile, packages, trusted
        )
        drift = artifacts.load_part(
            config[DRIFT], read, DRIFT, DriftReference, packages, trusted, DRIFT_REFERENCE
        )
    found = Found(
        members=members,
        best_trial=config["best_trial"],
        valid_score=config["valid_score"],
        refit=config["refit"],
        metric=_metric(config, target),
        metric_direction=config.get("metric_direction"),
    )
    seen = Seen(
        spec=DataSpec.from_json(config["spec"]),
        features=features,
        target=target,
        target_name=config.get("target_name"),
        problem_type_reason=config["problem_type_reason"],
        profile=profile,
        drift=drift,
    )
    run = Run(
        study=None,
        timings=config["timings"],
        summary=config["summary"],
        study_name=config["study_name"],
        storage=storage or config["storage"],
    )
    return FittedResult(
        config["task"], found, seen, run, task_plugin=registry.tasks.get(config["task"])
    )


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
    kind = kinds.of(family)
    if entry.get("kind") != kind.name:
        raise DataError(
            f"member {index} in {listing.folder / CONFIG} is of model kind {entry.get('kind')!r}"
            f", but family {family.name!r} trains {kind.name!r} models: the folder was written "
            "by another version of its plugin"
        )
    with reading(f"{listing.folder / CONFIG} (member {index}, with {sub}/)"):
        predictor = kind.load(
            family,
            entry["params"],
            spec,
            entry,
            lambda name: listing.path(f"{sub}/{name}"),
            dev,
            trusted,
        )
    if featurizer is not None:
        predictor = FeaturizedPredictor(featurizer, predictor, spec)
    return Member(
        entry["trial"], family, entry["params"], predictor, entry["weight"], entry["epochs"]
    )
