"""The files ``arena new-plugin`` writes: a complete, working plugin package.

The templates are real files shipped as package data (``arena/templates/plugin/``: the shared
files, ``cell/`` and ``task/``), each readable as what it renders to, with placeholders
``@@NAME@@`` (the cell or task name), ``@@DIST@@`` (``arena-NAME``), ``@@PKG@@`` (``arena_NAME``
with dashes as underscores), ``@@CLASS@@`` (the class name), ``@@ARENA_VERSION@@`` and the CI's
demo run ``@@RUN_MODELS@@`` / ``@@RUN_TASK@@``, filled by :class:`string.Template` (an unknown
placeholder is an error). No torch here: the command stays fast.
"""
from __future__ import annotations

import keyword
import re
import string
from importlib import resources
from pathlib import Path

from arena.errors import ArenaError

NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def check_name(name: str) -> None:
    """Raise ArenaError unless ``name`` makes a good cell/task name and distribution ``arena-NAME``."""
    if not NAME_RE.fullmatch(name or "") or len(name) > 40:
        raise ArenaError(f"bad plugin name {name!r}: use lowercase letters, digits and single dashes, starting "
                         "with a letter (e.g. mycell or my-cell), at most 40 characters")
    if name.startswith("arena-") or name == "arena":
        raise ArenaError(f"bad plugin name {name!r}: give the name without the 'arena-' prefix "
                         f"(arena new-plugin {name.removeprefix('arena-') or 'mycell'} writes arena-...)")
    if keyword.iskeyword(name.replace("-", "_")):
        raise ArenaError(f"bad plugin name {name!r}: it is a Python keyword")


def names(name: str, task: bool) -> dict[str, str]:
    from arena import __version__

    camel = "".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return {
        "@@NAME@@": name,
        "@@DIST@@": f"arena-{name}",
        "@@PKG@@": f"arena_{name.replace('-', '_')}",
        "@@CLASS@@": f"{camel}Task" if task and not camel.endswith("Task") else camel,
        "@@ARENA_VERSION@@": __version__,
        # The CI's real run: a cell races gru on adding; a task is run by gru and lstm.
        "@@RUN_MODELS@@": "gru,lstm" if task else f"{name},gru",
        "@@RUN_TASK@@": name if task else "adding",
    }


class PluginTemplate(string.Template):
    """``@@NAME@@`` placeholders: a file's own ``$`` (GitHub expressions, shell) stays as it is."""

    delimiter = "@@"
    pattern = r"@@(?:(?P<escaped>(?!))|(?P<named>[A-Z_]+)@@|(?P<braced>(?!))|(?P<invalid>))"


def template(rel: str) -> str:
    """The text of ``arena/templates/plugin/<rel>.tmpl``."""
    return resources.files("arena").joinpath("templates", "plugin", f"{rel}.tmpl").read_text(encoding="utf-8")


def render(name: str, task: bool = False) -> dict[str, str]:
    """Relative path → file content of the plugin package for ``name``."""
    subs = {key.strip("@"): value for key, value in names(name, task).items()}
    pkg, kind = subs["PKG"], "task" if task else "cell"
    files = {
        "pyproject.toml": "pyproject.toml",
        "README.md": f"{kind}/README.md",
        f"{pkg}/__init__.py": f"{kind}/__init__.py",
        f"{pkg}/{kind}.py": f"{kind}/{kind}.py",
        f"tests/test_{pkg.removeprefix('arena_')}.py": f"{kind}/test.py",
        ".github/workflows/ci.yml": "ci.yml",
        ".github/workflows/publish.yml": "publish.yml",
        ".gitignore": "gitignore",
    }
    return {path: PluginTemplate(template(rel)).substitute(subs) for path, rel in files.items()}


def write_plugin(name: str, directory: str | Path = ".", task: bool = False) -> Path:
    """Write ``arena-NAME/`` under ``directory``; refuse a bad name or an existing folder."""
    check_name(name)
    root = Path(directory) / f"arena-{name}"
    if root.exists():
        raise ArenaError(f"{root} already exists; choose another name or --dir, or remove it first")
    if Path(directory).exists() and not Path(directory).is_dir():
        raise ArenaError(f"--dir {directory} is not a folder")
    files = render(name, task)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
