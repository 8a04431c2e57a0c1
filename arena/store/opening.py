"""Opening a store: URL checks, the driver, SQLite's file modes and pragmas, migrations.

``connect`` turns every way a database can be unusable (a bad URL, a missing driver, an
unreachable server, a missing or unwritable directory, a corrupt file, a schema from another
arena) into one StoreError sentence; reads never create or change anything.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from arena.errors import StoreError
from arena.store import migrations


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database or ""
    if db in ("", ":memory:") or db.startswith("file:"):
        return None
    return Path(db)


def writable(p: Path) -> bool:
    # Mode bits too: root passes access() anywhere, yet must leave what nobody may write alone.
    return os.access(p, os.W_OK) and bool(p.stat().st_mode & 0o222)


def immutable(path: Path) -> bool:
    """Whether a read-only open tells SQLite that the file cannot change (immutable=1)."""
    # A WAL reader needs a -shm file, which a read-only directory cannot get; immutable=1 needs
    # none but takes no locks and ignores the WAL, so it is sound only when nobody can write:
    # arena's writers refuse what is not writable, and a writer (live or crashed) leaves a -wal.
    wal = Path(f"{path.resolve()}-wal")
    return not wal.exists() and not (writable(wal.parent) and writable(path.resolve()))


def explain(exc: BaseException, url: str) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if "not a database" in msg or "malformed" in msg:
        return f"the database {url} is corrupt or not an SQLite file ({msg})"
    if "readonly" in msg or "read-only" in msg:
        return f"the database {url} is not writable ({msg})"
    return f"cannot use the database {url}: {msg}"


def connect(url: str, *, write: bool) -> tuple[str, Engine]:
    """The URL to show (password hidden) and an engine on a usable arena store at ``url``:
    migrated when ``write``, else checked to be current without changing anything."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"bad database URL {url!r}: use e.g. sqlite:///leaderboard.db or postgresql://user@host/db") from None
    path = sqlite_path(url)
    if path is not None:
        if not write and not path.exists():
            raise StoreError(f"no database at {path} (run `arena run ...` first, or pass --db URL)")
        if path.exists() and path.is_dir():
            raise StoreError(f"the database path {path} is a directory")
        parent = path.resolve().parent
        if write:
            if not parent.is_dir():
                raise StoreError(f"cannot create the database {path}: directory {parent} does not exist")
            if not writable(parent) or (path.exists() and not writable(path)):
                raise StoreError(f"the database {path} is not writable (check file and directory permissions)")
        if path.exists() and path.stat().st_size > 0:
            with open(path, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise StoreError(f"the database {path} is corrupt or not an SQLite file")
    kwargs: dict[str, Any] = {}
    target: Any = parsed
    if parsed.get_backend_name() == "sqlite":
        # isolation_level=None hands transaction control to SQLAlchemy's "begin" event below.
        kwargs["connect_args"] = {"timeout": 30, "isolation_level": None}
        if not write and path is not None:
            target = f"sqlite:///file:{path.resolve()}?mode=ro{'&immutable=1' * immutable(path)}&uri=true"
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.drivername == "postgresql":  # SQLAlchemy 2.0 maps it to psycopg2, 2.1 to psycopg 3
            target = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(target, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        hint = "pip install 'rnn-arena[postgres]'" if parsed.get_backend_name() == "postgresql" else "install it"
        raise StoreError(f"no database driver for {parsed.drivername!r} ({exc}); {hint}") from None
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        sqlite_pragmas(engine, write)
    shown = parsed.render_as_string(hide_password=True)
    try:
        if write:
            with engine.begin() as conn:
                migrations.migrate(conn, shown)
        else:
            with engine.connect() as conn:
                if not inspect(conn).has_table("runs"):
                    raise StoreError(f"{shown} is not an arena store (it has no runs table)")
                migrations.refuse_newer(conn, shown)
                if migrations.pending(conn):
                    raise StoreError(f"{shown} uses an older schema; open it once with a writing command "
                                     "(e.g. `arena run`) to migrate it")
                conn.execute(text("SELECT count(*) FROM runs")).scalar()
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, DBAPIError, OSError) as exc:
        engine.dispose()
        raise StoreError(explain(exc, shown)) from exc
    return shown, engine


def sqlite_pragmas(engine: Engine, write: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA foreign_keys = ON")
        if write:
            # WAL: readers never block the writer, and a killed writer leaves a consistent file.
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock at the start of every transaction: a read-then-write claim can
        # then never deadlock against another process (a deferred transaction would fail its
        # lock upgrade with "database is locked" instead of waiting).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
