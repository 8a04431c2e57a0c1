"""arena: an open benchmark and leaderboard for recurrent neural network cells.

The public API a plugin needs is importable from here without importing torch:

    from arena import hookimpl, CellInfo, TaskInfo, Metric, Preset, Task

`arena.Cell` (the torch base class of every cell) is resolved lazily on first access, so that
`arena --help`, `arena list` and `arena plugins` never pay for importing torch.
"""
from __future__ import annotations

from typing import Any

import pluggy

from arena.contracts import CellInfo, Metric, Preset, TaskInfo
from arena.task import Task

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("arena")

__all__ = ["hookimpl", "CellInfo", "TaskInfo", "Metric", "Preset", "Task", "Cell", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that importing arena never imports torch (see module docstring).
    if name == "Cell":
        from arena.cell import Cell

        return Cell
    raise AttributeError(f"module 'arena' has no attribute {name!r}")
