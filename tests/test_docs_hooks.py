"""docs/hooks.md documents every hook of arena/hookspecs.py under its exact signature.

The datasette pattern (tests/test_docs.py there): a hook added to, renamed in or changed in
hookspecs.py fails this test until docs/hooks.md has a heading with the new signature.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from arena import hookspecs

DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
HEADING = re.compile(r"^## `?(?P<sig>(?P<name>\w+)\(.*\)(?: -> .+?)?)`?\s*$", re.M)


def _annotation(value: object) -> str:
    text = value if isinstance(value, str) else inspect.formatannotation(value)
    while len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # `from __future__ import annotations` keeps annotations as (quoted) strings
    return text


def signature(name: str) -> str:
    """``name(arg: Type, ...) -> Return`` as written in hookspecs.py."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = []
    for p in sig.parameters.values():
        text = p.name if p.annotation is p.empty else f"{p.name}: {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        params.append(text)
    ret = "" if sig.return_annotation is sig.empty else f" -> {_annotation(sig.return_annotation)}"
    return f"{name}({', '.join(params)}){ret}"


def documented() -> dict[str, str]:
    return {m.group("name"): m.group("sig") for m in HEADING.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("hook", hookspecs.HOOK_NAMES)
def test_hook_is_documented_with_its_signature(hook: str) -> None:
    docs = documented()
    assert hook in docs, f"docs/hooks.md has no '## `{signature(hook)}`' heading"
    assert docs[hook] == signature(hook), (
        f"docs/hooks.md documents {docs[hook]!r} but hookspecs.py has {signature(hook)!r}")


def test_every_hookspec_is_in_hook_names() -> None:
    specs = {n for n, f in vars(hookspecs).items() if callable(f) and hasattr(f, "arena_spec")}
    assert specs == set(hookspecs.HOOK_NAMES)


def test_no_documented_hook_is_missing_from_hookspecs() -> None:
    extra = set(documented()) - set(hookspecs.HOOK_NAMES)
    assert not extra, f"docs/hooks.md documents hooks that hookspecs.py does not have: {sorted(extra)}"


def test_signature_rendering() -> None:
    assert signature("register_cells") == "register_cells(register: Callable[..., None]) -> None"
    assert signature("register_commands") == "register_commands(cli: click.Group) -> None"
