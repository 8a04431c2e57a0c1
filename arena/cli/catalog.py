"""Commands that describe what is installed or stored: `arena list`, `show`, `plugins`, `sys-info`."""

from __future__ import annotations

import json
from typing import Any

import click

from arena.cli import RUN_KEY_PREFIX, _echo_json, _host, _open, cli, db_option
from arena.errors import ArenaError


# -- list / show / plugins / sys-info -----------------------------------------------------
@cli.command(name="list")
@click.argument("what", type=click.Choice(["cells", "tasks", "executors"]))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_(what: str, fmt: str) -> None:
    """List installed cells or tasks (never imports torch)."""
    from arena.tables import render

    host = _host()
    if what == "cells":
        rows = [{"name": e.name, "summary": e.info.summary, "options": dict(e.info.options), "plugin": e.plugin}
                for e in host.cells]
        cols = ["name", "summary", "plugin"] + (["options"] if fmt == "json" else [])
    elif what == "tasks":
        rows = [{"name": e.name, "summary": e.info.summary, "presets": ",".join(e.info.presets),
                 "main metric": f"{e.info.main_metric} {e.info.metric(e.info.main_metric).arrow}",
                 "metrics": ",".join(m.name for m in e.info.metrics), "plugin": e.plugin} for e in host.tasks]
        cols = ["name", "summary", "presets", "main metric", "metrics", "plugin"]
    else:
        rows = [{"name": e.name, "summary": e.info.summary, "plugin": e.plugin} for e in host.executors]
        cols = ["name", "summary", "plugin"]
    click.echo(render(rows, cols, fmt))


@cli.command()
@click.argument("name")
@click.option("--task", "-t", default=None, help="With a cell: the model it makes on this task (width, parameters).")
@click.option("--preset", "-p", default=None, help="With --task: the preset (default: the task's default).")
@click.option("--budget", default=None, help="With --task: size the model to this many parameters (20000 or 20k).")
@click.option("--layers", default=None, type=click.IntRange(1), help="With --task: layers of the stack.")
@click.option("--block", default=None, type=click.Choice(["none", "residual", "residual-mlp"]),
              help="With --task: the block of each layer.")
@db_option
def show(name: str, task: str | None, preset: str | None, budget: str | None, layers: int | None,
         block: str | None, db: str | None) -> None:
    """Show a cell, a task, or a stored run (by run key or a unique prefix of it).

    ``arena show CELL --task TASK --budget N`` prints the width solved for the budget and the
    model's parameters with and without the embedding.
    """
    host = _host()
    if name in host.cells and task:
        from arena.budget import BudgetError, describe

        try:
            _echo_json(describe(host, name, host.tasks.get(task).name, preset, budget, layers, block))
        except (BudgetError, ValueError, KeyError) as exc:
            raise ArenaError(str(exc).strip("'\"")) from None
        return
    if name in host.cells:
        e = host.cells.get(name)
        _echo_json({"cell": e.name, "plugin": e.plugin, "distribution": e.dist, "distribution_version": e.dist_version,
                    "factory": e.factory if isinstance(e.factory, str) else repr(e.factory),
                    **_info_dict(e.info)})
        return
    if name in host.tasks:
        e = host.tasks.get(name)
        info = _info_dict(e.info)
        info["metrics"] = [{"name": m.name, "higher_is_better": m.higher_is_better, "scale": m.scale,
                            "description": m.description} for m in e.info.metrics]
        info["presets"] = {k: {"params": dict(p.params), "train": dict(p.train), "description": p.description}
                           for k, p in e.info.presets.items()}
        try:
            inst = e.load()(**{**e.info.params, **e.info.presets[e.info.default_preset].params})
            info["chance"], info["solved"] = inst.chance(), inst.solved()
        except Exception as exc:  # noqa: BLE001 - show what we can
            info["chance"] = info["solved"] = f"unavailable: {exc}"
        _echo_json({"task": e.name, "plugin": e.plugin, "distribution": e.dist, "distribution_version": e.dist_version,
                    **info})
        return
    if not name.startswith(RUN_KEY_PREFIX):
        from arena.registry import suggest

        raise ArenaError(f"no cell, task or run key {name!r}." + suggest(name, host.cells.names() + host.tasks.names()))
    store = _open(db)
    keys = store.find_keys(name)
    if not keys:
        raise ArenaError(f"no run with key {name!r} in {store.url}")
    if len(keys) > 1:
        raise ArenaError(f"run key prefix {name!r} is ambiguous: {', '.join(keys)}")
    from arena.results import export_runs

    run_ = next(r for r in export_runs(store) if r["key"] == keys[0])
    run_["curves"] = store.curves(keys[0])
    run_["reproduce"] = reproduce_command(host, run_)
    _echo_json(run_)


def reproduce_command(host: Any, run_: dict[str, Any]) -> str:
    """The `arena run` command that makes this run again (same key)."""
    cell, task = run_.get("cell_name", run_["cell"]), run_.get("task_name", run_["task"])
    parts = ["arena run", f"--model {cell}", f"--task {task}", f"--preset {run_['preset']}", f"--seeds {run_['seed']}"]
    from arena.contracts import TrainConfig
    from arena.keys import canonical_json

    if task in host.tasks and cell in host.cells:
        tinfo = host.tasks.get(task).info
        preset = tinfo.presets.get(run_["preset"])
        base_params = {**tinfo.params, **(preset.params if preset else {})}
        base_train = {**TrainConfig().as_dict(), **(preset.train if preset else {})}
        cinfo = host.cells.get(cell).info
        for scope, actual, base in (("task", run_["params"], base_params), ("train", run_["train"], base_train),
                                    ("cell", run_["cell_options"], dict(cinfo.options))):
            for k in sorted(actual):
                if canonical_json(actual[k]) != canonical_json(base.get(k)):
                    parts.append(f"--set {scope}.{k}={json.dumps(actual[k])}")
    return " ".join(parts)


def _info_dict(info: Any) -> dict[str, Any]:
    import dataclasses

    d = dataclasses.asdict(info)
    return {k: v for k, v in d.items() if v not in ("", (), {}, None) and k not in ("metrics", "presets")}


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plugins(fmt: str) -> None:
    """Installed plugins: distribution, version, hooks, what they registered, and load errors."""
    from arena.tables import render

    host = _host()
    rows = [r.as_dict() for r in host.plugins.values()]
    if fmt == "json":
        _echo_json(rows)
    else:
        for r in rows:
            r["registered"] = ", ".join(r["cells"] + r["tasks"] + r["executors"])
            r["hooks"] = ", ".join(r["hooks"])
            r["status"] = "ok" if not r["error"] else "ERROR: " + r["error"].replace("\n", "; ")
        click.echo(render(rows, ["name", "distribution", "version", "hooks", "registered", "status"]))
    host.check_strict()  # under ARENA_STRICT_PLUGINS=1 a broken plugin makes this exit 2, after the list


@cli.command(name="sys-info")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), show_default=True)
def sys_info(device: str) -> None:
    """The environment recorded with every run (imports torch)."""
    from arena.envinfo import environment
    from arena.training import resolve_device

    try:
        dev = resolve_device(device)
    except RuntimeError as exc:
        raise ArenaError(str(exc)) from None
    _echo_json(environment(str(dev), _host().versions()))
