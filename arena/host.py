"""The plugin host: loads every ``arena`` entry point safely and collects what they register.

Unlike ``pluggy.PluginManager.load_setuptools_entrypoints`` (which stops at the first plugin
that fails to import), each entry point is loaded and each hook is called one plugin at a time,
inside its own try/except. A plugin that fails to import, raises in a hook, implements a hook
that does not exist, or registers a name that is taken is recorded with its error (see
``arena plugins``) and everything else keeps working.

Environment:
  ARENA_LOAD_PLUGINS   comma list of entry-point names to load (unset: all; empty: none)
  ARENA_STRICT_PLUGINS set to 1 to raise on the first broken plugin instead of recording it
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from arena import hookspecs
from arena.contracts import CellInfo, TaskInfo
from arena.errors import PluginError
from arena.registry import NameTakenError, Registry

ENTRY_POINT_GROUP = "arena"


@dataclass
class ExecutorInfo:
    summary: str = ""


@dataclass
class PluginRecord:
    """One loaded (or failed) plugin as `arena plugins` shows it."""

    name: str
    dist: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    executors: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.dist,
            "version": self.version,
            "module": self.module,
            "hooks": self.hooks,
            "cells": self.cells,
            "tasks": self.tasks,
            "executors": self.executors,
            "error": "\n".join(self.errors) or None,
        }


def _strict() -> bool:
    return os.environ.get("ARENA_STRICT_PLUGINS", "") not in ("", "0", "false")


def _allowed() -> set[str] | None:
    raw = os.environ.get("ARENA_LOAD_PLUGINS")
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


class PluginHost:
    """Entry points loaded into registries of cells, tasks and executors."""

    def __init__(self, entry_points: list[metadata.EntryPoint] | None = None) -> None:
        self.pm = pluggy.PluginManager("arena")
        self.pm.add_hookspecs(hookspecs)
        self.cells: Registry[CellInfo] = Registry("cell")
        self.tasks: Registry[TaskInfo] = Registry("task")
        self.executors: Registry[ExecutorInfo] = Registry("executor")
        self.plugins: dict[str, PluginRecord] = {}
        self._load(entry_points if entry_points is not None else self._entry_points())
        self._call_registration_hooks()

    # -- loading ---------------------------------------------------------------------------
    @staticmethod
    def _entry_points() -> list[metadata.EntryPoint]:
        seen: set[tuple[str, str]] = set()
        eps = []
        # A distribution installed twice on sys.path (editable + wheel) lists its entry points
        # twice; keep the first, which is the one importlib would import.
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (ep.name, ep.value) not in seen:
                seen.add((ep.name, ep.value))
                eps.append(ep)
        return eps

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.errors.append(message)
        if _strict():
            raise PluginError(f"plugin {record.name!r} ({record.dist}): {message}") from exc

    def _load(self, entry_points: list[metadata.EntryPoint]) -> None:
        allowed = _allowed()
        for ep in entry_points:
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                dist=dist.metadata["Name"] if dist is not None else "?",
                version=dist.version if dist is not None else "?",
                module=ep.value,
            )
            if ep.name in self.plugins:
                self._fail(record, f"entry point name {ep.name!r} is also used by {self.plugins[ep.name].dist}")
                self.plugins[f"{ep.name} ({record.dist})"] = record
                continue
            self.plugins[ep.name] = record
            try:
                module = ep.load()
            except BaseException as exc:  # noqa: BLE001 - any import failure must be contained
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(record, f"failed to import: {_short_error(exc)}", exc)
                continue
            try:
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # pluggy validates hook signatures here
                self._fail(record, f"invalid hook implementation: {_short_error(exc)}", exc)
                continue
            record.hooks = sorted(
                impl.name for impl in self.pm.get_hookcallers(module) or [] if impl.name in hookspecs.HOOK_NAMES
            )
            unknown = [
                name
                for name in dir(module)
                if name.startswith("register_")
                and hasattr(getattr(module, name), "arena_impl")
                and name not in hookspecs.HOOK_NAMES
            ]
            if unknown:
                self._fail(record, f"implements unknown hooks {unknown}; known hooks: {list(hookspecs.HOOK_NAMES)}")

    # -- hooks -----------------------------------------------------------------------------
    def _registrar(self, record: PluginRecord, registry: Registry[Any], names: list[str]) -> Callable[..., None]:
        info_type = {"cell": CellInfo, "task": TaskInfo, "executor": ExecutorInfo}[registry.kind]

        def register(name: str, factory: Any, info: Any = None, aliases: tuple[str, ...] = (), **kw: Any) -> None:
            if info is None and registry.kind == "executor":
                info = ExecutorInfo(**kw)
            if not isinstance(info, info_type):
                raise TypeError(f"{registry.kind} {name!r}: info must be an arena.{info_type.__name__}")
            try:
                registry.add(name, factory, info, plugin=record.name, aliases=tuple(aliases))
            except NameTakenError as exc:
                # Keep the plugin's other registrations; the clash is reported, not fatal.
                holder = self.plugins.get(registry.get(name).plugin) if name in registry else None
                where = f" ({holder.dist} {holder.version})" if holder else ""
                self._fail(record, f"{exc}{where}", exc)
                return
            names.append(name)

        return register

    def _call_registration_hooks(self) -> None:
        plan = [("register_cells", self.cells, "cells"), ("register_tasks", self.tasks, "tasks"),
                ("register_executors", self.executors, "executors")]
        for hook_name, registry, attr in plan:
            caller = getattr(self.pm.hook, hook_name)
            for impl in reversed(caller.get_hookimpls()):  # registration order
                record = self.plugins[impl.plugin_name]
                names: list[str] = getattr(record, attr)
                try:
                    impl.function(register=self._registrar(record, registry, names))
                except Exception as exc:  # noqa: BLE001 - contain any plugin bug
                    if isinstance(exc, PluginError):
                        raise
                    registry.remove_plugin(record.name)
                    names.clear()
                    self._fail(record, f"{hook_name} raised {_short_error(exc)}", exc)

    def register_commands(self, cli: Any) -> None:
        for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):
            record = self.plugins[impl.plugin_name]
            try:
                impl.function(cli=cli)
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, PluginError):
                    raise
                self._fail(record, f"register_commands raised {_short_error(exc)}", exc)

    def versions(self) -> dict[str, str]:
        """Distribution → version of every loaded plugin (recorded with each run)."""
        return {r.dist: r.version for r in self.plugins.values()}


_HOST: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, built on first use."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost()
    return _HOST


def reset_host() -> None:
    global _HOST
    _HOST = None
