"""The plugin author kit: ``arena new-plugin`` and ``arena test-plugin``.

A built-in plugin (entry point ``plugin-kit``) that adds its commands through the same
``register_commands`` hook any plugin may implement. Importing it costs nothing: the templates
and the contract checks (``arena.testing``, which needs torch) load only when a command runs.
"""
from __future__ import annotations

from typing import Any

from arena import hookimpl
from arena.errors import ArenaError
from arena.host import normalise_dist


def plugin_records(host: Any, dist: str) -> list[Any]:
    """Every entry point (PluginRecord) of the installed distribution ``dist``."""
    want = normalise_dist(dist)
    return [r for r in host.plugins.values() if normalise_dist(r.dist) == want]


def test_plugin(host: Any, dist: str, *, train: bool = True, only: tuple[str, ...] = (),
                device: str = "cpu", echo: Any = print) -> bool:
    """Run the contract checks on every cell and task of ``dist``; echo one line per check.

    Each load error of the plugin (import, hook or registration failure) counts as one failed
    check in the summary line. Returns True when nothing failed. Raises ArenaError for an
    unknown distribution.
    """
    from arena.testing import check_cell, check_task

    records = plugin_records(host, dist)
    if not records:
        from arena.registry import suggest

        known = sorted({r.dist for r in host.plugins.values()})
        raise ArenaError(f"no installed arena plugin distribution {dist!r}." + suggest(dist, known))
    cells = [c for r in records for c in r.cells if not only or c in only]
    tasks = [t for r in records for t in r.tasks if not only or t in only]
    version = records[0].version
    echo(f"{records[0].dist} {version}: {len(cells)} cell(s) {', '.join(cells) or '-'}; "
         f"{len(tasks)} task(s) {', '.join(tasks) or '-'}")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for r in records:
        for err in r.errors:
            echo(f"FAIL  plugin {r.name:<17} load              {err}")
            counts["fail"] += 1  # a plugin that did not load must not sum up as "0 failed"
    if only:
        missing = [n for n in only if n not in cells and n not in tasks]
        if missing:
            raise ArenaError(f"{records[0].dist} registers no cell or task {missing[0]!r}; it registers "
                             f"{', '.join([c for r in records for c in r.cells + r.tasks]) or 'nothing'}")
    if not cells and not tasks and not counts["fail"]:
        raise ArenaError(f"{records[0].dist} registers no cells or tasks, so there is nothing to check")
    skip_cell = () if train else ("smoke-train",)
    skip_task = () if train else ("smoke-run",)
    jobs = [(check_cell, c, skip_cell) for c in cells] + [(check_task, t, skip_task) for t in tasks]
    for check, name, skip in jobs:  # one cell or task at a time, printed as it finishes
        for result in check(name, skip=skip, device=device):
            echo(result.line())
            counts[result.status] += 1
    ok = counts["fail"] == 0
    echo(f"{'PASSED' if ok else 'FAILED'}: {counts['pass']} passed, {counts['fail']} failed, "
         f"{counts['skip']} skipped")
    return ok


@hookimpl
def register_commands(cli: Any) -> None:
    import click

    @cli.command(name="new-plugin")
    @click.argument("name")
    @click.option("--task", "is_task", is_flag=True, help="Write a task plugin instead of a cell plugin.")
    @click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
                  help="Where to create the arena-NAME folder.")
    def new_plugin(name: str, is_task: bool, directory: str) -> None:
        """Write arena-NAME/: a working cell (or task) plugin with tests, README and CI.

        \b
        arena new-plugin mycell && cd arena-mycell && pip install -e ".[test]"
        python -m pytest && arena test-plugin arena-mycell
        """
        from arena.host import get_host
        from arena.plugin_template import check_name, render, write_plugin

        check_name(name)
        host = get_host()
        registry = host.tasks if is_task else host.cells
        if name in registry:
            holder = host.plugins.get(registry.get(name).plugin)
            where = f" by {holder.dist}" if holder else ""
            kind = "task" if is_task else "cell"
            raise ArenaError(f"a {kind} named {name!r} is already registered{where}; choose another name")
        root = write_plugin(name, directory, task=is_task)
        files = sorted(render(name, is_task))
        click.echo(f"Wrote {root}/ ({len(files)} files):")
        for f in files:
            click.echo(f"  {f}")
        run = (f"arena run --model gru,lstm --task {name} --preset smoke --seeds 0-1" if is_task
               else f"arena run --model {name},gru --task adding --preset smoke --seeds 0-1")
        click.echo("\nNext:\n"
                   f"  cd {root} && pip install -e \".[test]\"\n"
                   "  python -m pytest\n"
                   f"  arena test-plugin arena-{name}\n"
                   f"  {run} && arena leaderboard")

    @cli.command(name="test-plugin")
    @click.argument("dist")
    @click.option("--only", "only", multiple=True, help="Check only this cell or task (repeatable).")
    @click.option("--no-train", is_flag=True, help="Leave out the checks that train a model (smoke runs).")
    @click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
    def test_plugin_cmd(dist: str, only: tuple[str, ...], no_train: bool, device: str) -> None:
        """Run arena's contract checks on every cell and task of an installed plugin.

        DIST is the plugin's distribution name (as in `arena plugins`), e.g. arena-indrnn.
        Prints PASS, FAIL or SKIP per check; exits 0 only if nothing failed.
        """
        import sys

        from arena.host import get_host

        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ArenaError("--device cuda was asked for, but torch sees no CUDA device")
        if not test_plugin(get_host(), dist, train=not no_train, only=only, device=device, echo=click.echo):
            sys.exit(1)
