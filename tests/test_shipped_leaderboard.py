"""The committed leaderboard.db: what a fresh clone opens first (docs/leaderboard.md)."""
from pathlib import Path

from arena.host import get_host

REPO = Path(__file__).resolve().parent.parent
SHIPPED = f"sqlite:///{REPO / 'leaderboard.db'}"


def test_every_builtin_cell_on_every_task_with_five_seeds(arena):
    """`arena leaderboard` lists each built-in cell on each built-in task at the task's default
    preset (`standard`; `small` for ag-news, whose `standard` needs a file not available here)
    with n >= 5, and no run is left pending."""
    host = get_host()
    builtin = {e.name for e in host.cells if host.plugins[e.plugin].dist == "rnn-arena"}
    # char-lm (issue 19) came after the bare board: it is on the matched track only.
    tasks = {e.name: e.info.default_preset for e in host.tasks
             if host.plugins[e.plugin].dist == "rnn-arena" and e.name != "char-lm"}
    assert len(builtin) == 10 and len(tasks) == 10
    from arena.plan import without_added

    # A run leaves out the parameters added after it was stored (at their default).
    defaults = {name: without_added({**host.tasks.get(name).info.params, **host.tasks.get(name).info.presets[preset].params},
                                    host.tasks.get(name).info.params, host.tasks.get(name).info.added_params)
                for name, preset in tasks.items()}
    rows = arena.json("leaderboard", "--track", "bare", "--format", "json", "--db", SHIPPED)
    # The preset's own setting (a sweep adds other settings of the same preset beside it).
    have = {(r["task"], r["preset"], r["cell"]): r["n"] for r in rows
            if r["task"] in tasks and r["preset"] == tasks[r["task"]] and r["params"] == defaults[r["task"]]}
    missing = [(t, p, c) for t, p in tasks.items() for c in builtin if have.get((t, p, c), 0) < 5]
    assert not missing, f"cells with fewer than 5 seeds on the shipped board: {missing}"
    pending = [r for r in arena.json("export", "--db", SHIPPED) if r["status"] in ("planned", "running")]
    assert not pending


def test_every_builtin_cell_has_throughput_rows():
    import sqlalchemy as sa

    engine = sa.create_engine(SHIPPED)
    with engine.connect() as conn:
        benched = {row[0] for row in conn.execute(sa.text("select distinct model from throughput"))}
    host = get_host()
    builtin = {e.name for e in host.cells if host.plugins[e.plugin].dist == "rnn-arena"}
    assert len(builtin) == 10 and builtin <= benched


def test_the_track_progress_in_the_docs_is_the_shipped_stores():
    """docs/leaderboard.md's matched/stacked progress table is benchmarks/track_progress.py's
    output on the committed store (so the progress the docs claim is what the store holds)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "track_progress.py"), "--check"],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
