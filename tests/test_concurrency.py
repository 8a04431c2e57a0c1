"""Four `arena run` processes on one SQLite store with overlapping grids."""
import sqlite3
import subprocess

import pytest

from .conftest import arena_exe

BASE = ["run", "--task", "adding", "--preset", "smoke", "--set", "epochs=1", "--set", "task.n_train=64",
        "--set", "task.n_val=32", "--set", "task.n_test=32"]


@pytest.mark.slow
def test_overlapping_grids_store_every_run_exactly_once(tmp_path):
    db = tmp_path / "shared.db"
    grids = [["--model", "gru,rnn", "--seeds", "0-3"], ["--model", "rnn,gru", "--seeds", "2-5"],
             ["--model", "gru", "--seeds", "0-5"], ["--model", "rnn,gru", "--seeds", "1,4,5"]]
    procs = [subprocess.Popen([arena_exe(), *BASE, *g, "--db", f"sqlite:///{db}"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for g in grids]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    con = sqlite3.connect(db)
    rows = con.execute("SELECT cell, seed, status FROM runs ORDER BY cell, seed").fetchall()
    assert rows == [(c, s, "done") for c in ("gru", "rnn") for s in range(6)]
    assert con.execute("SELECT count(*) FROM metrics WHERE split='test' AND name='mse'").fetchone()[0] == 12
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Work was shared, not repeated: 12 runs trained once each across the four processes.
    trained = sum(err.count("  done ") for _, err in outs)
    assert trained == 12, [e for _, e in outs]
