"""arena/store/board.py: the shipped board read beside the user's own store, never written."""
import hashlib
import sqlite3

import pytest

SMOKE = ("--preset", "smoke", "--set", "epochs=1")


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def board(arena, tmp_path, monkeypatch):
    """A small shipped board: GRU and LSTM on adding at smoke, seeds 0-1."""
    path = tmp_path / "board.db"
    arena("run", "-m", "gru,lstm", "-t", "adding", "--seeds", "0-1", *SMOKE, "--db", f"sqlite:///{path}")
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    monkeypatch.setenv("ARENA_BOARD", str(path))
    return path


def test_views_show_the_union_and_mark_the_shipped_runs(arena, board, tmp_path):
    before = digest(board)
    alone = arena.json("export")  # no store of the user's yet: the board alone
    assert len(alone) == 4 and all(r["shipped"] for r in alone)
    arena("run", "-m", "rnn,gru", "-t", "adding", "--seeds", "0-1", *SMOKE)  # into the user's store
    runs = arena.json("export")
    assert len(runs) == 6  # the user's gru runs have the board's keys: shown once, as the user's
    assert sorted((r["cell"], r["shipped"]) for r in runs) == [
        ("gru", False), ("gru", False), ("lstm", True), ("lstm", True), ("rnn", False), ("rnn", False)]
    rows = arena.json("leaderboard", "--format", "json")
    assert {r["cell"]: r["n"] for r in rows} == {"gru": 2, "lstm": 2, "rnn": 2}
    text = arena("leaderboard").stdout
    assert "shipped board" in text and str(board) in text
    pairs = arena.json("compare", "rnn", "lstm", "--format", "json")  # user's rnn against the board's lstm
    assert pairs and all(p["n"] == 2 for p in pairs)
    assert digest(board) == before  # never written
    assert (tmp_path / "home" / "leaderboard.db").exists()


def test_an_explicit_store_is_read_alone(arena, board, tmp_path):
    own = f"sqlite:///{tmp_path / 'mine.db'}"
    arena("run", "-m", "rnn", "-t", "adding", "--seeds", "0", *SMOKE, "--db", own)
    assert [r["cell"] for r in arena.json("export", "--db", own)] == ["rnn"]


def test_a_board_of_another_schema_is_refused_in_one_line(arena, board, tmp_path):
    arena("run", "-m", "rnn", "-t", "adding", "--seeds", "0", *SMOKE)
    con = sqlite3.connect(board)
    con.execute("INSERT INTO _arena_migrations (name, applied_at) VALUES ('m999_future', 'x')")
    con.commit()
    con.close()
    res = arena("export", ok=False)
    assert res.exit_code == 2 and "m999_future" in res.stderr and "ARENA_BOARD=none" in res.stderr


def test_a_missing_board_file_is_refused(arena, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_BOARD", str(tmp_path / "absent.db"))
    res = arena("export", ok=False)
    assert res.exit_code == 2 and "is not a file" in res.stderr


def test_the_package_ships_the_repositorys_board(monkeypatch):
    from pathlib import Path

    from arena.store.board import board_path

    monkeypatch.delenv("ARENA_BOARD")
    repo = Path(__file__).resolve().parent.parent
    assert board_path() == (repo / "leaderboard.db").resolve()
