"""No impersonation: a pip-installed plugin that registers ``gru`` never trains, stores or is
served as arena's GRU; runs stored before providers were recorded keep working."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest

from .test_plugin_kit import fresh_venv, pip_install

IMPOSTOR = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "arena-impostor"
        version = "6.6.6"

        [project.entry-points.arena]
        impostor = "arena_impostor"
    """,
    "arena_impostor/__init__.py": """
        from arena import CellInfo, hookimpl

        @hookimpl
        def register_cells(register):
            register("gru", "arena_impostor.cell:Impostor", info=CellInfo(summary="not arena's GRU"))
    """,
    "arena_impostor/cell.py": """
        import torch
        from arena.plugins.baselines import GRU

        class Impostor(GRU):
            '''arena's GRU with its output halved and 7 idle weights: another implementation, with a trace.'''

            def __init__(self, input_size, hidden_size, **options):
                super().__init__(input_size, hidden_size, **options)
                self.extra = torch.nn.Parameter(torch.zeros(7))

            def forward(self, x, state=None):
                y, state = super().forward(x, state)
                return 0.5 * y, state  # trains to other numbers than arena's GRU
    """,
}
RUN = ("run", "-m", "gru", "-t", "adding", "--preset", "smoke", "--seeds", "0", "--threads", "1")


@pytest.mark.slow
def test_a_plugin_registering_gru_never_impersonates_the_builtin(tmp_path: Path) -> None:
    src = tmp_path / "arena-impostor"
    for rel, text in IMPOSTOR.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(textwrap.dedent(text))
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, src)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}

    def arena(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([str(python), "-m", "arena", *args, "--db", db] if args[0] not in ("plugins",)
                             else [str(python), "-m", "arena", *args], capture_output=True, text=True, cwd=tmp_path,
                             env={**base_env, **(env or {})}, timeout=600)
        assert res.returncode == 0, f"arena {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        assert "Traceback" not in res.stderr
        return res

    # The collision is the plugin's error, naming both distributions; arena's entry is clean.
    plugins = {p["name"]: p for p in json.loads(arena("plugins", "--format", "json").stdout)}
    assert plugins["builtin-cells"]["error"] is None and "gru" in plugins["builtin-cells"]["cells"]
    assert plugins["impostor"]["distribution"] == "arena-impostor" and plugins["impostor"]["cells"] == []
    assert "rnn-arena" in plugins["impostor"]["error"] and "arena-impostor 6.6.6" in plugins["impostor"]["error"]

    # With both installed, `arena run -m gru --force` trains arena's GRU: the same key and the same
    # numbers (bitwise, one thread) as in an environment without the plugin.
    arena(*RUN, "--force")
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    clean = subprocess.run(["arena", *RUN, "--db", reference], capture_output=True, text=True, cwd=tmp_path,
                           env=base_env, timeout=600)
    assert clean.returncode == 0, clean.stderr

    def rows(url: str) -> list[tuple]:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return con.execute("SELECT r.key, r.cell_dist, r.cell_dist_version, r.cell_params, m.value FROM runs r "
                               "JOIN metrics m ON m.run_key = r.key AND m.split = 'test' AND m.name = 'mse' "
                               "ORDER BY r.cell_dist = 'rnn-arena' DESC").fetchall()

    (builtin,) = rows(db)
    assert builtin == rows(reference)[0] and builtin[1] == "rnn-arena"

    # Only where the built-in is left out does the impostor train; it gets its own key and row.
    arena(*RUN, env={"ARENA_LOAD_PLUGINS": "impostor,adding,builtin-executors"})
    after = rows(db)
    assert len(after) == 2 and after[0] == builtin
    impostor = after[1]
    assert impostor[0] != builtin[0] and impostor[1:3] == ("arena-impostor", "6.6.6")
    assert impostor[3] == builtin[3] + 7 and impostor[4] != builtin[4]

    def board() -> dict[str, dict]:
        out = json.loads(arena("leaderboard", "--task", "adding", "--format", "json").stdout)
        return {r["cell"]: r for r in out}

    assert set(board()) == {"gru", "gru (arena-impostor)"}
    # One seed each: the value is that run's MSE (a geometric mean of one value).
    assert board()["gru"]["value"] == pytest.approx(builtin[4], rel=1e-12)
    assert board()["gru (arena-impostor)"]["value"] == pytest.approx(impostor[4], rel=1e-12)

    # Uninstalled, the plugin's result is still its own, never served as arena's GRU.
    res = subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "arena-impostor"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert board()["gru"]["value"] == pytest.approx(builtin[4], rel=1e-12) and board()["gru"]["n"] == 1
    assert board()["gru (arena-impostor)"]["value"] == pytest.approx(impostor[4], rel=1e-12)
    shown = json.loads(arena("show", builtin[0]).stdout)
    assert shown["cell_dist"] == "rnn-arena" and shown["cell"] == "gru"
    assert "--model gru " in shown["reproduce"]


def _to_legacy(path: Path) -> dict[str, str]:
    """Rewrite a store as arena 0.1 wrote it: no provider columns, keys without providers.
    Returns legacy key → today's key."""
    from arena.keys import canonical_json, run_key

    moved = {}
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        for key, spec in con.execute("SELECT key, spec FROM runs").fetchall():
            identity = json.loads(spec)
            del identity["cell"]["dist"], identity["task"]["dist"]
            old = run_key(identity)
            moved[old] = key
            con.execute("UPDATE runs SET key = ?, spec = ? WHERE key = ?", (old, canonical_json(identity), key))
            for table in ("metrics", "curves"):
                con.execute(f"UPDATE {table} SET run_key = ? WHERE run_key = ?", (old, key))
        for col in ("cell_dist", "cell_dist_version", "task_dist", "task_dist_version"):
            con.execute(f"ALTER TABLE runs DROP COLUMN {col}")
        con.execute("DELETE FROM _arena_migrations WHERE name = 'm004_run_provider'")
    return moved


def test_stored_runs_migrate_to_keys_with_their_provider(tmp_path: Path, arena) -> None:
    """Runs stored before the provider joined the key keep their metrics and curves under the
    new key, and the same grid is recognised as stored: nothing is retrained."""
    path = tmp_path / "legacy.db"
    db = f"sqlite:///{path}"
    grid = ("-m", "gru,rnn", "-t", "adding", "--preset", "smoke", "--seeds", "0-1", "--set", "epochs=1", "--db", db)
    arena("run", *grid)
    with sqlite3.connect(path) as con:
        before = sorted(con.execute("SELECT r.cell, r.seed, m.name, m.value FROM runs r JOIN metrics m "
                                    "ON m.run_key = r.key").fetchall())
        n_curves = con.execute("SELECT count(*) FROM curves").fetchone()[0]
    moved = _to_legacy(path)
    with sqlite3.connect(path) as con:  # one run made where a single third-party plugin was loaded
        legacy_key, renamed = con.execute("SELECT key, cell FROM runs WHERE seed = 1 ORDER BY cell").fetchone()
        env = json.loads(con.execute("SELECT e.data FROM environments e JOIN runs r ON r.env_id = e.id "
                                     "WHERE r.key = ?", (legacy_key,)).fetchone()[0])
        env["plugins"]["arena-light"] = "0.2"
        con.execute("INSERT INTO environments (id, created_at, data) VALUES ('e:light', 'now', ?)", (json.dumps(env),))
        con.execute("UPDATE runs SET cell = 'lightgru', env_id = 'e:light' WHERE key = ?", (legacy_key,))

    res = arena("run", *grid, "--dry-run")  # migrates, then plans
    assert "4 runs planned: 3 already stored" in res.stderr  # the run renamed to lightgru is not gru's
    with sqlite3.connect(path) as con:
        rows = {r[0]: r[1:] for r in con.execute("SELECT key, cell, cell_dist, cell_dist_version, task_dist FROM runs")}
        after = sorted(con.execute("SELECT r.cell, r.seed, m.name, m.value FROM runs r JOIN metrics m "
                                   "ON m.run_key = r.key").fetchall())
        assert con.execute("SELECT count(*) FROM curves").fetchone()[0] == n_curves
        assert con.execute("SELECT count(*) FROM metrics WHERE run_key NOT IN (SELECT key FROM runs)").fetchone()[0] == 0
    assert after == sorted((("lightgru",) + r[1:]) if r[:2] == (renamed, 1) else r for r in before)
    assert not set(rows) & set(moved)
    for old, new in moved.items():
        if old != legacy_key:
            assert rows[new][1:] == ("rnn-arena", "0.1.0", "rnn-arena")
    (light,) = [r for r in rows.values() if r[0] == "lightgru"]
    assert light == ("lightgru", "arena-light", "0.2", "rnn-arena")
