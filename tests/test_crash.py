"""Killing `arena run` loses no finished run and the same command then completes the grid."""
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import arena_exe, run_arena

GRID = ("run", "--model", "gru,lstm", "--task", "adding", "--preset", "smoke", "--seeds", "0-3",
        "--set", "epochs=4", "--set", "patience=10")


def done_count(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def start_grid(cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([arena_exe(), *GRID], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_done(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while done_count(db) < n:
        assert proc.poll() is None, "the grid ended before it could be interrupted"
        assert time.time() < end, "no run finished in time"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_grid_loses_nothing_and_resumes(tmp_path):
    db = tmp_path / "home" / "leaderboard.db"
    proc = start_grid(tmp_path)
    wait_for_done(db, 2, proc)
    time.sleep(0.3)  # let it get into the next run
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = {k for (k,) in con.execute("SELECT key FROM runs WHERE status = 'done'")}
    values = dict(con.execute("SELECT run_key, value FROM metrics WHERE split='test' AND name='mse'"))
    con.close()
    assert len(finished) >= 2 and set(values) == finished
    res = run_arena(*GRID, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"{len(finished)} already stored" in res.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall() == [("done", 8)]
    # Finished runs were kept as they were, not retrained.
    assert {k: v for k, v in con.execute("SELECT run_key, value FROM metrics WHERE split='test' AND name='mse'")
            if k in finished} == values


@pytest.mark.slow
def test_ctrl_c_marks_the_interrupted_run(tmp_path):
    db = tmp_path / "home" / "leaderboard.db"
    proc = start_grid(tmp_path)
    wait_for_done(db, 1, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    con = sqlite3.connect(db)
    statuses = dict(con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
    assert statuses.get("done", 0) >= 1 and statuses.get("interrupted") == 1 and "running" not in statuses
    con.close()
    res = run_arena(*GRID, cwd=tmp_path)
    assert res.returncode == 0 and f"{statuses['done']} already stored" in res.stderr


@pytest.mark.slow
def test_ctrl_c_while_the_results_table_prints_exits_130(tmp_path, arena):
    """SIGINT to a real `arena run` after its "runs planned" line: with every run of the grid
    already stored (2,000 of them, ingested as result files) the command goes straight to the
    results table, whose statistics take about a second, so the signal lands while it is made."""
    import json

    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs

    grid = ("run", "-m", "gru,rnn", "-t", "adding", "--preset", "smoke", "--seeds", "0-999")
    host = get_host()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    for i, s in enumerate(plan_runs(host.cells, host.tasks, ["gru", "rnn"], ["adding"], list(range(1000)), "smoke",
                                    parse_overrides([]))):
        rec = {"spec": s.to_dict(), "key": s.key, "status": "done", "main_metric": "mse", "chance": {"mse": 1 / 6},
               "directions": {"mse": False}, "metrics": {"test": {"mse": (i * 7919 % 1000) / 1000}}}
        (outbox / f"{i}.result.json").write_text(json.dumps(rec))
    assert "2000 stored" in arena("ingest", "--unverified", str(outbox)).stdout
    proc = subprocess.Popen([arena_exe(), *grid], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stderr.readline()
    assert "2000 already stored" in line and "0 to train" in line, line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines() == [
        "Interrupted: finished runs are stored; run the same command again to complete the grid."]
    assert done_count(tmp_path / "home" / "leaderboard.db") == 2000
