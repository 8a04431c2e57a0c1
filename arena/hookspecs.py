"""The whole plugin contract of arena: four hooks, each handed a callback (llm style).

A plugin is a module listed under the entry-point group ``arena`` that implements any of
these hooks with ``@arena.hookimpl``. Built-in cells and tasks use exactly these hooks.
Specs evolve only by adding opt-in arguments, so existing plugins keep working.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click


hookspec = pluggy.HookspecMarker("arena")


@hookspec
def register_cells(register: Callable[..., None]) -> None:
    """Register recurrent cells.

    Call ``register(name, factory, info=CellInfo(...), aliases=())`` once per cell.
    ``factory`` is a ``"module:Class"`` string (imported only when the cell is built, so
    listing plugins never imports torch) or the class itself. The class subclasses
    ``arena.Cell`` and is called as ``factory(input_size, hidden_size, **options)``.
    """


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register benchmark tasks.

    Call ``register(name, factory, info=TaskInfo(...), aliases=())`` once per task.
    ``factory`` is a ``"module:Class"`` string or a subclass of ``arena.Task``; it is called
    as ``factory(**params)`` with the preset's parameters merged with ``--set`` overrides.
    """


@hookspec
def register_executors(register: Callable[..., None]) -> None:
    """Register executors that run planned runs somewhere (local pool, Slurm, Ray, ...).

    Call ``register(name, factory, summary="...")``; ``factory`` is a ``"module:Class"``
    string or a callable returning an executor.
    """


@hookspec
def register_commands(cli: "click.Group") -> None:
    """Add commands to the ``arena`` command line: ``@cli.command()`` inside the hook."""


HOOK_NAMES: tuple[str, ...] = ("register_cells", "register_tasks", "register_executors", "register_commands")
