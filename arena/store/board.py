"""The shipped board beside the user's own store: where each lives, and reading both as one.

- **The shipped board** is the leaderboard that comes with arena, read-only: ``$ARENA_BOARD`` (a
  path to an SQLite file; ``none`` turns it off), else the package data ``arena/leaderboard.db``
  (in a checkout, a link to the repository's ``leaderboard.db``).
- **The user's store** is the default ``--db``: ``$ARENA_DB``, else
  ``sqlite:///<ARENA_HOME>/leaderboard.db`` with ``ARENA_HOME`` = ``$XDG_DATA_HOME/arena`` or
  ``~/.local/share/arena``. ``arena run`` writes there, never into the shipped board (the
  maintainers fill that one with an explicit ``--db sqlite:///leaderboard.db``).

Reading the default store shows both: a read-only SQLite connection to the user's store
ATTACHes the board and defines TEMP views named like the tables (SQLite resolves a name in
``temp`` first), each the user's rows plus the board's rows whose run key the user's store
lacks. Every reader (leaderboard, compare, export, the app) then sees the union without knowing;
writes never go through such a connection. A run's ``shipped`` mark comes from
``board_keys``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from arena.errors import StoreError

BOARD_ENV = "ARENA_BOARD"
#: The tables read as one, and the column that decides whether a board row is shown: its own key,
#: or (metrics, curves) its run's key — shown when the user's store lacks that row or run.
UNION: dict[str, str] = {"runs": "key", "metrics": "run_key", "curves": "run_key", "environments": "id",
                         "throughput": "key"}


def board_path() -> Path | None:
    """The shipped board's file, or None when there is none (or ``ARENA_BOARD=none``)."""
    env = os.environ.get(BOARD_ENV)
    if env is not None and env.strip():
        if env.strip().lower() == "none":
            return None
        path = Path(env).expanduser()
        if not path.is_file():
            raise StoreError(f"{BOARD_ENV}={env} is not a file: point it at a board's SQLite file, or set it to none")
        return path.resolve()
    packaged = Path(__file__).resolve().parent.parent / "leaderboard.db"  # arena/leaderboard.db
    return packaged.resolve() if packaged.is_file() else None


def home() -> Path:
    if os.environ.get("ARENA_HOME"):
        return Path(os.environ["ARENA_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "arena"


def user_url() -> str:
    """The user's own store: where `arena run` writes by default."""
    return f"sqlite:///{home() / 'leaderboard.db'}"


def is_board(url: str) -> bool:
    """Whether ``url`` is the shipped board's own file."""
    from arena.store.opening import sqlite_path

    path, board = sqlite_path(url), board_path()
    return path is not None and board is not None and path.exists() and path.resolve() == board


def attach(engine: Engine, board: Path) -> None:
    """On every connection of ``engine`` (read-only SQLite): the board as schema ``board`` and the
    union views over it (see the module docstring)."""
    from arena.store import schema
    from arena.store.opening import immutable

    uri = f"file:{board}?mode=ro" + "&immutable=1" * immutable(board)  # immutable=1 ignores a -wal file

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("ATTACH DATABASE ? AS board", (uri,))
        for name, col in UNION.items():
            cols = ", ".join(f'"{c.name}"' for c in schema.metadata.tables[name].columns)
            mine = "main.runs" if col == "run_key" else f'main."{name}"'
            missing = f'"{col}" NOT IN (SELECT "{"key" if col == "run_key" else col}" FROM {mine})'
            cur.execute(f'CREATE TEMP VIEW IF NOT EXISTS "{name}" AS SELECT {cols} FROM main."{name}" '
                        f'UNION ALL SELECT {cols} FROM board."{name}" WHERE {missing}')
        cur.close()


def check_board(engine: Engine, board: Path) -> None:
    """Refuse a board whose schema differs from this arena's (its columns would not line up)."""
    from arena.store import migrations

    with engine.connect() as conn:
        have = {r[0] for r in conn.exec_driver_sql("SELECT name FROM board._arena_migrations")}
    known = {name for name, _ in migrations.MIGRATIONS}
    if have != known:
        newer, older = sorted(have - known), sorted(known - have)
        why = f"migrations {', '.join(newer)} unknown to this arena" if newer else f"it lacks {', '.join(older)}"
        raise StoreError(f"the shipped board {board} has another schema ({why}); set {BOARD_ENV}=none to "
                         "read your store alone")


def board_keys(store: Any) -> set[str]:
    """Keys of the runs shown from the shipped board (empty when the store is not a union)."""
    if not getattr(store, "board", None):
        return set()
    with store.engine.connect() as conn:
        if store.board_only:
            return {r[0] for r in conn.exec_driver_sql('SELECT "key" FROM runs')}
        return {r[0] for r in conn.exec_driver_sql(
            'SELECT "key" FROM board.runs WHERE "key" NOT IN (SELECT "key" FROM main.runs)')}
