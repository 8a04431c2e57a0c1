"""The app's cache folder: computed statistics kept by a hash of what they depend on.

Results are kept in memory and as JSON files in ``$ARENA_APP_CACHE_DIR`` (default
``~/.cache/arena/app``; ``off`` keeps them in memory only), under a digest of exactly the rows
they were computed from plus :func:`fingerprint`, the source of the code that computes them, so
an upgrade never serves stale numbers. :mod:`arena.app.frame` keeps the loaded runs of the
store's latest revision in the same folder.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from arena import files

CACHE_ENV = "ARENA_APP_CACHE_DIR"
_MEMO_MAX = 20_000

_lock = threading.RLock()
_memo: OrderedDict[str, Any] = OrderedDict()


def cache_dir() -> Path | None:
    """The cache folder, or None when ``$ARENA_APP_CACHE_DIR`` is ``off``."""
    raw = os.environ.get(CACHE_ENV)
    if raw is not None and raw.strip().lower() in ("", "off", "0", "none", "-"):
        return None
    if raw:
        return Path(raw).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "arena" / "app"


@functools.cache
def fingerprint() -> str:
    """Hash of the code whose output is cached: arena's statistics and the app modules that
    shape what they are given."""
    import arena.across_tasks
    import arena.leaderboard
    import arena.results
    import arena.stats
    import arena.tracks
    from arena.leaderboard import BOARD_BOOT

    here = Path(__file__).parent
    files = [Path(arena.leaderboard.__file__), Path(arena.across_tasks.__file__), Path(arena.results.__file__),
             Path(arena.tracks.__file__), here / "frame.py", here / "boards.py"]
    files += sorted(Path(arena.stats.__file__).parent.glob("*.py"))
    h = hashlib.blake2b(digest_size=8)
    for f in files:
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(str(f).encode())
    h.update(str(BOARD_BOOT).encode())
    return h.hexdigest()


def write_atomic(path: Path, write: Callable[[Path], None]) -> bool:
    """:func:`arena.files.write_atomic`, or False when the folder is not writable (a cache that
    cannot be written only costs speed)."""
    try:
        files.write_atomic(path, write)
        return True
    except OSError:
        return False


def jsonable(obj: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars, sets and tuples."""
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


# By hand: st.cache_data cannot tell if a value is cached without computing it, nor write files outside a script run.
def is_cached(kind: str, digest: str) -> bool:
    key = f"{kind}-{digest}"
    with _lock:
        if key in _memo:
            return True
    folder = cache_dir()
    return bool(folder and (folder / f"{key}.json").is_file())


def cached(kind: str, digest: str, compute: Callable[[], Any]) -> Any:
    """compute() once per digest: memory first, then a JSON file, then compute and save both."""
    key = f"{kind}-{digest}"
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    folder = cache_dir()
    path = folder / f"{key}.json" if folder else None
    value: Any = None
    hit = False
    if path is not None and path.is_file():
        try:
            value, hit = json.loads(path.read_text(encoding="utf-8")), True
        except (OSError, ValueError):
            hit = False
    if not hit:
        text = json.dumps(compute(), default=jsonable)
        if path is not None:
            write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        value = json.loads(text)  # same types as a cache hit
    with _lock:
        _memo[key] = value
        while len(_memo) > _MEMO_MAX:
            _memo.popitem(last=False)
    return value


def clear_memory() -> None:
    """Forget the results kept in memory (the files stay): what a restarted app starts with."""
    with _lock:
        _memo.clear()
