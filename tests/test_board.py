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
    for args in (("compare", "rnn", "lstm"), ("leaderboard", "--aggregate")):  # the other text views say so too
        assert "Shown with the shipped board" in arena(*args).stdout, args
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


def test_board_plans_the_boards_own_settings_for_new_cells(arena, board, tmp_path):
    """`arena run --board`: the board's task parameters, training settings and seeds, the new
    cell's own options; its runs pair with the board's seed by seed."""
    res = arena("run", "-m", "rnn", "--board", "--dry-run")
    assert "2 runs planned" in res.stderr and "bare track: 2 runs of rnn" in res.stderr
    arena("run", "-m", "rnn", "--board")
    board_runs = arena.json("export", "--db", f"sqlite:///{board}")
    mine = [r for r in arena.json("export") if not r["shipped"]]
    assert sorted(r["seed"] for r in mine) == [0, 1] and {r["cell"] for r in mine} == {"rnn"}
    gru = {r["seed"]: r for r in board_runs if r["cell"] == "gru"}
    from arena.plan import RunSpec

    for r in mine:
        assert r["params"] == gru[r["seed"]]["params"] and r["train"] == gru[r["seed"]]["train"]
    spec = lambda r: RunSpec(cell=r["cell_name"], cell_version=r["cell_version"], cell_options=r["cell_options"],  # noqa: E731
                             task=r["task_name"], task_version=r["task_version"], preset=r["preset"],
                             params=r["params"], train=r["train"], seed=r["seed"])
    assert {spec(r).data_seed for r in mine} == {spec(r).data_seed for r in gru.values()}
    pairs = arena.json("compare", "rnn", "gru", "--format", "json")
    assert pairs and all(p["n"] == 2 for p in pairs)


def test_board_refuses_what_would_change_its_settings(arena, board, monkeypatch):
    for args, msg in ((("--set", "lr=0.1"), "only --set cell."), (("--preset", "smoke"), "leave out --preset"),
                      (("--track", "matched"), "no track 'matched'"), (("-t", "copy"), "has no setting of copy")):
        res = arena("run", "-m", "rnn", "--board", *args, ok=False)
        assert res.exit_code == 2 and msg in res.stderr, res.stderr
    monkeypatch.setenv("ARENA_BOARD", "none")
    res = arena("run", "-m", "rnn", "--board", ok=False)
    assert res.exit_code == 2 and "no shipped board" in res.stderr
