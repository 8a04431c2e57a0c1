"""Named, lazily imported factories for cells, tasks and executors.

A factory is either an object or a ``"package.module:Attribute"`` string that is imported only
when the thing is built, so listing what is installed never imports torch.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

from arena.errors import UnknownNameError

InfoT = TypeVar("InfoT")


class NameTakenError(ValueError):
    """Raised when a plugin registers a name another plugin already holds."""

    def __init__(self, message: str, holder: "Entry[Any] | None" = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass
class Entry(Generic[InfoT]):
    """One registered name. ``dist`` (the providing distribution) is part of every run's
    identity, so a result made by one implementation is never served as another's."""

    name: str
    factory: Any
    info: InfoT
    plugin: str
    aliases: tuple[str, ...] = ()
    dist: str = ""
    dist_version: str = ""
    _resolved: Any = field(default=None, repr=False)

    def load(self) -> Any:
        """The factory itself, importing ``module:Attribute`` strings on first use."""
        if self._resolved is None:
            self._resolved = resolve(self.factory)
        return self._resolved


def resolve(factory: Any) -> Any:
    if not isinstance(factory, str):
        return factory
    module_name, sep, attr = factory.partition(":")
    if not sep or not attr:
        raise ValueError(f"lazy factory {factory!r} must look like 'package.module:Attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return f" Did you mean {' or '.join(repr(c) for c in close)}?"
    return f" Known: {', '.join(sorted(choices))}." if choices else " None is installed."


class Registry(Generic[InfoT]):
    """Entries of one kind ("cell", "task", "executor") keyed by name and alias."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[InfoT]] = {}
        self._aliases: dict[str, str] = {}
        #: Names no plugin may hold (claimed by two third-party plugins): name → why.
        self.refused: dict[str, str] = {}
        #: Appended to "unknown name" errors: which plugins failed to load, and why.
        self.hint: Callable[[], str] = lambda: ""

    def add(self, name: str, factory: Any, info: InfoT, plugin: str, aliases: tuple[str, ...] = (),
            dist: str = "", dist_version: str = "") -> None:
        """Register ``name``; never replaces an earlier registration (raises NameTakenError)."""
        if not isinstance(name, str) or not name or name != name.strip() or "," in name:
            raise ValueError(f"{self.kind} name {name!r} must be a non-empty string without commas or spaces")
        for n in (name, *aliases):
            if n in self.refused:
                raise NameTakenError(f"{self.kind} name {n!r} is refused: {self.refused[n]}")
            holder = self._holder(n)
            if holder is not None:
                raise NameTakenError(f"{self.kind} name {n!r} is already registered by plugin {holder.plugin!r}",
                                     holder)
        self._entries[name] = Entry(name, factory, info, plugin, tuple(aliases), dist, dist_version)
        for a in aliases:
            self._aliases[a] = name

    def refuse(self, name: str, reason: str) -> Entry[InfoT] | None:
        """Take ``name`` away from whoever holds it and let nobody register it again."""
        self.refused[name] = reason
        holder = self._holder(name)
        if holder is not None:
            self._entries.pop(holder.name, None)
            for a in holder.aliases:
                self._aliases.pop(a, None)
        return holder

    def remove_plugin(self, plugin: str) -> None:
        """Drop everything a plugin registered (used when its hook raised half-way)."""
        for name in [n for n, e in self._entries.items() if e.plugin == plugin]:
            entry = self._entries.pop(name)
            for a in entry.aliases:
                self._aliases.pop(a, None)

    def _holder(self, name: str) -> Entry[InfoT] | None:
        if name in self._entries:
            return self._entries[name]
        if name in self._aliases:
            return self._entries[self._aliases[name]]
        return None

    def get(self, name: str) -> Entry[InfoT]:
        entry = self._holder(name)
        if entry is None:
            if name in self.refused:
                raise UnknownNameError(f"{self.kind} {name!r} is unavailable: {self.refused[name]}")
            raise UnknownNameError(f"unknown {self.kind} {name!r}." + suggest(name, self.names()) + self.hint())
        return entry

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._holder(name) is not None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry[InfoT]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)
