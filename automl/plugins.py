"""The plugin manager: loads the entry-point group ``automl.plugins`` (our built-ins included),
honours blocking and selection, and collects the tasks and model families plugins register."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from automl import hookspecs
from automl.errors import PluginError
from automl.task import ModelFamily, Task

ENTRY_POINT_GROUP = "automl.plugins"
BLOCK_ENV = "AUTOML_BLOCK"


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    tasks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """What the loaded plugins registered: tasks and model families by name, and who gave them."""

    tasks: dict[str, Task] = field(default_factory=dict)
    models: dict[str, ModelFamily] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)

    def task(self, name: str) -> Task:
        if name not in self.tasks:
            raise PluginError(
                f"unknown task {name!r}; loaded tasks: {sorted(self.tasks) or 'none'} "
                f"(is its plugin installed, or blocked by {BLOCK_ENV}?)"
            )
        return self.tasks[name]

    def families(self, task: str, names: Iterable[str] | None = None) -> list[ModelFamily]:
        """The families registered for a task, optionally only the named ones (in that order).
        Without names, a family whose optional package is missing is left out with a warning
        that names the extra; named, it is an error that does."""
        registered = [f for f in self.models.values() if f.task == task]
        if names is None:
            for family in registered:
                if (why := family.missing()) is not None:
                    warnings.warn(f"{why}; searching without it", stacklevel=2)
            return [f for f in registered if f.missing() is None]
        by_name = {f.name: f for f in registered}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise PluginError(
                f"unknown model family {unknown} for task {task!r}; available: {sorted(by_name)}"
            )
        missing = [why for n in names if (why := by_name[n].missing()) is not None]
        if missing:
            raise PluginError("; ".join(missing))
        return [by_name[n] for n in names]


def blocked_names(block: Iterable[str] | None = None) -> set[str]:
    names = {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}
    return names | set(block or ())


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def load_registry(
    plugins: Iterable[str | ModuleType | Any] | None = None,
    block: Iterable[str] | None = None,
) -> Registry:
    """Load every plugin of the entry-point group, less the blocked ones.

    ``plugins`` selects: names of entry points to load (when any name is given, all others are
    skipped), and/or plugin objects (modules or instances with hookimpls) to register directly,
    e.g. in a notebook.
    """
    pm = pluggy.PluginManager("automl")
    pm.add_hookspecs(hookspecs)
    plugins = list(plugins or ())
    selected_names = [p for p in plugins if isinstance(p, str)] or None
    objects = [p for p in plugins if not isinstance(p, str)]
    blocked = blocked_names(block)
    eps = _entry_points()
    if selected_names is not None:
        known = {ep.name for ep in eps}
        missing = sorted(set(selected_names) - known)
        if missing:
            raise PluginError(
                f"unknown plugin(s) {missing}; installed plugins: {sorted(known) or 'none'} "
                f"(entry-point group {ENTRY_POINT_GROUP!r})"
            )
    infos: dict[str, PluginInfo] = {}
    for ep in eps:
        if ep.name in blocked or (selected_names is not None and ep.name not in selected_names):
            continue
        if pm.get_plugin(ep.name) is not None:
            continue  # the same name from two distributions: the first wins, like pytest
        module = ep.load()
        pm.register(module, name=ep.name)
        dist = ep.dist
        infos[ep.name] = PluginInfo(
            ep.name,
            ep.value,
            dist.metadata["Name"] if dist else None,
            dist.version if dist else None,
        )
    for obj in objects:
        name = getattr(obj, "__name__", None) or type(obj).__name__
        pm.register(obj, name=name)
        infos[name] = PluginInfo(name, name, None, None)
    pm.check_pending()
    return _collect(pm, infos)


def _collect(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> Registry:
    """Call each register hook once per plugin, so every task and family knows its plugin."""
    registry = Registry(plugins=infos)

    def add(kind: str, obj: Any, info: PluginInfo) -> None:
        expected, table, listing = (
            (Task, registry.tasks, info.tasks)
            if kind == "task"
            else (ModelFamily, registry.models, info.models)
        )
        if not isinstance(obj, expected):
            raise PluginError(
                f"plugin {info.name!r} registered {obj!r}, not a {expected.__name__}"
            )
        if obj.name in table:
            raise PluginError(f"{kind} {obj.name!r} registered twice (again by {info.name!r})")
        table[obj.name] = obj
        listing.append(obj.name)

    for kind, caller in (
        ("task", pm.hook.automl_register_tasks),
        ("model", pm.hook.automl_register_models),
    ):
        for impl in reversed(caller.get_hookimpls()):  # registration order
            info = infos[impl.plugin_name]

            def register(obj: Any, _kind: str = kind, _info: PluginInfo = info) -> None:
                add(_kind, obj, _info)

            impl.function(**{arg: register for arg in impl.argnames})
    return registry


def list_plugins(block: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The loaded plugins: name, module, distribution and version, tasks and model families."""
    registry = load_registry(block=block)
    return [vars(info).copy() for info in registry.plugins.values()]
