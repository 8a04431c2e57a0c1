"""The plugin host: loads every ``arena`` entry point safely and collects what they register.

Unlike ``pluggy.PluginManager.load_setuptools_entrypoints`` (which stops at the first plugin
that fails to import), each entry point is loaded and each hook is called one plugin at a time,
inside its own try/except. A plugin that fails to import, raises in a hook, implements a hook
that does not exist, or registers a name that is taken is recorded with its error (see
``arena plugins``) and everything else keeps working.

Names are never taken over: arena's own entry points load first, then third-party ones in a
fixed order (distribution, entry-point name). A built-in keeps its name and the plugin that
came second gets the error; a name claimed by two third-party distributions is refused to both.
Every entry records its providing distribution, which is part of each run's identity.

Environment:
  ARENA_LOAD_PLUGINS   comma list of entry-point names to load (unset: all; empty: none)
  ARENA_STRICT_PLUGINS set to 1 to make every command refuse to run while a plugin is broken
                       (``PluginHost.check_strict``; ``arena plugins`` still lists them)
"""
from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from arena import hookspecs
from arena.contracts import ARENA_DIST, CellInfo, TaskInfo
from arena.errors import PluginError
from arena.registry import NameTakenError, Registry

ENTRY_POINT_GROUP = "arena"


def normalise_dist(name: str) -> str:
    """PEP 503 normal form: ``Arena_IndRNN`` and ``arena-indrnn`` are the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


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

    @property
    def builtin(self) -> bool:
        return normalise_dist(self.dist) == ARENA_DIST

    def label(self) -> str:
        return f"{self.dist} {self.version} (plugin {self.name!r})"

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
        from arena.package_guard import ensure_installed_package

        ensure_installed_package()  # before any plugin runs `from arena import hookimpl`
        self.pm = pluggy.PluginManager("arena")
        self.pm.add_hookspecs(hookspecs)
        self.cells: Registry[CellInfo] = Registry("cell")
        self.tasks: Registry[TaskInfo] = Registry("task")
        self.executors: Registry[ExecutorInfo] = Registry("executor")
        self.plugins: dict[str, PluginRecord] = {}
        for registry in (self.cells, self.tasks, self.executors):
            registry.hint = self._broken_hint
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

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.errors.append(" ".join(message.split()))  # one line, whatever the plugin raised

    def broken(self) -> list[PluginRecord]:
        return [r for r in self.plugins.values() if r.errors]

    def _broken_hint(self) -> str:
        bad = self.broken()
        if not bad:
            return ""
        first = bad[0]
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        return (f" Plugin {first.name!r} ({first.dist} {first.version}) failed to load{more}, so it may be the one "
                f"that provides it: {first.errors[0]} (see `arena plugins`).")

    def check_strict(self) -> None:
        """Under ARENA_STRICT_PLUGINS=1, raise PluginError naming the first broken plugin."""
        bad = self.broken()
        if _strict() and bad:
            r = bad[0]
            more = f" (and {len(bad) - 1} more broken plugin(s); see `arena plugins`)" if len(bad) > 1 else ""
            raise PluginError(f"plugin {r.name!r} ({r.dist} {r.version}) is broken: {r.errors[0]}{more}; "
                              "ARENA_STRICT_PLUGINS=1 refuses to run with a broken plugin")

    def _load(self, entry_points: list[metadata.EntryPoint]) -> None:
        allowed = _allowed()
        # importlib lists distributions in sys.path and directory order, which differs between
        # machines; the order decides who keeps a contested name, so fix it: arena first.
        for ep in sorted(entry_points, key=_load_order):
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                dist=_dist_name(ep),
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
                self._fail(record, f"failed to import: {_short_error(exc)}")
                continue
            try:
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # pluggy validates hook signatures here
                self._fail(record, f"invalid hook implementation: {_short_error(exc)}")
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
                registry.add(name, factory, info, plugin=record.name, aliases=tuple(aliases), dist=record.dist,
                             dist_version=record.version)
            except NameTakenError as exc:
                # Keep the plugin's other registrations; the clash is reported, not fatal.
                self._clash(record, registry, exc)
                return
            names.append(name)

        return register

    def _clash(self, record: PluginRecord, registry: Registry[Any], exc: NameTakenError) -> None:
        """A name registered twice: the first holder keeps it unless both are third-party
        distributions, in which case neither may have it (no install order decides a result)."""
        holder = exc.holder
        held_by = self.plugins.get(holder.plugin) if holder is not None else None
        if held_by is None:  # a refused name, or no record
            self._fail(record, f"{exc}; {record.dist} cannot register it")
            return
        name = holder.name
        if held_by.builtin or normalise_dist(held_by.dist) == normalise_dist(record.dist):
            self._fail(record, f"{registry.kind} name {name!r} is already provided by {held_by.label()}; "
                               f"{record.dist} {record.version} cannot replace it: rename the {registry.kind}")
            return
        reason = (f"claimed by both {held_by.label()} and {record.label()}; "
                  "uninstall one of them or ask one to rename it")
        registry.refuse(name, reason)
        for r in (held_by, record):
            for attr in ("cells", "tasks", "executors"):
                names = getattr(r, attr)
                if name in names:
                    names.remove(name)
            self._fail(r, f"{registry.kind} name {name!r} refused: {reason}")

    def _call_registration_hooks(self) -> None:
        plan = [("register_cells", self.cells, "cells"), ("register_tasks", self.tasks, "tasks"),
                ("register_executors", self.executors, "executors")]
        for hook_name, registry, attr in plan:
            caller = getattr(self.pm.hook, hook_name)
            impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
            for plugin_name in [n for n in self.plugins if n in impls]:  # load order: arena first
                impl, record = impls[plugin_name], self.plugins[plugin_name]
                names: list[str] = getattr(record, attr)
                try:
                    impl.function(register=self._registrar(record, registry, names))
                except Exception as exc:  # noqa: BLE001 - contain any plugin bug
                    registry.remove_plugin(record.name)
                    names.clear()
                    self._fail(record, f"{hook_name} raised {_short_error(exc)}")

    def register_commands(self, cli: Any) -> None:
        impls = {impl.plugin_name: impl for impl in self.pm.hook.register_commands.get_hookimpls()}
        for record in [r for name, r in self.plugins.items() if name in impls]:
            impl = impls[record.name]
            try:
                impl.function(cli=cli)
            except Exception as exc:  # noqa: BLE001
                self._fail(record, f"register_commands raised {_short_error(exc)}")

    def versions(self) -> dict[str, str]:
        """Distribution → version of every loaded plugin (recorded with each run)."""
        return {r.dist: r.version for r in self.plugins.values()}


def _load_order(ep: metadata.EntryPoint) -> tuple[bool, str, str]:
    dist = normalise_dist(_dist_name(ep))
    return dist != ARENA_DIST, dist, ep.name


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "?"


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
