"""Tracks (arena/tracks.py): runs of differently built models are never compared with each other."""
from __future__ import annotations

import pytest

from arena.tracks import ordered, track_of

TINY = ("--preset", "smoke", "--seeds", "0-1", "--set", "epochs=1", "--set", "task.n_train=64")


@pytest.mark.parametrize("train,track", [
    ({"hidden": 64}, "bare"),
    ({"budget": 20000}, "matched"),
    ({"budget": 20000, "layers": 2, "block": "residual-mlp"}, "matched 2×residual-mlp"),
    ({"hidden": 64, "layers": 3, "block": "none"}, "bare 3×none"),
    ({"hidden": 64, "layers": 1, "block": "residual"}, "bare 1×residual"),
])
def test_track_of(train, track):
    assert track_of(train) == track


def test_matched_comes_first():
    assert ordered(["bare", "matched 2×residual-mlp", "matched", "bare"]) == ["matched", "bare", "matched 2×residual-mlp"]


@pytest.fixture
def two_tracks(arena, db_url):
    arena("run", "-m", "gru,rnn", "-t", "adding", *TINY, "--db", db_url)
    arena("run", "-m", "gru,rnn", "-t", "adding", *TINY, "--budget", "5000", "--db", db_url)
    return db_url


def test_the_board_never_pools_tracks(arena, two_tracks):
    rows = arena.json("leaderboard", "--format", "json", "--db", two_tracks)
    assert [(r["track"], r["cell"] in ("gru", "rnn")) for r in rows].count(("bare", True)) == 2
    by_track = {}
    for r in rows:
        by_track.setdefault(r["track"], []).append(r)
    assert list(by_track) == ["matched", "bare"]  # matched first
    for track, block in by_track.items():
        assert sorted(r["cell"] for r in block) == ["gru", "rnn"] and sum(r["leader"] for r in block) == 1
        assert all(r["n"] == 2 for r in block)  # two seeds each: no run of the other track joined
    matched = by_track["matched"]
    assert all(abs(r["body_params"] - 5000) <= 250 for r in matched)
    assert {r["body_params"] for r in by_track["bare"]} != {r["body_params"] for r in matched}
    table = arena("leaderboard", "--track", "matched", "--db", two_tracks).stdout
    assert "k params · state" in table and "bare" not in table.split("\n\n")[0]


def test_compare_aggregate_and_export_take_one_track(arena, two_tracks):
    rows = arena.json("compare", "gru", "rnn", "--format", "json", "--db", two_tracks)
    assert sorted(r["track"] for r in rows) == ["bare", "matched"] and all(r["n"] == 2 for r in rows)
    # One setting per track, each its own Holm family: the correction changes nothing.
    assert all(r["p_holm"] == r["p_ttest"] for r in rows if r["p_ttest"] is not None)
    assert [r["track"] for r in arena.json("compare", "gru", "rnn", "--track", "bare", "--format", "json",
                                           "--db", two_tracks)] == ["bare"]
    agg = arena.json("leaderboard", "--aggregate", "--format", "json", "--db", two_tracks)
    assert agg["track"] == "matched"
    assert arena.json("leaderboard", "--aggregate", "--track", "bare", "--format", "json", "--db", two_tracks)["track"] == "bare"
    md = arena("export", "--format", "markdown", "--track", "bare", "--db", two_tracks).stdout
    assert md.count("| adding (smoke) |") == 1
    res = arena("leaderboard", "--track", "stacked", "--db", two_tracks, ok=False)
    assert res.exit_code == 2 and "no track 'stacked' in the store; its tracks: matched, bare" in res.stderr
