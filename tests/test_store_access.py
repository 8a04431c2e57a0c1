"""Opening stores where they lie (issue 15): read-only directories, newer stores, PostgreSQL.

Real stores made by the real ``arena`` command; PostgreSQL tests use the throwaway server of
tests/pg.py with the plain ``postgresql://`` URLs the README documents.
"""
import os
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import arena as arena_pkg
from arena.store import opening
from arena.errors import StoreError
from arena.store import migrations, open_store

from .conftest import run_arena

SMOKE = ("--preset", "smoke", "--set", "epochs=1")


# -- (10) a store in a read-only directory ---------------------------------------------------
def test_immutable_only_where_nobody_can_write(tmp_path, monkeypatch):
    d = tmp_path / "d"
    d.mkdir()
    db = d / "s.db"
    db.write_bytes(b"")
    assert not opening.immutable(db)  # writable file and directory: a writer may come along
    with monkeypatch.context() as m:  # as an unprivileged user meets a directory it may not write
        m.setattr(os, "access", lambda *a, **kw: False)
        assert opening.immutable(db)
    # Permission bits decide too (root passes access() anywhere): as root, the same answer.
    d.chmod(0o555)
    try:
        assert opening.immutable(db)
    finally:
        d.chmod(0o755)
    db.chmod(0o444)
    assert opening.immutable(db)
    (d / "s.db-wal").touch()  # a live or crashed writer: commits in the WAL, which immutable ignores
    assert not opening.immutable(db)


def test_writers_leave_a_read_only_directory_alone(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:  # refused by the permission bits, so as root too: readers rely on it (_immutable)
        with pytest.raises(StoreError, match="not writable"):
            open_store(f"sqlite:///{ro / 'x.db'}")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_read_commands_on_a_store_in_a_read_only_directory(arena, tmp_path, monkeypatch):
    made = tmp_path / "made.db"
    res = run_arena("run", "-m", "gru,rnn", "-t", "adding", "--seeds", "0-1", *SMOKE, "--db", f"sqlite:///{made}",
                    cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not Path(f"{made}-wal").exists()  # the writer checkpointed: the file holds every run
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "s.db").write_bytes(made.read_bytes())
    (ro / "s.db").chmod(0o444)
    ro.chmod(0o555)
    url = f"sqlite:///{ro / 's.db'}"
    monkeypatch.setenv("ARENA_APP_CACHE_DIR", "off")
    try:
        runs = arena.json("export", "--db", url)
        assert len(runs) == 4 and {r["status"] for r in runs} == {"done"}
        assert {r["cell"] for r in arena.json("leaderboard", "--format", "json", "--db", url)} == {"gru", "rnn"}
        assert arena.json("compare", "gru", "rnn", "--format", "json", "--db", url)[0]["n"] == 2
        assert arena.json("show", runs[0]["key"][:10], "--db", url)["key"] == runs[0]["key"]
        res = run_arena("leaderboard", "--db", url, cwd=tmp_path)  # the console script too
        assert res.returncode == 0 and "gru" in res.stdout, res.stderr
        from arena.app import data  # the app opens stores the same way

        try:
            assert len(data.load_frame(data.open_readonly(url)).runs) == 4
        finally:
            data.forget(url)
        # Nothing was created beside the store (root could have made -shm and -wal files).
        assert sorted(p.name for p in ro.iterdir()) == ["s.db"]
    finally:
        ro.chmod(0o755)


# -- (10) a store from a newer arena ----------------------------------------------------------
def test_new_migrations_record_the_arena_version(db_url):
    store = open_store(db_url)
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, arena_version FROM _arena_migrations").all()
    assert {name for name, _ in rows} == {name for name, _ in migrations.MIGRATIONS}
    assert {v for _, v in rows} == {arena_pkg.__version__}


def test_store_from_a_newer_arena_is_refused_by_every_command(arena, db_url, tmp_path):
    arena("run", "-m", "gru,rnn", "-t", "adding", "--seeds", "0", *SMOKE, "--db", db_url)
    key = arena.json("export", "--db", db_url)[0]["key"]
    con = sqlite3.connect(tmp_path / "test.db")
    con.execute("INSERT INTO _arena_migrations (name, applied_at, arena_version) "
                "VALUES ('m009_future', '2999-01-01T00:00:00+00:00', '0.3.0')")
    con.commit()
    con.close()
    for args in (("leaderboard",), ("export",), ("show", key[:10]), ("compare", "gru", "rnn"),
                 ("run", "-m", "gru", "-t", "adding", "--seeds", "1", *SMOKE)):
        res = arena(*args, "--db", db_url, ok=False)
        assert res.exit_code == 2, (args, res.output)
        (line,) = res.stderr.strip().splitlines()
        assert "written by arena 0.3.0" in line and f"unknown to this arena {arena_pkg.__version__}" in line, line
        assert "m009_future" in line and "pip install -U rnn-arena" in line, line


# -- (12) psycopg 3 behind plain postgresql:// URLs -----------------------------------------
def test_missing_postgresql_driver_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    with pytest.raises(StoreError, match=r"pip install 'rnn-arena\[postgres\]'"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_plain_postgresql_url_uses_psycopg_3(postgres):
    url = postgres.create_database(f"arena_plain_{os.getpid()}")
    assert url.startswith("postgresql://")
    store = open_store(url)
    # Rewritten explicitly, so SQLAlchemy 2.0 (which maps a bare URL to psycopg2) agrees with 2.1.
    assert store.engine.url.drivername == "postgresql+psycopg" and store.engine.dialect.driver == "psycopg"
    assert store.url == url and open_store(url, write=False).runs() == []


# -- (13) concurrent first runs on a fresh PostgreSQL database ------------------------------
def test_four_runs_at_once_on_a_fresh_postgresql_database(postgres, tmp_path):
    url = postgres.create_database(f"arena_fresh_{os.getpid()}")
    args = ("run", "-m", "gru", "-t", "adding", "--seeds", "0-3", *SMOKE, "--set", "task.n_train=64",
            "--db", url)
    with ThreadPoolExecutor(4) as pool:  # four console scripts racing to create the tables
        results = list(pool.map(lambda _: run_arena(*args, cwd=tmp_path), range(4)))
    for res in results:
        assert res.returncode == 0, res.stderr
    runs = open_store(url, write=False).runs()
    assert sorted((r["seed"], r["status"]) for r in runs) == [(s, "done") for s in range(4)]
    # The grid was shared, not repeated: each run trained by exactly one process.
    assert sum(res.stderr.count("  done ") for res in results) == 4, [r.stderr for r in results]
