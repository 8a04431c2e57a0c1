"""Shared fixtures: real stores in temporary directories and the real CLI.

``arena`` runs either in-process through click's runner (fast) or as a subprocess of the
installed console script (for crash, kill and import-isolation tests).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
#: Real datasets for tests and CI (CWRU .mat files, AG News test.csv); see ../shared/data/README.md.
SHARED_DATA = Path(os.environ.get("ARENA_TEST_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test works in its own directory with a default store there, never in the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARENA_DB", raising=False)
    monkeypatch.delenv("ARENA_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("ARENA_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    monkeypatch.setenv("ARENA_CACHE_DIR", str(tmp_path / "cache"))
    # The user's own store lives in the test's directory; the shipped board is off unless a test
    # turns it on (tests/test_board.py).
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARENA_BOARD", "none")
    from arena.host import reset_host

    reset_host()
    yield
    reset_host()


@pytest.fixture
def shared_data(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point arena at the real data (../shared/data, or ARENA_TEST_DATA_DIR); skip without it."""
    if not (SHARED_DATA / "cwru").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set ARENA_TEST_DATA_DIR)")
    monkeypatch.setenv("ARENA_DATA_DIR", str(SHARED_DATA))
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    return SHARED_DATA


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the session (skipped where PostgreSQL is absent)."""
    from . import pg

    if not pg.available():
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    pytest.importorskip("psycopg")
    server = pg.TempPostgres().start()
    yield server
    server.stop()


_db_counter = iter(range(10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"arena_test_{os.getpid()}_{next(_db_counter)}")


class Arena:
    """Runs the real CLI in-process and returns click's result."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        from arena.cli import build_cli
        from arena.host import reset_host

        reset_host()
        result = self.runner.invoke(build_cli(), list(args), catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"arena {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args).stdout)


@pytest.fixture
def arena() -> Arena:
    return Arena()


def arena_exe() -> str:
    exe = Path(sys.executable).parent / "arena"
    return str(exe) if exe.exists() else "arena"


def run_arena(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed console script in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([arena_exe(), *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)
