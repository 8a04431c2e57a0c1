"""Make sure ``arena`` is the installed package, not a folder of the current directory.

``python -m arena`` and ``python -m streamlit`` put the current directory first on ``sys.path``.
Started in a folder that holds an ``arena/`` directory without ``__init__.py`` (the parent of a
checkout named ``arena``), Python imports that directory as a namespace package, ahead of an
editable install (whose finder comes after the path finder), and every plugin then fails on
``from arena import hookimpl``. This module is importable either way (the editable finder maps
it), so it can swap the real package back in before any plugin is loaded.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def shadowed() -> bool:
    """Whether ``sys.modules['arena']`` is a namespace package rather than arena itself."""
    pkg = sys.modules.get("arena")
    return pkg is not None and getattr(pkg, "__file__", None) is None


def ensure_installed_package() -> None:
    """Replace a namespace ``arena`` by the package this file belongs to (no-op otherwise)."""
    if not shadowed():
        return
    here = Path(__file__).resolve().parent
    cwd_entries = {"", ".", str(Path.cwd())}
    sys.path[:] = [p for p in sys.path if p not in cwd_entries]
    # Submodules already imported through the namespace came from the shadowing folder unless
    # they live in the real package; drop the former so they are imported again from arena.
    for name in [n for n, m in sys.modules.items() if n.startswith("arena.")]:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if not origin or not Path(origin).resolve().is_relative_to(here):
            del sys.modules[name]
    spec = importlib.util.spec_from_file_location("arena", here / "__init__.py",
                                                  submodule_search_locations=[str(here)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["arena"] = module
    spec.loader.exec_module(module)
    for name, sub in list(sys.modules.items()):
        if name.startswith("arena.") and name.count(".") == 1:
            setattr(module, name.split(".", 1)[1], sub)
