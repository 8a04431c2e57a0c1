"""The plugin host with real entry points: broken, clashing and misbehaving plugins."""
import json
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from arena.errors import PluginError
from arena.host import PluginHost

from .conftest import run_arena


def make_dist(root: Path, dist: str, module: str, source: str, ep_name: str | None = None) -> None:
    """A real installed distribution on a sys.path entry: module + .dist-info with entry points."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[arena]\n{ep_name or dist} = {module}\n")


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    make_dist(root, "arena-broken", "arena_broken", "raise ImportError('needs a library that is missing')\n")
    make_dist(root, "arena-clash", "arena_clash", """
        from arena import CellInfo, hookimpl

        @hookimpl
        def register_cells(register):
            register("gru", "arena.plugins.baselines:GRU", info=CellInfo(summary="a second gru"))
            register("gru2", "arena.plugins.baselines:GRU", info=CellInfo(summary="an extra gru"))
    """)
    make_dist(root, "arena-raises", "arena_raises", """
        from arena import CellInfo, hookimpl

        @hookimpl
        def register_cells(register):
            register("half", "arena.plugins.baselines:GRU", info=CellInfo(summary="registered, then rolled back"))
            raise RuntimeError("bug in the hook")
    """)
    make_dist(root, "arena-typo", "arena_typo", """
        from arena import hookimpl

        @hookimpl
        def register_cell(register):
            pass
    """)
    monkeypatch.syspath_prepend(str(root))
    return root


def test_broken_plugins_are_recorded_and_the_rest_works(plugin_dir):
    host = PluginHost()
    p = host.plugins
    assert "failed to import: ImportError: needs a library" in p["arena-broken"].errors[0]
    assert p["arena-broken"].dist == "arena-broken" and p["arena-broken"].version == "0.3"
    assert ("cell name 'gru' is already provided by rnn-arena 0.1.0 (plugin 'builtin-cells'); arena-clash 0.3 "
            "cannot replace it" in p["arena-clash"].errors[0])
    assert not p["builtin-cells"].errors and "gru" not in p["arena-clash"].cells
    assert "gru2" in host.cells and host.cells.get("gru").plugin == "builtin-cells"
    assert "register_cells raised RuntimeError: bug in the hook" in p["arena-raises"].errors[0]
    assert "half" not in host.cells
    assert "unknown hooks ['register_cell']" in p["arena-typo"].errors[0]
    assert {"gru", "lstm", "rnn"} <= set(host.cells.names()) and {"copy", "adding"} <= set(host.tasks.names())


def test_strict_mode_refuses_after_loading_everything(plugin_dir, monkeypatch):
    monkeypatch.setenv("ARENA_STRICT_PLUGINS", "1")
    host = PluginHost()  # loading never raises: `arena plugins` must still be able to list
    assert "gru" in host.cells and "arena-typo" in host.plugins
    with pytest.raises(PluginError, match=r"plugin 'arena-broken' \(arena-broken 0.3\) is broken: failed to import"):
        host.check_strict()
    monkeypatch.delenv("ARENA_STRICT_PLUGINS")
    host.check_strict()


def test_strict_mode_on_the_command_line(plugin_dir, monkeypatch, arena):
    monkeypatch.setenv("ARENA_STRICT_PLUGINS", "1")
    for args in (["list", "cells"], ["run", "-m", "gru", "-t", "adding", "--preset", "smoke", "--dry-run"],
                 ["show", "gru"], ["leaderboard"], ["test-plugin", "arena-clash"]):
        res = arena(*args, ok=False)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.count("\n") == 1 and "arena-broken" in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.output
    res = arena("plugins", ok=False)  # lists every plugin, then refuses
    assert res.exit_code == 2 and "builtin-cells" in res.stdout and "arena-typo" in res.stdout
    assert res.stderr.count("\n") == 1 and "arena-broken" in res.stderr


def test_who_keeps_a_name_does_not_depend_on_entry_point_order(plugin_dir):
    eps = [ep for ep in metadata.entry_points(group="arena")]
    for order in (eps, list(reversed(eps)), sorted(eps, key=lambda e: e.name)):
        host = PluginHost(entry_points=order)
        assert host.cells.get("gru").dist == "rnn-arena" and host.cells.get("gru").plugin == "builtin-cells"
        assert host.cells.get("gru2").dist == "arena-clash"
        assert host.plugins["arena-clash"].errors and not host.plugins["builtin-cells"].errors


def test_a_name_two_plugins_claim_is_refused_to_both(tmp_path, monkeypatch, arena):
    root = tmp_path / "site"
    root.mkdir()
    for dist, module in (("arena-light-a", "arena_light_a"), ("arena-light-b", "arena_light_b")):
        make_dist(root, dist, module, f"""
            from arena import CellInfo, hookimpl

            @hookimpl
            def register_cells(register):
                register("lightgru", "arena.plugins.baselines:GRU", info=CellInfo(summary="{dist}"))
                register("{module}", "arena.plugins.baselines:GRU", info=CellInfo(summary="its own"))
        """)
    monkeypatch.syspath_prepend(str(root))
    host = PluginHost()
    assert "lightgru" not in host.cells and {"arena_light_a", "arena_light_b"} <= set(host.cells.names())
    for name in ("arena-light-a", "arena-light-b"):
        (err,) = host.plugins[name].errors
        assert "'lightgru' refused" in err and "arena-light-a 0.3" in err and "arena-light-b 0.3" in err
        assert "lightgru" not in host.plugins[name].cells
    res = arena("run", "-m", "lightgru", "-t", "adding", "--preset", "smoke", "--dry-run", ok=False)
    assert res.exit_code == 2 and "cell 'lightgru' is unavailable: claimed by both" in res.stderr


def test_unknown_name_says_which_plugin_failed_to_load(plugin_dir, arena):
    res = arena("run", "-m", "indrnn", "-t", "adding", "--preset", "smoke", "--dry-run", ok=False)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "unknown cell 'indrnn'" in res.stderr
    assert "'arena-broken' (arena-broken 0.3) failed to load and 3 more" in res.stderr
    assert "ImportError: needs a library that is missing" in res.stderr and "arena plugins" in res.stderr


def test_python_m_arena_beside_an_arena_folder(tmp_path):
    """`python -m` puts the cwd first on sys.path; an `arena/` folder there (the parent of a
    checkout) must not shadow the installed package."""
    import subprocess

    (tmp_path / "arena" / "tasks").mkdir(parents=True)
    (tmp_path / "arena" / "tasks" / "copy.py").write_text("raise ImportError('the shadow was imported')\n")
    res = subprocess.run([sys.executable, "-m", "arena", "plugins", "--format", "json"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    plugins = {p["name"]: p for p in json.loads(res.stdout)}
    assert all(p["error"] is None for p in plugins.values()), [p["error"] for p in plugins.values()]
    assert {"builtin-cells", "copy", "adding"} <= set(plugins)


def test_load_plugins_allow_list(monkeypatch):
    monkeypatch.setenv("ARENA_LOAD_PLUGINS", "copy")
    host = PluginHost()
    assert list(host.plugins) == ["copy"] and host.tasks.names() == ["copy"] and len(host.cells) == 0
    monkeypatch.setenv("ARENA_LOAD_PLUGINS", "")
    assert PluginHost().plugins == {}


def test_builtins_come_from_entry_points():
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="arena")}
    assert eps["builtin-cells"] == "arena.plugins" and eps["copy"] == "arena.tasks.copy"
    host = PluginHost()
    assert host.cells.get("gru").plugin == "builtin-cells"
    assert host.plugins["builtin-cells"].dist == "rnn-arena"


@pytest.mark.slow
def test_cli_lists_broken_plugin_and_still_runs(plugin_dir, tmp_path):
    env = {"PYTHONPATH": str(plugin_dir)}
    res = run_arena("plugins", "--format", "json", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    plugins = {p["name"]: p for p in json.loads(res.stdout)}
    assert plugins["arena-broken"]["error"].startswith("failed to import")
    assert plugins["arena-broken"]["distribution"] == "arena-broken" and plugins["arena-broken"]["version"] == "0.3"
    assert plugins["builtin-cells"]["error"] is None
    res = run_arena("run", "--model", "gru", "--task", "adding", "--preset", "smoke", "--seeds", "0",
                    "--set", "epochs=1", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "1 to train" in res.stderr


def test_cli_works_without_torch(tmp_path):
    """`arena --help`, `arena list cells` and `arena plugins` never import torch."""
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        from arena.cli import main
        sys.argv = ["arena"] + sys.argv[1:]
        try:
            main()
        except SystemExit as e:
            assert not e.code, e.code
        assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
    """)
    import subprocess

    for args in (["--help"], ["list", "cells"], ["list", "tasks"], ["plugins"], ["show", "copy"]):
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path)
        assert res.returncode == 0, (args, res.stderr)
        assert "Traceback" not in res.stderr
    assert "gru" in subprocess.run([sys.executable, "-c", code, "list", "cells"], capture_output=True,
                                   text=True, cwd=tmp_path).stdout
