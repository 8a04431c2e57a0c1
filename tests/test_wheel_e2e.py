"""From the built wheel, without a checkout: a plugin cell onto a (smoke-sized) board, verifiably.

A fresh virtual environment gets the wheel of this checkout; its dependencies (torch, pandas,
...) come from the test environment through a path file, so nothing is downloaded. Then, with
only the wheel's `arena`: a plugin package is generated and installed with `arena install`, a
smoke-sized board is made and pointed at with ARENA_BOARD, the plugin's cell is trained on the
board's settings (`arena run --board`), compared against the board's GRU seed by seed, exported
as result files, verified (and a tampered file flagged), and ingested into the board.
"""
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def sh(*args, env=None, cwd=None, ok=True, timeout=600):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    if ok and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


@pytest.mark.slow
def test_a_plugin_cell_reaches_the_board_from_the_wheel(tmp_path):
    wheels = tmp_path / "wheels"
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, REPO)
    (wheel,) = wheels.glob("rnn_arena-*.whl")
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)  # pip and setuptools: the test environment's
    py = venv / "bin" / "python"
    target = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # The test environment's packages (not its editable arena: a path file adds the folder
    # only, and the editable finder lives in a .pth file that is then never read).
    (target / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {**os.environ, "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1",
           "ARENA_HOME": str(tmp_path / "home"), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("ARENA_BOARD", None)
    sh(py, "-m", "pip", "install", "-q", wheel, env=env)
    arena = venv / "bin" / "arena"
    where = sh(py, "-c", "import arena, pathlib; print(pathlib.Path(arena.__file__).parent)", env=env, cwd=tmp_path)
    pkg = Path(where.stdout.strip())
    assert pkg.parent == target and (pkg / "leaderboard.db").is_file() and not (pkg / "leaderboard.db").is_symlink()
    assert (pkg / "leaderboard.db").read_bytes() == (REPO / "leaderboard.db").read_bytes()  # the board, copied

    # The shipped board comes with the wheel: the default store reads it.
    shown = sh(arena, "leaderboard", "--track", "bare", env=env, cwd=tmp_path).stdout
    assert "shipped board" in shown and str(pkg / "leaderboard.db") in shown

    # A smoke-sized board of our own, then the plugin's cell on its settings.
    board = tmp_path / "board.db"
    sh(arena, "run", "-m", "gru,lstm", "-t", "adding", "--preset", "smoke", "--seeds", "0-1", "--set", "epochs=1",
       "--threads", "1", "--db", f"sqlite:///{board}", env=env, cwd=tmp_path)
    sh("sqlite3", board, "PRAGMA wal_checkpoint(TRUNCATE);", ok=False)
    env["ARENA_BOARD"] = str(board)
    sh(arena, "new-plugin", "light-gru", "--dir", tmp_path, env=env, cwd=tmp_path)
    sh(arena, "install", tmp_path / "arena-light-gru", env=env, cwd=tmp_path)
    assert "light-gru" in sh(arena, "list", "cells", env=env, cwd=tmp_path).stdout
    res = sh(arena, "run", "-m", "light-gru", "--board", "--threads", "1", env=env, cwd=tmp_path)
    assert "bare track: 2 runs of light-gru" in res.stderr
    pairs = json.loads(sh(arena, "compare", "light-gru", "gru", "--format", "json", env=env, cwd=tmp_path).stdout)
    assert pairs and all(p["n"] == 2 for p in pairs)

    sub = tmp_path / "submission"
    sh(arena, "export", "--format", "results", "-o", sub, env=env, cwd=tmp_path)
    files = sorted(sub.glob("*.result.json"))
    assert len(files) == 2 and all(json.loads(f.read_text())["spec"]["cell"] == "light-gru" for f in files)
    assert "reproduced" in sh(arena, "verify", sub, "--sample", "2", env=env, cwd=tmp_path).stdout
    assert "2 stored" in sh(arena, "ingest", sub, "--db", f"sqlite:///{board}", env=env, cwd=tmp_path).stdout

    rec = json.loads(files[0].read_text())
    rec["metrics"]["test"][rec["main_metric"]] *= 0.5
    files[0].write_text(json.dumps(rec))
    bad = sh(arena, "verify", sub, "--sample", "2", env=env, cwd=tmp_path, ok=False)
    assert bad.returncode == 1 and "differs" in bad.stdout

    sh(arena, "uninstall", "arena-light-gru", env=env, cwd=tmp_path)
    assert "light-gru" not in sh(arena, "list", "cells", env=env, cwd=tmp_path).stdout
