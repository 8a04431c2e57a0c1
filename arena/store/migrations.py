"""Ordered, append-only schema migrations (llm's recipe, without Alembic).

Each migration is a function of a connection, applied once, its name recorded in
``_arena_migrations``. Never edit a released migration: add a new one.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, MetaData, Table, delete, func, inspect, literal, select, text, update

from arena import __version__
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


@migration
def m004_run_provider(conn: Connection) -> None:
    """The distribution that provided the cell and the task joins every run's identity, so a
    plugin registering a built-in's name can never store or serve a result under its key.
    Existing runs get their provider (providers.legacy_provider) and a recomputed key; their
    metrics and curves follow. Tables are reflected, not taken from schema.py, so this stays
    what it is when later migrations change the tables."""
    from arena.keys import canonical_json, run_key
    from arena.store.providers import LEGACY_BUILTIN_CELLS, LEGACY_BUILTIN_TASKS, legacy_provider

    have = {c["name"] for c in inspect(conn).get_columns("runs")}
    for col in ("cell_dist", "cell_dist_version", "task_dist", "task_dist_version"):
        if col not in have:
            conn.execute(text(f"ALTER TABLE runs ADD COLUMN {col} VARCHAR(200)"))
    meta = MetaData()
    runs, metrics, curves = (Table(n, meta, autoload_with=conn) for n in ("runs", "metrics", "curves"))
    envs = {row.id: json.loads(row.data).get("plugins", {})
            for row in conn.execute(text("SELECT id, data FROM environments"))}
    for row in conn.execute(select(runs)).mappings().all():
        plugins = envs.get(row["env_id"], {})
        cell_dist, cell_ver = legacy_provider(row["cell"], LEGACY_BUILTIN_CELLS, plugins)
        task_dist, task_ver = legacy_provider(row["task"], LEGACY_BUILTIN_TASKS, plugins)
        identity = json.loads(row["spec"])
        identity["cell"]["dist"], identity["task"]["dist"] = cell_dist, task_dist
        values = {**row, "key": run_key(identity), "spec": canonical_json(identity), "cell_dist": cell_dist,
                  "cell_dist_version": cell_ver, "task_dist": task_dist, "task_dist_version": task_ver}
        # Insert under the new key, move the children, drop the old row: foreign keys hold throughout.
        conn.execute(runs.insert().values(**values))
        for child in (metrics, curves):
            conn.execute(update(child).where(child.c.run_key == row["key"]).values(run_key=values["key"]))
        conn.execute(delete(runs).where(runs.c.key == row["key"]))


def applied(conn: Connection) -> list[str]:
    if not inspect(conn).has_table(schema.migrations_table.name):
        return []
    return [r[0] for r in conn.execute(select(schema.migrations_table.c.name))]


#: PostgreSQL advisory lock key that serialises migrations (the first 8 bytes of a fixed hash).
LOCK_KEY = int.from_bytes(hashlib.blake2b(b"arena-migrations", digest_size=8).digest(), "big", signed=True)


def _columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(schema.migrations_table.name)}


def refuse_newer(conn: Connection, url: str) -> None:
    """Raise StoreError, naming both arena versions, if the store has migrations this arena lacks."""
    if not inspect(conn).has_table(schema.migrations_table.name):
        return
    t = schema.migrations_table.c
    version = t.arena_version if "arena_version" in _columns(conn) else literal(None)
    known = {name for name, _ in MIGRATIONS}
    rows = [r for r in conn.execute(select(t.name, version).order_by(t.applied_at, t.name)) if r[0] not in known]
    if not rows:
        return
    versions = [r[1] for r in rows if r[1]]
    writer = f"arena {versions[-1]}" if versions else "a newer arena"
    raise StoreError(f"the database {url}".strip() + f" was written by {writer} (schema migrations "
                     f"{', '.join(r[0] for r in rows)} unknown to this arena {__version__}); "
                     "upgrade arena: pip install -U rnn-arena")


def migrate(conn: Connection, url: str = "") -> list[str]:
    """Apply pending migrations in ``conn``'s transaction; returns their names.

    Refuses a store from a newer arena. Concurrent callers queue: on PostgreSQL behind an
    advisory lock held until the transaction ends, on SQLite behind the store's BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        # Processes creating the same tables at once collide in PostgreSQL's catalog (duplicate
        # key in pg_type_typname_nsp_index) instead of waiting for each other.
        conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    refuse_newer(conn, url)
    done = applied(conn)
    schema.migrations_table.create(conn, checkfirst=True)
    ran = []
    for name, fn in MIGRATIONS:
        if name not in done:
            fn(conn)
            row = {"name": name, "applied_at": datetime.now(timezone.utc).isoformat()}
            if "arena_version" in _columns(conn):  # a fresh table, or once m005 has added it
                row["arena_version"] = __version__
            conn.execute(schema.migrations_table.insert().values(**row))
            ran.append(name)
    return ran


def pending(conn: Connection) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]


@migration
def m005_migration_versions(conn: Connection) -> None:
    """The arena version that applied each migration, so a newer store is refused by version."""
    if "arena_version" not in _columns(conn):
        conn.execute(text("ALTER TABLE _arena_migrations ADD COLUMN arena_version VARCHAR(40)"))


@migration
def m006_sizes(conn: Connection) -> None:
    """The model's width and its parameters without the embedding table (what a budget counts)."""
    have = {c["name"] for c in inspect(conn).get_columns("runs")}
    for col in ("body_params", "width"):
        if col not in have:
            conn.execute(text(f"ALTER TABLE runs ADD COLUMN {col} INTEGER"))


@migration
def m007_weights(conn: Connection) -> None:
    """The sha256 of the run's kept weights (`arena run --keep-weights`; arena/checkpoints.py)."""
    if "weights_sha256" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN weights_sha256 VARCHAR(64)"))
