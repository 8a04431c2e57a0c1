"""Store access: which store the app reads, opening it read-only, and its revision.

Nothing in the app writes to the store: SQLite is opened with ``mode=ro``
(``open_store(write=False)``), other databases get read-only sessions, and every query is a
SQLAlchemy Core SELECT whose user input travels as bound parameters. :func:`revision` changes
whenever a run or benchmark row is added, finished, replaced or removed; everything the app
keeps is keyed on it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy import event, func, select

from arena.errors import StoreError
from arena.store import Store, open_store, schema

DB_ENV = "ARENA_APP_DB"


def db_url() -> str:
    """The store the app reads: ``$ARENA_APP_DB`` (set by `arena app --db`), ``$ARENA_DB``, or ""
    for the default — the user's own store read with the shipped board (arena.store.board)."""
    return os.environ.get(DB_ENV) or os.environ.get("ARENA_DB") or ""


def shown(url: str, store: Store | None = None) -> str:
    """The store as the sidebar names it."""
    if url:
        return f"`{url}`"
    if store is not None and store.board is not None:
        if store.board_only:
            return f"the shipped board `{store.board}`"
        return f"`{store.url}` with the shipped board `{store.board}`"
    from arena.store.board import user_url

    return f"`{user_url()}` with the shipped board"


def _read_only_sessions(store: Store) -> None:
    """Make every session of a server database read-only (SQLite is already opened mode=ro)."""
    backend = store.engine.dialect.name
    statement = {"postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                 "mysql": "SET SESSION TRANSACTION READ ONLY",
                 "mariadb": "SET SESSION TRANSACTION READ ONLY"}.get(backend)
    if statement is None:
        return

    @event.listens_for(store.engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()
        dbapi_conn.commit()

    store.engine.dispose()  # connections opened before the listener are not reused


@st.cache_resource(show_spinner=False, on_release=lambda store: store.close())
def open_readonly(url: str) -> Store:
    """The read-only store at ``url`` ("" the default: yours with the shipped board), one per URL
    per process. Raises StoreError."""
    store = open_store(url or None, write=False)
    _read_only_sessions(store)
    return store


def forget(url: str) -> None:
    """Drop a cached connection (after an error, so the next render reopens)."""
    open_readonly.clear(url)


def problem_kind(exc: StoreError) -> str:
    msg = str(exc)
    if "older schema" in msg:
        return "older-schema"
    if "no database at" in msg:
        return "missing"
    if "not an arena store" in msg:
        return "not-arena"
    return "error"


def _file_stamp(store: Store) -> tuple[Any, ...]:
    from arena.store.opening import sqlite_path

    try:
        path = sqlite_path(store.url)
    except Exception:  # noqa: BLE001 - not a file URL
        return ()
    if path is None:
        return ()
    out: list[Any] = []
    board = [store.board, Path(f"{store.board}-wal")] if store.board is not None else []
    for p in (path, Path(str(path) + "-wal"), *board):
        try:
            st_ = p.stat()
            out += [st_.st_mtime_ns, st_.st_size]
        except OSError:
            out += [None, None]
    return tuple(out)


def revision(store: Store) -> tuple[Any, ...]:
    """Changes whenever a run or benchmark row is added, finished, replaced or removed."""
    r, t = schema.runs.c, schema.throughput.c
    with store.engine.connect() as conn:
        by_status = tuple(sorted(tuple(x) for x in conn.execute(
            select(r.status, func.count()).group_by(r.status))))
        stamps = tuple(conn.execute(select(func.max(r.finished_at), func.max(r.started_at),
                                           func.max(r.created_at))).one())
        bench = tuple(conn.execute(select(func.count(), func.max(t.created_at))).one())
    return by_status, stamps, bench, _file_stamp(store)
