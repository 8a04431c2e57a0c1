"""The README's commands are the ones CI runs, and every hook is documented."""
import re
from pathlib import Path

import pytest

from arena import hookspecs

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_the_two_setup_commands():
    run_cmd, test_cmd = readme_commands()
    assert "pip install torch==2.13.0" in run_cmd and "arena run --model gru --task copy" in run_cmd
    assert "--db" not in run_cmd  # the default store: the user's own, never the shipped board
    assert 'pip install -e ".[test]"' in test_cmd and "python -m pytest" in test_cmd


def test_the_readme_main_job_trains_into_the_users_store_not_the_shipped_board(tmp_path, monkeypatch):
    """Run from the checkout, the README's `arena run` plans its five runs into the user's store
    (they are not there yet, so it trains them) and leaves the repository's leaderboard.db alone."""
    import hashlib
    import subprocess

    from tests.conftest import arena_exe

    run_cmd, _ = readme_commands()
    args = run_cmd.split(" && ")[-1].split()[1:]
    before = hashlib.sha256((REPO / "leaderboard.db").read_bytes()).hexdigest()
    monkeypatch.delenv("ARENA_BOARD")
    res = subprocess.run([arena_exe(), *args, "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "5 runs planned: 0 already stored, 0 running elsewhere, 5 to train" in res.stderr
    assert str(tmp_path / "home" / "leaderboard.db") in res.stderr
    assert hashlib.sha256((REPO / "leaderboard.db").read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_the_readme_commands_leave_the_shipped_leaderboard_db_unchanged(tmp_path, monkeypatch):
    """Issue 21: the README's main job trained for real (at the smoke preset, to stay short), then
    the read commands over the union and a results export, all from the checkout with the
    package's board (the repository's leaderboard.db): its bytes are the same afterwards."""
    import hashlib
    import subprocess

    from tests.conftest import arena_exe

    board = REPO / "leaderboard.db"
    before = hashlib.sha256(board.read_bytes()).hexdigest()
    monkeypatch.delenv("ARENA_BOARD")
    run_cmd, _ = readme_commands()
    commands = [
        [*run_cmd.split(" && ")[-1].split()[1:], "--preset", "smoke"],
        ["leaderboard", "--task", "copy"],
        ["compare", "gru", "lstm", "--task", "copy"],
        ["export", "--format", "csv", "-o", str(tmp_path / "runs.csv")],
        ["export", "--format", "results", "-o", str(tmp_path / "sub")],
    ]
    for args in commands:
        res = subprocess.run([arena_exe(), *args], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"arena {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        if args[0] == "leaderboard":
            assert "Shown with the shipped board" in res.stdout and str(board.resolve()) in res.stdout
    assert len(list((tmp_path / "sub").glob("*.result.json"))) == 5  # the user's five runs, not the board's
    assert (tmp_path / "home" / "leaderboard.db").is_file()
    assert hashlib.sha256(board.read_bytes()).hexdigest() == before


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    _, test_cmd = readme_commands()
    for step in test_cmd.split(" && "):
        if step.startswith("python3 -m venv"):
            continue
        assert step.strip() in ci, f"{step!r} from the README is not in .ci/run"


def test_every_hook_has_a_docstring():
    for name in hookspecs.HOOK_NAMES:
        assert getattr(hookspecs, name).__doc__.strip()


def test_every_builtin_task_and_preset_is_documented():
    from arena.host import PluginHost

    doc = (REPO / "docs" / "tasks.md").read_text()
    host = PluginHost()
    builtins = [e for e in host.tasks if host.plugins[e.plugin].dist == "rnn-arena"]
    assert len(builtins) >= 8
    for entry in builtins:
        section = doc.split(f"\n## {entry.name}\n", 1)
        assert len(section) == 2, f"docs/tasks.md has no section for {entry.name}"
        body = section[1].split("\n## ", 1)[0]
        for preset in entry.info.presets:
            assert f"`{preset}`" in body, f"preset {preset} of {entry.name} is not documented"


def test_every_subpackage_is_installed():
    """pyproject lists packages explicitly (plugins/, tasks/, app/ are mapped under arena.*)."""
    import tomllib

    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    # Every folder with an __init__.py under each mapped root, at any depth (plugins/maru/, tasks/cwru/).
    dirs = {".".join([name, *p.parent.relative_to(REPO / root).parts])
            for name, root in conf["package-dir"].items() for p in (REPO / root).rglob("__init__.py")}
    mapped = {name for name in conf["package-dir"]}
    assert {"arena", "arena.plugins.maru", "arena.tasks.cwru"} <= dirs
    assert dirs <= listed and mapped <= listed


def test_readme_leaderboard_is_the_shipped_store(arena):
    """The README's table is `arena export --format markdown` of the committed leaderboard.db."""
    text = (REPO / "README.md").read_text()
    marker = re.search(r"<!-- leaderboard: arena export --format markdown --track (.+?) --db sqlite:///leaderboard.db -->\n",
                       text)
    shown = text.split(marker.group(0), 1)[1].split("<!-- /leaderboard -->", 1)[0]
    fresh = arena("export", "--format", "markdown", "--track", marker.group(1), "--db",
                  f"sqlite:///{REPO / 'leaderboard.db'}").stdout
    assert shown == fresh


def test_training_bounds_in_the_docs_are_the_code():
    """docs/hooks.md states every TrainConfig bound exactly as arena.contracts defines it."""
    from arena.contracts import OPTIMIZERS, TRAIN_BOUNDS

    doc = " ".join((REPO / "docs" / "hooks.md").read_text().split())
    for name, bound in TRAIN_BOUNDS.items():
        assert f"`{name}` {bound}" in doc, f"docs/hooks.md does not give the bound of {name}: {bound}"
    assert f"`optimizer` {' or '.join(OPTIMIZERS)}" in doc


def test_methodology_states_each_builtin_tasks_anchors():
    """docs/methodology.md's anchor table is the tasks' own declaration (scale and solved level)."""
    from arena.host import PluginHost

    text = (REPO / "docs" / "methodology.md").read_text()
    table = text.split("| task | main metric | scale | chance | solved |", 1)[1].split("\n\n", 1)[0]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in table.strip().splitlines()[2:])}
    host = PluginHost()
    builtins = [e for e in host.tasks if host.plugins[e.plugin].dist == "rnn-arena"]
    assert set(rows) == {e.name for e in builtins}
    for e in builtins:
        info = e.info
        metric = info.metric(info.main_metric)
        task = e.load()(**{**info.params, **info.presets[info.default_preset].params})
        _, name, scale, _, solved = rows[e.name][:5]
        assert name == f"{metric.name} {metric.arrow}" and scale == metric.scale
        if solved.endswith("% of chance"):
            assert task.solved()[metric.name] == task.chance()[metric.name] * float(solved.split()[0]) / 100
        else:
            assert task.solved()[metric.name] == float(solved)


def test_methodology_example_runs_on_the_shipped_store(arena, tmp_path, monkeypatch):
    """The recomputation recipe of docs/methodology.md runs as written on an export of leaderboard.db."""
    text = (REPO / "docs" / "methodology.md").read_text()
    (code,) = re.findall(r"```python\n(.+?)\n```", text, flags=re.S)
    arena("export", "-o", str(tmp_path / "runs.json"), "--db", f"sqlite:///{REPO / 'leaderboard.db'}")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "methodology.md", "exec"), {})
