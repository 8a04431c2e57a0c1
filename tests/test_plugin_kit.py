"""The plugin author kit: `arena new-plugin`, `arena test-plugin`, the example plugin and the tutorial.

The slow test builds a fresh virtual environment next to arena (arena itself visible through a
``.pth`` file, nothing downloaded), pip-installs a generated plugin and examples/arena-indrnn
into it, and drives them through the real command line.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
from pathlib import Path

import pytest

from .conftest import REPO

EXAMPLE = REPO / "examples" / "arena-indrnn"


def make_dist(root: Path, dist: str, module: str, source: str, ep_name: str) -> None:
    """A real installed distribution on a sys.path entry: module + .dist-info with entry points."""
    if source:
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.2\n")
    (info / "entry_points.txt").write_text(f"[arena]\n{ep_name} = {module}\n")


# -- arena new-plugin ---------------------------------------------------------------------------
def test_new_plugin_writes_a_complete_cell_package(arena, tmp_path):
    res = arena("new-plugin", "my-cell", "--dir", str(tmp_path / "out"))
    root = tmp_path / "out" / "arena-my-cell"
    assert f"Wrote {root}/" in res.stdout and "arena test-plugin arena-my-cell" in res.stdout
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", ".gitignore", "arena_my_cell/__init__.py",
                     "arena_my_cell/cell.py", "tests/test_my_cell.py", ".github/workflows/ci.yml",
                     ".github/workflows/publish.yml"}
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "arena-my-cell"
    assert meta["project"]["entry-points"]["arena"] == {"my-cell": "arena_my_cell"}
    assert meta["tool"]["setuptools"]["packages"] == ["arena_my_cell"]
    for py in root.rglob("*.py"):
        compile(py.read_text(), str(py), "exec")
        assert "@@" not in py.read_text(), py
    # The registration module is light: no torch at import.
    tree = ast.parse((root / "arena_my_cell" / "__init__.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.split(".")[0] == "torch" for m in imported)
    assert 'register(\n        "my-cell",' in (root / "arena_my_cell" / "__init__.py").read_text()
    ci = (root / ".github" / "workflows" / "ci.yml").read_text()
    assert "arena test-plugin arena-my-cell" in ci and "--model my-cell,gru" in ci and "@@" not in ci


def test_new_plugin_task_variant(arena, tmp_path):
    arena("new-plugin", "majority", "--task", "--dir", str(tmp_path))
    root = tmp_path / "arena-majority"
    assert (root / "arena_majority" / "task.py").is_file() and not (root / "arena_majority" / "cell.py").exists()
    assert "make_task_tests(\"majority\", reference=slow_labels)" in (root / "tests" / "test_majority.py").read_text()
    assert "register_tasks" in (root / "arena_majority" / "__init__.py").read_text()


@pytest.mark.parametrize("name,message", [
    ("Bad_Name", "bad plugin name 'Bad_Name'"),
    ("2cell", "bad plugin name '2cell'"),
    ("my--cell", "bad plugin name 'my--cell'"),
    ("arena-foo", "without the 'arena-' prefix"),
    ("class", "Python keyword"),
    ("gru", "a cell named 'gru' is already registered by rnn-arena"),
])
def test_new_plugin_refuses_bad_names(arena, tmp_path, name, message):
    res = arena("new-plugin", name, "--dir", str(tmp_path / "out"), ok=False)
    assert res.exit_code == 2 and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_new_plugin_refuses_an_existing_folder(arena, tmp_path):
    (tmp_path / "arena-mine").mkdir()
    (tmp_path / "arena-mine" / "keep.txt").write_text("mine")
    res = arena("new-plugin", "mine", "--dir", str(tmp_path), ok=False)
    assert res.exit_code == 2 and "arena-mine already exists" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert [p.name for p in (tmp_path / "arena-mine").iterdir()] == ["keep.txt"]
    assert arena("new-plugin", "copy", "--task", "--dir", str(tmp_path), ok=False).exit_code == 2  # a built-in task


def test_generated_cell_and_task_pass_the_contract(arena, tmp_path, monkeypatch):
    """In-process: the generated modules, imported from the folder, pass every quick check."""
    from arena.testing import TRAINING_CHECKS, check_cell, check_task

    arena("new-plugin", "gen-cell", "--dir", str(tmp_path))
    arena("new-plugin", "gen-task", "--task", "--dir", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "arena-gen-cell"))
    monkeypatch.syspath_prepend(str(tmp_path / "arena-gen-task"))
    cell = check_cell("arena_gen_cell.cell:GenCell", skip=TRAINING_CHECKS)
    task = check_task("arena_gen_task.task:GenTask", skip=["smoke-run"],
                      reference=lambda x, p: int(x.sum()) > len(x) // 2)
    assert all(r.passed for r in cell + task), [r.line() for r in cell + task if not r.passed]


# -- arena test-plugin --------------------------------------------------------------------------
@pytest.fixture
def broken_plugin(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    make_dist(root, "arena-wobbly", "arena_wobbly", """
        from arena import CellInfo, hookimpl

        @hookimpl
        def register_cells(register):
            register("wobbly", "arena_wobbly_cell:Wobbly", info=CellInfo(summary="step drifts from forward"))
            register("steady", "arena.plugins.baselines:GRU", info=CellInfo(summary="a gru"))
    """, "wobbly")
    (root / "arena_wobbly_cell.py").write_text(textwrap.dedent("""
        from arena.plugins.baselines import GRU

        class Wobbly(GRU):
            def step(self, x_t, state=None):
                y, s = super().step(x_t, state)
                return y * 1.001, s
    """))
    make_dist(root, "arena-noimport", "arena_noimport", "raise ImportError('needs a missing library')\n", "noimport")
    monkeypatch.syspath_prepend(str(root))
    return root


def test_test_plugin_reports_fail_for_a_broken_cell(arena, broken_plugin):
    res = arena("test-plugin", "arena-wobbly", "--no-train", ok=False)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[0].startswith("arena-wobbly 0.2: 2 cell(s) wobbly, steady")
    assert re.search(r"^FAIL  cell wobbly .* step .*step output at t=0 vs forward", res.stdout, re.M)
    assert re.search(r"^PASS  cell wobbly .* chunked", res.stdout, re.M)
    assert re.search(r"^PASS  cell steady .* step ", res.stdout, re.M)
    assert not re.search(r"smoke-train", res.stdout)  # --no-train
    assert lines[-1].startswith("FAILED: ") and " 1 failed" in lines[-1]
    only = arena("test-plugin", "Arena_Wobbly", "--only", "steady", "--no-train")  # PEP 503 names
    assert "cell wobbly" not in only.stdout and only.stdout.splitlines()[-1].startswith("PASSED: ")


def test_test_plugin_reports_a_plugin_that_does_not_import(arena, broken_plugin):
    res = arena("test-plugin", "arena-noimport", ok=False)
    assert res.exit_code == 1
    assert re.search(r"^FAIL  plugin noimport .* load .*failed to import: ImportError", res.stdout, re.M)


def test_test_plugin_counts_load_failures_in_the_summary(arena, broken_plugin):
    """A load failure is a failed check: never "0 passed, 0 failed" for a plugin that did not load."""
    # A plugin that loads and registers a good cell but fails to register a second one (the
    # name is taken by a built-in): the good cell's checks pass and the failure is counted.
    make_dist(broken_plugin, "arena-calmclash", "arena_calmclash", """
        from arena import CellInfo, hookimpl

        @hookimpl
        def register_cells(register):
            register("calm", "arena.plugins.baselines:GRU", info=CellInfo(summary="a gru"))
            register("gru", "arena.plugins.baselines:GRU", info=CellInfo(summary="taken"))
    """, "calmclash")
    res = arena("test-plugin", "arena-noimport", ok=False)
    assert res.exit_code == 1
    assert res.stdout.splitlines()[-1] == "FAILED: 0 passed, 1 failed, 0 skipped", res.stdout
    res = arena("test-plugin", "arena-calmclash", "--no-train", ok=False)
    assert res.exit_code == 1
    assert re.search(r"^FAIL  plugin calmclash .* load .*'gru'", res.stdout, re.M), res.stdout
    assert re.search(r"^PASS  cell calm\s+finite\s", res.stdout, re.M)
    assert res.stdout.splitlines()[-1] == "FAILED: 11 passed, 1 failed, 0 skipped", res.stdout


def test_test_plugin_unknown_distribution(arena):
    res = arena("test-plugin", "arena-nope", ok=False)
    assert res.exit_code == 2 and "no installed arena plugin distribution 'arena-nope'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = arena("test-plugin", "rnn-arena", "--only", "nope", ok=False)
    assert res.exit_code == 2 and "registers no cell or task 'nope'" in res.stderr


def test_test_plugin_passes_on_the_example_in_process(arena, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "arena-indrnn", "arena_indrnn", "", "indrnn")  # the package itself: EXAMPLE on sys.path
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(site))
    res = arena("test-plugin", "arena-indrnn", "--no-train")
    assert res.stdout.splitlines()[-1] == "PASSED: 11 passed, 0 failed, 0 skipped", res.stdout


def test_plugin_kit_imports_no_torch(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "import arena.plugin_kit, arena.plugin_template, arena.testing\n"
            "from arena.plugin_template import render\n"
            "assert len(render('x')) == 8 and len(render('x', task=True)) == 8\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_pytest_plugin_is_registered():
    from importlib import metadata

    eps = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert eps.get("arena") == "arena.testing"
    arena_eps = {ep.name: ep.value for ep in metadata.entry_points(group="arena")}
    assert arena_eps.get("plugin-kit") == "arena.plugin_kit"


def test_make_cell_tests_builds_a_parametrised_class():
    from arena.testing import CELL_CHECKS, make_cell_tests

    cls = make_cell_tests("gru", skip=["smoke-train"])
    assert cls.__name__ == "TestCellContract_gru"
    marks = cls.test_contract.pytestmark
    (param,) = [m for m in marks if m.name == "parametrize"]
    assert [p.values[0] for p in param.args[1]] == [c for c in CELL_CHECKS if c != "smoke-train"]


# -- the tutorial shows the example's files verbatim ---------------------------------------------
def test_tutorial_code_is_the_example():
    doc = (REPO / "docs" / "writing-plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", doc, flags=re.S)
    assert {p for p, _ in blocks} == {"examples/arena-indrnn/arena_indrnn/cell.py",
                                      "examples/arena-indrnn/arena_indrnn/__init__.py"}
    for path, body in blocks:
        assert body == (REPO / path).read_text(encoding="utf-8"), f"docs/writing-plugins.md shows an old {path}"


# -- a fresh virtual environment: install, list, run, test ---------------------------------------
def fresh_venv(where: Path) -> Path:
    """A new venv whose site-packages sees this environment's packages (arena, torch, pip,
    setuptools) through a .pth file, so installing plugins into it needs no network."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    # addsitedir (not a bare path) so the parent's own .pth files run: arena may be an editable install.
    Path(purelib, "_arena_parent_env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def pip_install(python: Path, *paths: Path) -> None:
    res = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--disable-pip-version-check", "-q", *map(str, paths)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_generated_plugin_in_a_fresh_venv(tmp_path, arena):
    arena("new-plugin", "toycell", "--dir", str(tmp_path))
    example = tmp_path / "arena-indrnn"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, tmp_path / "arena-toycell", example)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([str(python), "-m", "arena", *args], capture_output=True, text=True, cwd=tmp_path,
                             env=env, timeout=600)
        if ok:
            assert res.returncode == 0, f"arena {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        return res

    cells = {c["name"]: c["plugin"] for c in json.loads(run("list", "cells", "--format", "json").stdout)}
    assert cells["toycell"] == "toycell" and cells["indrnn"] == "indrnn" and cells["gru"] == "builtin-cells"
    plugins = {p["name"]: p for p in json.loads(run("plugins", "--format", "json").stdout)}
    assert plugins["toycell"]["distribution"] == "arena-toycell" and plugins["toycell"]["error"] is None

    db = f"sqlite:///{tmp_path / 'race.db'}"
    run("run", "--model", "toycell,gru", "--task", "copy", "--preset", "smoke", "--seeds", "0", "--db", db)
    runs = json.loads(run("export", "--db", db).stdout)
    assert sorted((r["cell"], r["status"]) for r in runs) == [("gru", "done"), ("toycell", "done")]

    res = run("test-plugin", "arena-indrnn")
    assert "PASS  cell indrnn" in res.stdout and res.stdout.splitlines()[-1] == "PASSED: 12 passed, 0 failed, 0 skipped"

    # The generated plugin's and the example's own tests pass where they are installed
    # (arena.testing loads as a pytest plugin); the training checks ran above.
    for folder in (tmp_path / "arena-toycell", example):
        tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not arena_train",
                                str(folder)], capture_output=True, text=True, env=env, timeout=600, cwd=folder)
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert re.search(r"\d+ passed, 1 deselected", tests.stdout), tests.stdout
