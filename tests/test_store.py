import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from arena.errors import StoreError
from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.store import migrations, open_store


def spec(seed=0):
    host = get_host()
    return plan_runs(host.cells, host.tasks, ["gru"], ["adding"], [seed], "smoke", parse_overrides([]))[0]


def start(store, s, **kw):
    return store.start_run(s, env_id=store.save_environment({"arena": "test"}), device="cpu", main_metric="mse",
                           directions={"mse": False}, **kw)


def test_new_store_is_migrated_wal_sqlite(db_url, tmp_path):
    store = open_store(db_url)
    with store.engine.connect() as conn:
        assert migrations.applied(conn) == [name for name, _ in migrations.MIGRATIONS]
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert (tmp_path / "test.db").exists()


def test_run_lifecycle_round_trip(any_db):
    store = open_store(any_db)
    s = spec()
    start(store, s)
    assert store.statuses([s.key])[s.key][0] == "running"
    store.finish_run(s.key, status="done", metrics={"test": {"mse": 0.5}, "val": {"mse": 0.4}},
                     curves=[{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": float("nan")}],
                     duration_s=1.5, epochs=2)
    (row,) = store.runs(keys=[s.key])
    assert row["status"] == "done" and row["params"] == s.params and row["owner"] is None
    assert store.metrics([s.key]) == {s.key: {"test": {"mse": 0.5}, "val": {"mse": 0.4}}}
    assert store.curves(s.key) == [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": None}]
    # A finished run is not claimed again unless forced; forcing replaces it (no duplicate).
    assert start(store, s) is False and store.metrics([s.key]) != {}
    assert start(store, s, force=True) is True
    assert store.metrics([s.key]) == {}
    assert len(store.runs()) == 1


def test_environment_rows_are_deduplicated(any_db):
    store = open_store(any_db)
    a = store.save_environment({"arena": "1", "torch": "2"})
    assert store.save_environment({"torch": "2", "arena": "1"}) == a
    assert store.save_environment({"arena": "1", "torch": "3"}) != a
    assert len(store.environments()) == 2


def test_read_only_open_never_creates_a_file(tmp_path):
    with pytest.raises(StoreError, match="no database"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", write=False)
    assert not (tmp_path / "missing.db").exists()


def test_corrupt_file_is_refused_and_left_alone(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    before = bad.read_bytes()
    for write in (True, False):
        with pytest.raises(StoreError, match="corrupt or not an SQLite file"):
            open_store(f"sqlite:///{bad}", write=write)
    assert bad.read_bytes() == before


def test_unwritable_and_unreachable_stores(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(StoreError, match="bad database URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match="no database driver|cannot use"):
        open_store("nosuchdialect://localhost/db")
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(StoreError, match="not writable"):
            open_store(f"sqlite:///{ro / 'x.db'}")


def test_store_from_a_newer_arena_is_refused(db_url, tmp_path):
    open_store(db_url).close()
    con = sqlite3.connect(tmp_path / "test.db")
    con.execute("INSERT INTO _arena_migrations (name, applied_at) VALUES ('m999_future', 'x')")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer arena"):
        open_store(db_url)


def test_older_schema_is_migrated_on_write_and_explained_on_read(db_url, tmp_path):
    open_store(db_url).close()
    con = sqlite3.connect(tmp_path / "test.db")
    con.execute("DELETE FROM _arena_migrations")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="older schema"):
        open_store(db_url, write=False)
    open_store(db_url).close()  # migrating again is idempotent (checkfirst)
    assert open_store(db_url, write=False).runs() == []


def test_sqlite_file_that_is_not_an_arena_store(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not an arena store"):
        open_store(f"sqlite:///{other}", write=False)
    assert Path(other).exists()


def test_claims_respect_other_live_processes_and_failures(any_db):
    from sqlalchemy import update

    from arena.store import schema

    store = open_store(any_db)
    s = spec()
    assert start(store, s)
    with store.engine.begin() as conn:  # pretend a live process on this host owns it (our parent)
        conn.execute(update(schema.runs).values(owner=f"{__import__('socket').gethostname()}:{os.getppid()}"))
    assert start(store, s) is False
    with store.engine.begin() as conn:  # ... and now a process that no longer exists
        conn.execute(update(schema.runs).values(owner="nohost-but-local:999999"))
    store.finish_run(s.key, status="failed", error="boom")
    assert start(store, s) is False and start(store, s, retry_failed=True) is True


def test_migrations_apply_once_on_both_databases(any_db):
    store = open_store(any_db)
    with store.engine.connect() as conn:
        assert migrations.pending(conn) == []
        first = migrations.applied(conn)
    store.close()
    store = open_store(any_db)  # reopening migrates nothing
    with store.engine.connect() as conn:
        assert migrations.applied(conn) == first
    assert open_store(any_db, write=False).runs() == []


def test_unreachable_postgres_is_one_clear_error():
    with pytest.raises(StoreError, match="cannot use the database postgresql"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_a_claim_committed_between_the_check_and_the_write_stays_with_its_owner(postgres):
    """PostgreSQL runs at READ COMMITTED: another process that commits its claim right after
    this claim's check must keep the run (a DELETE there once removed it and both trained it)."""
    import arena.store as store_module
    from sqlalchemy import event

    url = postgres.create_database(f"arena_claim_race_{os.getpid()}")
    ours, theirs, s = open_store(url), open_store(url), spec()
    fired = []

    def other_process_claims(conn, cursor, statement, *args):
        if fired or not statement.lstrip().upper().startswith("SELECT") or "runs.key" not in statement:
            return
        fired.append(statement)
        real = store_module.owner_id
        store_module.owner_id = lambda: "elsewhere:1"  # another machine: assumed alive
        try:
            assert start(theirs, s) is True
        finally:
            store_module.owner_id = real

    event.listen(ours.engine, "after_cursor_execute", other_process_claims)
    assert start(ours, s) is False and fired
    (row,) = ours.runs(keys=[s.key])
    assert row["status"] == "running" and row["owner"] == "elsewhere:1"
