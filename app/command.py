"""`arena app`: the Streamlit leaderboard app, added to the CLI through arena's own hook.

Kept light: nothing here imports streamlit, pandas or torch until the command runs.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

import arena

#: Environment variable that hands the store's URL to the Streamlit script.
DB_ENV = "ARENA_APP_DB"


def script_path() -> Path:
    return Path(__file__).resolve().parent / "streamlit_app.py"


@arena.hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="app")
    @click.option("--db", "db", metavar="URL", default=None,
                  help="SQLAlchemy URL of the store, read alone [env ARENA_DB; default: your own store with the "
                       "shipped board].")
    @click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535),
                  help="Port to serve on.")
    @click.option("--host", "address", default="localhost", show_default=True,
                  help="Address to listen on (0.0.0.0 to serve other machines).")
    @click.option("--browser/--no-browser", default=False, show_default=True,
                  help="Open a browser tab on start.")
    def app(db: str | None, port: int, address: str, browser: bool) -> None:
        """Serve the read-only leaderboard app (Streamlit) on the store.

        \b
        Pages: leaderboard, task, compare, throughput, runs, plugins. Nothing the app does can
        change the store (SQLite is opened read-only). Without --db: your own store with the shipped
        board beside it.
        """
        from arena.errors import ArenaError
        from arena.store import default_url, open_store
        from arena.validate import db_problem

        if db_problem(db):
            raise ArenaError(db_problem(db))

        try:
            import streamlit  # noqa: F401
        except ImportError:
            raise ArenaError("the app needs Streamlit, an arena dependency: pip install -U rnn-arena") from None
        url = db or os.environ.get("ARENA_DB") or ""  # "": your own store with the shipped board
        # Fail early with arena's one-line message for a bad URL or a missing file; an empty
        # store or an older schema are explained by the app itself.
        try:
            open_store(url or None, write=False).close()
        except ArenaError as exc:
            msg = str(exc)
            if "older schema" not in msg and "no runs table" not in msg:
                raise
        # PYTHONSAFEPATH: `python -m` must not put the cwd (which may hold an `arena/` folder)
        # ahead of the installed package.
        env = {**os.environ, DB_ENV: url, "PYTHONSAFEPATH": "1"}
        if not url:
            env.pop(DB_ENV)
        cmd = [sys.executable, "-m", "streamlit", "run", str(script_path()),
               "--server.port", str(port), "--server.address", address,
               "--server.headless", "false" if browser else "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]
        click.echo(f"arena app on http://{address}:{port}  [{url or default_url() + ' with the shipped board'}]  "
                   "(Ctrl-C to stop)", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Replace this process with Streamlit's, so that stopping `arena app` (Ctrl-C, SIGTERM)
        # stops the server itself and leaves nothing behind.
        os.execve(sys.executable, cmd, env)
