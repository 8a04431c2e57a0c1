"""The name a stored run is shown under, given the distribution that provided its cell or task.

A run's key includes the providing distribution, and so must every view of the store: runs of
``gru`` made by a plugin that registered that name are never pooled with arena's own ``gru``.
The rule: arena's own cells and tasks keep their bare names; a name that one distribution alone
provides in the store keeps it too; any other is shown as ``name (distribution)``.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import and_, case, select

from arena.contracts import ARENA_DIST
#: The provider of runs stored before providers were recorded, when it cannot be inferred.
UNKNOWN = "unknown"
#: The names arena 0.1 registered itself. Runs stored before m004 under these names are
#: attributed to arena: 0.1 recorded no provider, and a plugin could take a built-in name only
#: when it happened to load first (the defect m004 closes), which nothing stored can reveal.
LEGACY_BUILTIN_CELLS = frozenset({"gru", "lstm", "rnn", "mingru", "hsru", "hsru-bptt", "aru", "mogru", "momgru",
                                  "maru"})
LEGACY_BUILTIN_TASKS = frozenset({"copy", "adding", "counting", "sparse-events", "selective-copy", "interference",
                                  "trend", "parity", "cwru", "ag-news"})


def label_map(pairs: Iterable[tuple[str, str | None]]) -> dict[tuple[str, str | None], str]:
    """(name, distribution) → the label shown for it (see the module docstring)."""
    by_name: dict[str, set[str | None]] = {}
    for name, dist in pairs:
        by_name.setdefault(name, set()).add(dist)
    out = {}
    for name, dists in by_name.items():
        for dist in dists:
            bare = dist == ARENA_DIST or len(dists) == 1
            out[(name, dist)] = name if bare else f"{name} ({dist or UNKNOWN})"
    return out


def labelled(conn: Any, name_col: Any, dist_col: Any) -> Any:
    """A column expression giving each row's label; the plain column when no name is shared
    (the usual case, which keeps queries as fast as before)."""
    pairs = [(n, d) for n, d in conn.execute(select(name_col, dist_col).distinct())]
    renamed = {p: label for p, label in label_map(pairs).items() if label != p[0]}
    if not renamed:
        return name_col
    return case(*[(and_(name_col == n, dist_col == d), label) for (n, d), label in renamed.items()], else_=name_col)


def legacy_provider(name: str, builtin: frozenset[str], plugins: dict[str, str]) -> tuple[str, str | None]:
    """(distribution, version) of a run stored before providers were recorded.

    Built-in names go to arena; another name to the only third-party distribution loaded when
    the run was made (its environment lists them), else to ``unknown``: never a guess.
    """
    if name in builtin:
        return ARENA_DIST, plugins.get(ARENA_DIST)
    others = [d for d in plugins if d != ARENA_DIST]
    if len(others) == 1:
        return others[0], plugins[others[0]]
    return UNKNOWN, None
