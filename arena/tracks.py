"""Tracks: how a run's model was built, so that only like is compared with like.

- ``bare``: one bare cell at a hidden size (the first board);
- ``matched``: one bare cell sized to a parameter budget (``--budget``);
- ``matched L×block`` / ``bare L×block``: L layers in a shared block (``--layers``, ``--block``).

Every view groups settings by track and never pools runs of different tracks. A track is a
function of a run's training settings only.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

#: The order tracks are shown in: the matched track first (equal capacity), then the bare board.
ORDER = ("matched", "bare")


def track_of(train: Mapping[str, Any]) -> str:
    """The track of a run from its training settings (fields left out are at their defaults)."""
    base = "matched" if train.get("budget") else "bare"
    layers, block = int(train.get("layers", 1)), str(train.get("block", "none"))
    if layers == 1 and block == "none":
        return base
    return f"{base} {layers}×{block}"


def sort_key(track: str) -> tuple[int, str]:
    return (ORDER.index(track) if track in ORDER else len(ORDER), track)


def ordered(tracks: Iterable[str]) -> list[str]:
    return sorted(set(tracks), key=sort_key)


def pick(available: Iterable[str], wanted: str | None) -> str | None:
    """``wanted`` if stored, else the first track in ORDER that is; ArenaError for an unknown name."""
    have = ordered(available)
    if wanted is None:
        return have[0] if have else None
    if wanted not in have:
        from arena.errors import ArenaError

        raise ArenaError(f"no track {wanted!r} in the store; its tracks: {', '.join(have) or 'none'}")
    return wanted
