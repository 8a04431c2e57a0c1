"""Screenshots of every page of the app for the docs (docs/img/app-*.png).

    python -m arena.app.screenshots docs/img

Copies the shipped store (``leaderboard.db``: real runs made by ``arena run``, see
docs/leaderboard.md) into a temporary folder, adds one run that fails on purpose (to show a
traceback) and a real throughput benchmark, then starts ``arena app`` on it and captures each
page in headless Chromium. Every number in the pictures comes from a real run.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from arena.app.browser import Browser, free_port, wait_http

#: page path → (file name, text to wait for, window height)
SHOTS = {
    "": ("app-leaderboard.png", "Performance profile", 2600),
    "task?task=copy": ("app-task.png", "Learning curves", 1900),
    "compare": ("app-compare.png", "Critical difference diagram", 1600),
    "throughput": ("app-throughput.png", "Time relative to gru", 1300),
    "runs?run={failed}": ("app-runs.png", "Traceback", 1500),
    "plugins": ("app-plugins.png", "Installed plugins", 1200),
}


def _arena(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "arena"
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)


def build_demo_store(folder: Path, source: Path) -> tuple[str, str]:
    """(store URL, key of a failed run)."""
    import sqlite3

    dest = folder / "demo.db"
    with sqlite3.connect(source) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)  # a consistent copy even while WAL pages are pending
    url = f"sqlite:///{dest}"
    env = {**os.environ, "ARENA_DB": url, "ARENA_CACHE_DIR": str(folder / "cache")}
    # Bad input is refused before any run starts; minGRU refuses an unknown mode only when the
    # cell is built, inside the run, so this run is stored as failed with its traceback.
    failed = _arena("run", "-m", "mingru", "-t", "copy", "--preset", "smoke", "--seeds", "0", "--set",
                    "cell.mode=bogus", env=env)
    key = next(w for w in failed.stderr.split() if w.startswith("b2:"))
    _arena("bench", "-m", "rnn,lstm,mingru", "--seq-len", "16,64,256", "--hidden", "32", "--batch", "8",
           "--input-size", "8", "--rounds", "3", env=env)
    return url, key


def with_track(path: str, track: str) -> str:
    """The page path with ``track`` selected (the app reads ?track= from the link)."""
    return f"{path}{'&' if '?' in path else '?'}track={track}"


def main(out: str = "docs/img", source: str = "leaderboard.db", track: str = "bare") -> None:
    """Screenshots of every page on a copy of ``source``, showing ``track`` (the README's)."""
    out_dir = Path(out)
    with tempfile.TemporaryDirectory(prefix="arena-shots-") as tmp:
        folder = Path(tmp)
        url, failed = build_demo_store(folder, Path(source))
        port = free_port()
        env = {**os.environ, "ARENA_APP_CACHE_DIR": str(folder / "app-cache")}
        exe = Path(sys.executable).parent / "arena"
        proc = subprocess.Popen([str(exe), "app", "--db", url, "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://localhost:{port}/_stcore/health", timeout=120)
            for path, (name, needle, height) in SHOTS.items():
                with Browser(1440, height) as b:
                    b.get(f"http://localhost:{port}/{with_track(path.format(failed=failed), track)}")
                    b.wait_for_text(needle, timeout=300, settle=2.0)
                    print(b.screenshot(out_dir / name))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main(*sys.argv[1:])
