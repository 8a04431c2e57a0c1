"""Ordered, append-only schema migrations (llm's recipe, without Alembic).

Each migration is a function of a connection, applied once, its name recorded in
``_arena_migrations``. Never edit a released migration: add a new one.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, inspect, select, text

from arena.errors import StoreError
from arena.store import schema

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(conn: Connection) -> None:
    for table in (schema.environments, schema.runs, schema.metrics, schema.curves):
        table.create(conn, checkfirst=True)


@migration
def m002_throughput(conn: Connection) -> None:
    schema.throughput.create(conn, checkfirst=True)


@migration
def m003_chance(conn: Connection) -> None:
    """Chance levels stored with each run, so failures can be scored without the task plugin."""
    if "chance" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN chance TEXT"))


def applied(conn: Connection) -> list[str]:
    if not inspect(conn).has_table(schema.migrations_table.name):
        return []
    return [r[0] for r in conn.execute(select(schema.migrations_table.c.name))]


def migrate(conn: Connection) -> list[str]:
    """Apply pending migrations; returns their names. Refuses a store from a newer arena."""
    done = applied(conn)
    known = [name for name, _ in MIGRATIONS]
    newer = [name for name in done if name not in known]
    if newer:
        raise StoreError(
            f"the database was written by a newer arena (unknown migrations {newer}); upgrade arena to use it"
        )
    schema.migrations_table.create(conn, checkfirst=True)
    ran = []
    for name, fn in MIGRATIONS:
        if name not in done:
            fn(conn)
            conn.execute(schema.migrations_table.insert().values(
                name=name, applied_at=datetime.now(timezone.utc).isoformat()))
            ran.append(name)
    return ran


def pending(conn: Connection) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]
