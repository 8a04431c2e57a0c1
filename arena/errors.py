"""Errors that mean "the user asked for something that cannot be done".

The CLI prints them as one line on stderr and exits with status 2; nothing is stored.
"""
from __future__ import annotations


class ArenaError(Exception):
    """A user-facing error with a message that says what to do."""


class UnknownNameError(ArenaError, KeyError):
    """An unknown cell, task, preset, option or run key (the message suggests close names)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(ArenaError):
    """The results database cannot be opened, read or written."""


class PluginError(ArenaError):
    """A plugin is broken (raised only under ARENA_STRICT_PLUGINS=1; otherwise recorded)."""
