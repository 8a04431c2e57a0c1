"""The results store: one SQL database reached through any SQLAlchemy URL.

Default: the user's own store, read together with the shipped board (arena.store.board);
``--db URL`` or ``ARENA_DB`` choose another, read alone. SQLite runs in WAL mode with a busy timeout, so readers never block the
writer and a killed process leaves a consistent file. Every run is written in its own
transaction the moment it ends: nothing finished is ever lost.
"""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from arena.errors import StoreError
from arena.keys import blake2, canonical_json
from arena.store import schema
from arena.store.opening import connect, explain, sqlite_path
from arena.store.providers import labelled
from arena.store.schema import FINISHED as FINISHED_STATUSES

def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_url() -> str:
    """``$ARENA_DB``, else the user's own store (arena.store.board.user_url)."""
    from arena.store.board import user_url

    return os.environ.get("ARENA_DB") or user_url()


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that marked a run "running" still exists (same host only)."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # cannot tell for another machine; assume it is still working
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


class Store:
    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        #: The shipped board read with this store (arena.store.board), and whether it is read alone.
        self.board: Any = None
        self.board_only = False

    # -- environments ---------------------------------------------------------------------
    def save_environment(self, env: Mapping[str, Any]) -> str:
        env_id = "e:" + blake2(dict(env), size=12)
        try:
            with self._begin() as conn:
                if conn.execute(select(schema.environments.c.id).where(schema.environments.c.id == env_id)).first():
                    return env_id
                conn.execute(schema.environments.insert().values(
                    id=env_id, created_at=now(), arena_version=env.get("arena"), python=env.get("python"),
                    torch=env.get("torch"), device=env.get("device"), cpu=env.get("cpu"), gpu=env.get("gpu"),
                    threads=env.get("threads"), git_sha=env.get("git_sha"), data=canonical_json(dict(env)),
                ))
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise  # else another process stored the same environment between our read and insert
        return env_id

    # -- runs -----------------------------------------------------------------------------
    def statuses(self, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """key → (status, owner) for the keys that are stored."""
        keys = list(keys)
        out: dict[str, tuple[str, str | None]] = {}
        r = schema.runs.c
        with self._connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                for row in conn.execute(select(r.key, r.status, r.owner).where(r.key.in_(chunk))):
                    out[row.key] = (row.status, row.owner)
        return out

    def start_run(self, spec: Any, *, env_id: str | None, device: str, main_metric: str,
                  directions: Mapping[str, bool], chance: Mapping[str, float] | None = None,
                  force: bool = False, retry_failed: bool = False) -> bool:
        """Claim the run for this process and record it as running; False if it is not ours to run.

        Several `arena run` processes may share a store: the check and the claim happen in one
        write transaction (BEGIN IMMEDIATE on SQLite; a locked row or a primary-key race elsewhere), so
        a run that another process finished or is running is never trained or replaced twice.
        """
        r = schema.runs.c
        # The lock is this transaction, not a file lock (filelock): it must hold on any SQL server, across machines.
        try:
            with self._begin() as conn:
                # FOR UPDATE: on a server at READ COMMITTED a bare DELETE would also remove a row
                # another process committed after our SELECT, and both would train the run.
                row = conn.execute(select(r.status, r.owner).where(r.key == spec.key).with_for_update()).first()
                if row is not None and row.owner != owner_id():
                    if row.status in FINISHED_STATUSES and not force:
                        return False
                    if row.status == "failed" and not (retry_failed or force):
                        return False
                    if row.status == "running" and owner_alive(row.owner):
                        return False
                if row is not None:  # none: the insert's primary key settles a race
                    self._delete(conn, spec.key)
                conn.execute(schema.runs.insert().values(
                    key=spec.key, cell=spec.cell, task=spec.task, preset=spec.preset, seed=spec.seed,
                    cell_dist=spec.cell_dist, task_dist=spec.task_dist,
                    status="running", cell_version=spec.cell_version, task_version=spec.task_version,
                    cell_options=canonical_json(spec.cell_options), params=canonical_json(spec.params),
                    train=canonical_json(spec.train), spec=canonical_json(spec.identity()),
                    main_metric=main_metric, directions=canonical_json(dict(directions)),
                    chance=canonical_json(dict(chance or {})),
                    data_seed=str(spec.data_seed), init_seed=str(spec.init_seed), device=device,
                    env_id=env_id, owner=owner_id(), created_at=now(), started_at=now(),
                ))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False  # another process inserted the same key first
            raise
        return True

    def finish_run(self, key: str, *, status: str, metrics: Mapping[str, Mapping[str, float]] | None = None,
                   curves: list[Mapping[str, float]] | None = None, error: str | None = None,
                   **fields: Any) -> None:
        """Store the outcome of a run in one transaction: row, metrics and curves together."""
        if status not in schema.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._begin() as conn:
            if isinstance(fields.get("chance"), Mapping):
                fields["chance"] = canonical_json(dict(fields["chance"]))
            conn.execute(update(schema.runs).where(schema.runs.c.key == key).values(
                status=status, error=error, finished_at=now(), owner=None, **fields))
            conn.execute(delete(schema.metrics).where(schema.metrics.c.run_key == key))
            conn.execute(delete(schema.curves).where(schema.curves.c.run_key == key))
            rows = [{"run_key": key, "split": split, "name": name, "value": _finite(v)}
                    for split, values in (metrics or {}).items() for name, v in values.items()]
            if rows:
                conn.execute(schema.metrics.insert(), rows)
            crow = [{"run_key": key, "epoch": int(c["epoch"]), "name": name, "value": _finite(v)}
                    for c in (curves or []) for name, v in c.items() if name != "epoch"]
            if crow:
                conn.execute(schema.curves.insert(), crow)

    def _delete(self, conn: Any, key: str) -> None:
        conn.execute(delete(schema.metrics).where(schema.metrics.c.run_key == key))
        conn.execute(delete(schema.curves).where(schema.curves.c.run_key == key))
        conn.execute(delete(schema.runs).where(schema.runs.c.key == key))

    def save_throughput(self, rows: list[Mapping[str, Any]], env_id: str) -> None:
        """Store benchmark rows in one transaction (replacing earlier rows with the same key)."""
        cols = {c.name for c in schema.throughput.columns}
        with self._begin() as conn:
            for row in rows:
                ident = {k: row.get(k) for k in ("model", "seq_len", "hidden", "batch", "input_size", "mode",
                                                 "device", "compile")}
                ident["cell_options"] = row.get("cell_options", {})
                key = "t:" + blake2({"env": env_id, **ident}, size=16)
                values = {k: v for k, v in row.items() if k in cols}
                values.update(key=key, env_id=env_id, created_at=now(),
                              cell_options=canonical_json(dict(row.get("cell_options", {}))))
                conn.execute(delete(schema.throughput).where(schema.throughput.c.key == key))
                conn.execute(schema.throughput.insert().values(**values))

    def throughput(self, model: str | None = None) -> list[dict[str, Any]]:
        t = schema.throughput.c
        q = select(schema.throughput).order_by(t.device_name, t.model, t.mode, t.hidden, t.seq_len)
        if model:
            q = q.where(t.model == model)
        with self._connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- reading --------------------------------------------------------------------------
    def runs(self, *, keys: Iterable[str] | None = None, cell: str | None = None, task: str | None = None,
             statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Stored runs; ``cell`` and ``task`` are the names shown (providers.labelled), which
        carry the providing distribution where two share a name (``cell`` / ``task`` filters
        take those too); ``cell_name`` and ``task_name`` are the registered names."""
        r = schema.runs.c
        with self._connect() as conn:
            cell_col, task_col = labelled(conn, r.cell, r.cell_dist), labelled(conn, r.task, r.task_dist)
            others = [c for c in schema.runs.c if c.name not in ("cell", "task")]
            q = (select(*others, cell_col.label("cell"), task_col.label("task"), r.cell.label("cell_name"),
                        r.task.label("task_name")).order_by(task_col, cell_col, r.preset, r.seed))
            if keys is not None:
                q = q.where(r.key.in_(list(keys)))
            if cell:
                q = q.where(cell_col == cell)
            if task:
                q = q.where(task_col == task)
            if statuses is not None:
                q = q.where(r.status.in_(list(statuses)))
            rows = [dict(row._mapping) for row in conn.execute(q)]
        for row in rows:
            for col in ("cell_options", "params", "train", "spec", "directions", "chance"):
                row[col] = json.loads(row[col]) if row[col] else {}
        return rows

    def metrics(self, keys: Iterable[str] | None = None, split: str | None = None) -> dict[str, dict[str, dict[str, float]]]:
        """run key → split → metric → value."""
        m = schema.metrics.c
        q = select(m.run_key, m.split, m.name, m.value)
        if keys is not None:
            q = q.where(m.run_key.in_(list(keys)))
        if split:
            q = q.where(m.split == split)
        out: dict[str, dict[str, dict[str, float]]] = {}
        with self._connect() as conn:
            for row in conn.execute(q):
                out.setdefault(row.run_key, {}).setdefault(row.split, {})[row.name] = row.value
        return out

    def curves(self, key: str) -> list[dict[str, float]]:
        c = schema.curves.c
        by_epoch: dict[int, dict[str, float]] = {}
        with self._connect() as conn:
            for row in conn.execute(select(c.epoch, c.name, c.value).where(c.run_key == key).order_by(c.epoch)):
                by_epoch.setdefault(row.epoch, {"epoch": row.epoch})[row.name] = row.value
        return [by_epoch[e] for e in sorted(by_epoch)]

    def environments(self) -> dict[str, dict[str, Any]]:
        with self._connect() as conn:
            return {row.id: json.loads(row.data) for row in conn.execute(select(schema.environments))}

    def find_keys(self, prefix: str) -> list[str]:
        """Up to 5 run keys that start with ``prefix``, taken literally (``_`` and ``%`` too)."""
        r = schema.runs.c
        with self._connect() as conn:
            # autoescape: LIKE would read "_" as any character and "%" as anything.
            return [row[0] for row in conn.execute(select(r.key).where(r.key.startswith(prefix, autoescape=True))
                                                   .limit(5))]

    # -- plumbing -------------------------------------------------------------------------
    def _connect(self) -> Any:
        return _Guard(self.engine.connect(), self.url, commit=False)

    def _begin(self) -> Any:
        return _Guard(self.engine.begin(), self.url, commit=True)

    def close(self) -> None:
        self.engine.dispose()


class _Guard:
    """Turns driver errors into one-line StoreErrors naming the database."""

    def __init__(self, ctx: Any, url: str, commit: bool) -> None:
        self.ctx, self.url = ctx, url

    def __enter__(self) -> Any:
        try:
            return self.ctx.__enter__()
        except SQLAlchemyError as exc:
            raise StoreError(explain(exc, self.url)) from exc

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            result = self.ctx.__exit__(*exc_info)
        except SQLAlchemyError as exc:
            raise StoreError(explain(exc, self.url)) from exc
        if exc_info[1] is not None and isinstance(exc_info[1], SQLAlchemyError):
            raise StoreError(explain(exc_info[1], self.url)) from exc_info[1]
        return result


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def open_store(url: str | None = None, *, write: bool = True) -> Store:
    """Open (and migrate, when writing) the store at ``url`` (default: the user's own store,
    read together with the shipped board; arena.store.board).

    Raises StoreError with one clear sentence for a bad URL, a missing driver, an unreachable
    server, a missing or unwritable directory, a corrupt file or a store of a newer arena.
    Read-only opens never create or change anything (arena.store.opening).
    """
    from arena.store import board as shipped

    explicit = url or os.environ.get("ARENA_DB")
    if explicit:
        return Store(*connect(explicit, write=write))
    target = shipped.user_url()
    path = sqlite_path(target)
    if write:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        return Store(*connect(target, write=True))
    board = shipped.board_path()
    if board is None:
        return Store(*connect(target, write=False))
    if path is None or not path.exists():  # nothing of the user's yet: the board alone
        store = Store(*connect(f"sqlite:///{board}", write=False))
        store.board, store.board_only = board, True
        return store
    shown, engine = connect(target, write=False)
    shipped.attach(engine, board)
    engine.dispose()  # connections made while checking the store were opened without the board
    shipped.check_board(engine, board)
    store = Store(shown, engine)
    store.board = board
    return store
