"""The ``arena`` command line.

Imports stay light at module level (click, the plugin host, SQLAlchemy): torch is imported only
by commands that train or time something, so ``arena --help``, ``arena list`` and
``arena plugins`` stay fast and work even where torch cannot be imported.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from arena.errors import ArenaError

RUN_KEY_PREFIX = "b2:"


class UserError(click.ClickException):
    """Bad input: one line on stderr, exit status 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _one_line(exc: click.UsageError) -> UserError:
    """click would print usage, a hint and the error: one line instead."""
    where = exc.ctx.command_path if exc.ctx else "arena"
    return UserError(f"{' '.join(exc.format_message().split())} (see `{where} --help`)")


class ArenaGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # the group's own options (`arena --bogus`) are parsed here, before invoke
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArenaError as exc:
            raise UserError(str(exc)) from None
        except click.UsageError as exc:
            raise _one_line(exc) from None


def _host() -> Any:
    from arena.host import get_host

    return get_host()


def _open(db: str | None, write: bool = False) -> Any:
    from arena.store import open_store

    return open_store(db, write=write)


def _check_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from arena.validate import db_problem

    problem = db_problem(value)
    if problem:
        raise UserError(problem)
    return value


db_option = click.option("--db", "db", metavar="URL", default=None, callback=_check_db,
                         help="SQLAlchemy URL of the store [env ARENA_DB; default sqlite:///leaderboard.db].")


@click.group(cls=ArenaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnn-arena", prog_name="arena")
def cli() -> None:
    """arena: train and compare recurrent cells reproducibly, across seeds, into one SQL store.

    \b
    arena run --model gru,lstm --task copy --preset smoke --seeds 0-1
    arena leaderboard
    """
    # ARENA_STRICT_PLUGINS=1: no command runs beside a broken plugin; `arena plugins` lists first.
    if click.get_current_context().invoked_subcommand != "plugins":
        _host().check_strict()


# -- run ----------------------------------------------------------------------------------
@cli.command()
@click.option("--model", "-m", "models", required=True, multiple=True, help="Cell name(s), comma separated.")
@click.option("--task", "-t", "tasks", required=True, multiple=True, help="Task name(s), comma separated.")
@click.option("--seeds", default="0-4", show_default=True, help="Seeds: a range 0-4, a list 0,3,7, or one seed.")
@click.option("--preset", "-p", default=None, help="Task preset (default: each task's default, usually 'standard').")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]) ,
              help="Where to train; auto picks CUDA when available.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a training field (lr=0.01), task parameter (task.length=20) or cell option "
                   "(cell.persistence_init=3). Repeatable.")
@click.option("--budget", default=None, help="Size every model to this many parameters, embedding left out "
                                             "(20000 or 20k; the width is solved per cell). Same as --set budget=N.")
@click.option("--layers", default=None, type=click.IntRange(1), help="Stack the cell: layers (--set layers=N).")
@click.option("--block", default=None, type=click.Choice(["none", "residual", "residual-mlp"]),
              help="Wrap each layer: residual or residual-mlp (pre-norm; see docs/tracks.md).")
@click.option("--force", is_flag=True, help="Train again even if the run is stored.")
@click.option("--retry-failed", is_flag=True, help="Train again the runs stored as failed.")
@click.option("--dry-run", is_flag=True, help="Show the plan and what would be trained; train nothing.")
@click.option("--executor", default="local", show_default=True,
              help="Where runs train: local, submitit/slurm, ray, or a plugin's executor (arena list executors).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1),
              help="Local worker processes (one GPU, or cores/N threads, each).")
@click.option("--threads", default=None, type=click.IntRange(1),
              help="CPU threads per run (default: cores / workers). Results are bitwise reproducible across "
                   "executors at the same thread count, which each run's environment records.")
@click.option("--slurm", "slurm_opts", multiple=True, metavar="KEY=VALUE",
              help="submitit/Slurm option: partition, gpus, time (min), mem (GB), cpus, cluster=local, folder.")
@click.option("--executor-opt", "executor_opts", multiple=True, metavar="KEY=VALUE",
              help="Any other executor option (e.g. address=ray://head:10001, num_cpus=2).")
@db_option
def run(models: tuple[str, ...], tasks: tuple[str, ...], seeds: str, preset: str | None, device: str,
        sets: tuple[str, ...], budget: str | None, layers: int | None, block: str | None, force: bool,
        retry_failed: bool, dry_run: bool, executor: str, workers: int, threads: int | None,
        slurm_opts: tuple[str, ...], executor_opts: tuple[str, ...], db: str | None) -> None:
    """Train cells on tasks for several seeds; skip runs already stored.

    Every run is committed the moment it ends. Ctrl-C keeps all finished runs and marks the
    interrupted one; running the same command again completes the grid.
    """
    from arena.plan import parse_overrides, parse_seeds, plan_runs, split_names
    from arena.runner import make_executor, select_runs

    host = _host()
    sets += tuple(f"{k}={v}" for k, v in (("budget", budget), ("layers", layers), ("block", block)) if v is not None)
    specs = plan_runs(host.cells, host.tasks, split_names(models), split_names(tasks), parse_seeds(seeds),
                      preset, parse_overrides(sets))
    ex_options = _key_values(slurm_opts + executor_opts)
    if workers > 1:
        if executor != "local":
            raise ArenaError("--workers is an option of the local executor; use --executor-opt for others")
        ex_options["workers"] = workers
    if executor == "slurm":
        ex_options.setdefault("cluster", "slurm")
    if threads:
        ex_options["threads"] = threads
    ex = make_executor(host, executor, ex_options)  # bad options are refused before the store is touched
    if device == "cuda" and not dry_run:
        import torch

        if not torch.cuda.is_available():
            raise ArenaError("--device cuda was asked for, but torch sees no CUDA device")
    store = _open(db, write=True)
    report = select_runs(store, specs, force=force, retry_failed=retry_failed)
    todo = report.todo
    try:  # Ctrl-C from here on (data, plan line, training, results table) keeps every finished run
        if todo and not dry_run:
            _prepare_data(host, todo)
        if any(s.train.get("budget") for s in todo):
            from arena.budget import check_plan

            check_plan(host, todo)  # a cell that cannot reach its budget is refused before anything trains
        click.echo(f"{len(specs)} runs planned: {len(report.skipped)} already stored, "
                   f"{len(report.busy)} running elsewhere, {len(todo)} to train  [{store.url}]", err=True)
        if dry_run:
            from arena.tables import render

            train_keys = {s.key for s in todo}  # a set: `s in todo` made 10,000 seeds take seconds
            click.echo(render([{"key": s.key, "cell": s.cell, "task": s.task, "preset": s.preset, "seed": s.seed,
                                "action": "train" if s.key in train_keys else "skip"} for s in specs]))
            return
        if todo:
            _train(host, store, todo, report, device, executor, ex, force=force, retry_failed=retry_failed)
        _print_results(store, specs)
    except KeyboardInterrupt:  # the results table only reads the store: nothing is lost
        report.interrupted = True
    failed = [k for k, st in report.ran.items() if st == "failed"]
    if report.interrupted:
        click.echo("Interrupted: finished runs are stored; run the same command again to complete the grid.", err=True)
        sys.exit(130)
    if failed:
        click.echo(f"{len(failed)} run(s) failed; see `arena show {failed[0]}` for the traceback.", err=True)
        sys.exit(1)


def _prepare_data(host: Any, todo: list[Any]) -> None:
    """Find or fetch every dataset the planned runs need, before training anything."""
    from arena.keys import canonical_json

    seen = set()
    for spec in todo:
        ident = (spec.task, canonical_json(spec.params))
        if ident not in seen:
            seen.add(ident)
            host.tasks.get(spec.task).load()(**spec.params).prepare()


def _key_values(items: tuple[str, ...]) -> dict[str, Any]:
    from arena.plan import parse_value

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ArenaError(f"bad option {item!r}: use key=value")
        out[key.strip()] = parse_value(value.strip(), f"option {key.strip()}")
    return out


def _train(host: Any, store: Any, todo: list[Any], report: Any, device: str, executor: str,
           ex: Any, *, force: bool, retry_failed: bool) -> None:
    from arena.runner import execute

    tty = sys.stderr.isatty()
    with click.progressbar(length=len(todo), label="training", file=sys.stderr, show_eta=True, show_pos=True,
                           item_show_func=lambda s: s.label() if s is not None else "") as bar:
        def progress(spec: Any, event: str) -> None:
            if event == "start":
                bar.update(0, current_item=spec)
                return
            if event == "skipped":
                bar.update(1, current_item=spec)
                return
            bar.update(1, current_item=spec)
            if not tty:
                click.echo(f"  {event:<9} {spec.label()}  {spec.key}", err=True)

        try:
            execute(host, store, todo, report, device_name=device, executor=ex, progress=progress, force=force,
                    retry_failed=retry_failed)
        except KeyboardInterrupt:  # between runs: nothing to mark, every finished run is stored
            report.interrupted = True
        except (TypeError, ValueError) as exc:
            raise ArenaError(f"executor {executor!r}: {exc}") from None


BOARD_COLUMNS = ["track", "task", "preset", "setting", "cell", "metric", "result", "score [95% CI]", "n", "failed k/n",
                 "rank", "vs leader", "size"]


def _print_results(store: Any, specs: list[Any]) -> None:
    from arena.leaderboard import LEGEND, task_board
    from arena.tables import render

    rows = task_board(store, keys=[s.key for s in specs])  # only what this command planned
    if rows:
        click.echo(render(rows, BOARD_COLUMNS))
        click.echo(LEGEND)


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


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


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


# -- results ------------------------------------------------------------------------------
@cli.command()
@click.option("--task", "-t", default=None, help="Only this task.")
@click.option("--aggregate", is_flag=True, help="Across tasks: mean score and IQM with CIs, mean ranks with "
                                               "Friedman/Nemenyi and the rank intervals they support, P(X > Y).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown", "latex"]), default="table",
              show_default=True)
@click.option("--track", default=None, help="Only this track: matched, bare, or 'matched 2×residual-mlp' (see "
                                          "`arena leaderboard`; default: every track, the aggregate the first).")
@db_option
def leaderboard(task: str | None, aggregate: bool, fmt: str, track: str | None, db: str | None) -> None:
    """Each setting's cells: value, score with its 95% CI, failures, rank and verdict.

    Scores put chance at 0 and the task's solved level at 1 (log scale for error metrics);
    failed and diverged runs score at the floor (-1) and never outrank a finished run. The
    leader has the best mean score; ★ when it is shown better than chance; the others are
    "worse" (Holm-corrected t-test against the leader) or "inconclusive". With fewer than 5
    seeds the values are shown, not an interval. See docs/methodology.md.
    """
    from arena.across_tasks import aggregate_text
    from arena.leaderboard import LEGEND, task_board
    from arena.tables import render

    store = _open(db)
    if task and task not in _host().tasks and not store.runs(task=task):  # a stored task shows uninstalled
        from arena.registry import suggest

        known = sorted(set(_host().tasks.names()) | {r["task"] for r in store.runs()})
        raise ArenaError(f"unknown task {task!r}: neither installed nor in {store.url}." + suggest(task, known))
    if track is not None:
        from arena.leaderboard import tracks
        from arena.tracks import pick

        pick(tracks(store, task), track)
    if aggregate:
        text, ok = aggregate_text(store, task, fmt, track)
        click.echo(text, err=not ok)
        return
    rows = task_board(store, task=task, track=track)
    if not rows:
        click.echo(f"No runs{' for task ' + repr(task) if task else ''} in {store.url}.", err=True)
        return
    cols = BOARD_COLUMNS
    if fmt in ("json", "csv"):
        cols = ["track", "task", "preset", "setting", "cell", "body_params", "width", "state_size", "metric", "scale",
                "value", "value_kind", "n", "n_done", "failed",
                "diverged", "failure_rate", "all_failed", "scored", "score_note", "score", "score_std", "ci_low", "ci_high", "ci_method", "score_values",
                "rank", "leader", "star", "verdict", "p_vs_leader", "p_vs_leader_raw", "test", "p_vs_chance",
                "chance", "solved", "params", "cell_options"]
    click.echo(render(rows, cols, fmt))
    if fmt in ("table", "markdown"):
        click.echo("\n" + LEGEND)


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--task", "-t", default=None, help="Only this task (default: every task both cells ran).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True)
@click.option("--track", default=None, help="Only this track (default: every track, each its own Holm family).")
@db_option
def compare(a: str, b: str, task: str | None, fmt: str, track: str | None, db: str | None) -> None:
    """Cell A against cell B on matched seeds, per task setting, in words.

    On the score scale (chance 0, solved 1; failures at -1): the mean difference A - B with
    its t-interval, the paired t-test Holm-corrected over the settings shown and the verdict
    (better / worse / inconclusive); the equivalence test (TOST, margin 0.05) and its verdict
    (equivalent / not shown equivalent / different). See docs/methodology.md.
    """
    from arena.leaderboard import compare as compare_cells
    from arena.leaderboard import compare_display
    from arena.tables import render

    if a == b:
        raise ArenaError(f"cannot compare {a!r} with itself: name two different cells")
    store = _open(db)
    rows = compare_cells(store, a, b, task=task, track=track)
    if not rows:
        stored = sorted({r["cell"] for r in store.runs(task=task)})
        missing = [c for c in (a, b) if c not in stored]
        from arena.registry import suggest

        hint = suggest(missing[0], stored) if missing else ""
        raise ArenaError(f"no setting{' of ' + repr(task) if task else ''} where both {a!r} and {b!r} have runs "
                         f"in {store.url}." + hint)
    if fmt == "json":
        _echo_json(rows)
        return
    for r in rows:
        r.update(compare_display(r))
    click.echo(render(rows, ["track", "task", "preset", "setting", "metric", "n", "A", "B", "A - B [95% CI]", "p_holm", "A is",
                             "p_tost_holm", "equivalence"], fmt))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "markdown"]), default="json", show_default=True,
              help="json and csv: one record per run; markdown: the leaderboard as one setting x cell table.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of stdout.")
@click.option("--track", default=None, help="markdown: the track to tabulate (default: the first stored, matched "
                                          "before bare).")
@db_option
def export(fmt: str, output: str | None, track: str | None, db: str | None) -> None:
    """Every stored run (config, status, final test metrics, environment, timing).

    ``--format markdown`` writes the leaderboard instead, one row per task setting and one column
    per cell (the main test metric with its verdict mark, legend below the table), for READMEs and
    papers.
    """
    from arena.results import export_runs, flatten
    from arena.tables import render

    if fmt == "markdown":
        from arena.leaderboard import MATRIX_LEGEND, board_matrix, task_board

        from arena.leaderboard import tracks
        from arena.tracks import pick

        store = _open(db)
        chosen = pick(tracks(store), track)
        columns, table = board_matrix(task_board(store, track=chosen))
        text = render(table, columns, "markdown") + "\n\n" + MATRIX_LEGEND if table else "No runs."
    elif fmt == "json":
        text = json.dumps(export_runs(_open(db)), indent=2, default=str, ensure_ascii=False)
    else:
        flat = [flatten(r) for r in export_runs(_open(db))]
        cols: list[str] = []
        for r in flat:
            cols.extend(c for c in r if c not in cols)
        text = render(flat, cols, "csv")
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            raise ArenaError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        click.echo(text)


@cli.command()
@click.option("--model", "-m", "models", required=True, multiple=True, help="Cell name(s), comma separated.")
@click.option("--seq-len", default="64,256,1024", show_default=True, help="Sequence lengths, comma separated.")
@click.option("--hidden", default="128", show_default=True, help="Hidden sizes, comma separated.")
@click.option("--batch", default=32, show_default=True, type=click.IntRange(1))
@click.option("--input-size", default=64, show_default=True, type=click.IntRange(1))
@click.option("--mode", "modes", default="fwd-bwd", show_default=True,
              help="fwd, fwd-bwd and/or step (O(1) recurrent inference), comma separated.")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--compile", "compile_", is_flag=True, help="torch.compile each cell (compile time is in first_call_s).")
@click.option("--vs", "baseline", default="gru", show_default=True,
              help="Baseline cell timed in the same rounds; every figure gets a ratio to it ('' for none).")
@click.option("--rounds", default=None, type=click.IntRange(1), help="Timed rounds (default: by length).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True)
@click.option("--no-store", is_flag=True, help="Do not write the rows to the store.")
@db_option
def bench(models: tuple[str, ...], seq_len: str, hidden: str, batch: int, input_size: int, modes: str, device: str,
          compile_: bool, baseline: str, rounds: int | None, fmt: str, no_store: bool, db: str | None) -> None:
    """Time cells (forward, forward+backward, step-wise inference) against a baseline."""
    from arena.plan import split_names

    host = _host()
    names = split_names(models)
    for n in names + ([baseline] if baseline else []):
        host.cells.get(n)
    mode_list = split_names(modes)
    from arena.bench.throughput import MODES, BenchConfig

    bad = [m for m in mode_list if m not in MODES]
    if bad:
        raise ArenaError(f"unknown mode {bad[0]!r}; use {', '.join(MODES)}")
    cfg = BenchConfig(models=names, seq_lens=_ints(seq_len, "--seq-len"), hiddens=_ints(hidden, "--hidden"),
                      batch=batch, input_size=input_size, modes=tuple(mode_list), device=device, compile=compile_,
                      baseline=baseline, rounds=rounds)
    store = None if no_store else _open(db, write=True)
    from arena.bench.throughput import run as run_bench
    from arena.envinfo import environment
    from arena.tables import render

    try:
        rows = run_bench(host, cfg, progress=lambda line: click.echo(line, err=True))
    except RuntimeError as exc:
        if "CUDA" in str(exc):
            raise ArenaError(str(exc)) from None
        raise
    if store is not None:
        env = environment(rows[0]["device"] if rows else device, host.versions())
        store.save_throughput(rows, store.save_environment(env))
    if fmt in ("json", "csv"):
        click.echo(render(rows, None, fmt))
        return
    cols = ["model", "mode", "seq_len", "hidden", "median_s", "tokens_per_s", "ratio_to_baseline", "time_exponent",
            "peak_mem_bytes", "state_bytes", "params", "impl"]
    click.echo(render(rows, cols, fmt))


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ArenaError(f"bad {what} {text!r}: use integers separated by commas") from None
    if not values or min(values) < 1:
        raise ArenaError(f"bad {what} {text!r}: use positive integers separated by commas")
    return values


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--delete", is_flag=True, help="Delete each result file once it is stored or found already stored.")
@db_option
def ingest(folder: str, delete: bool, db: str | None) -> None:
    """Store the result files of a folder (an executor's outbox, a colleague's runs), by run key.

    Idempotent: a run already stored as done or diverged is left as it is.
    """
    from arena.runner import ingest as ingest_records
    from arena.validate import record_problem
    from arena.worker import read_results

    found = read_results(folder, unreadable=True)
    problems = [(path.name, record_problem(rec)) for path, rec in found]
    bad = [f"{name}: {problem}" for name, problem in problems if problem]
    if found and len(bad) == len(found):  # nothing to store: a wrong folder, not a partial merge
        raise ArenaError(f"no result file in {folder} can be stored ({len(bad)} invalid; first: {bad[0]})")
    store = _open(db, write=True)
    counts = ingest_records(store, [rec for _, rec in found])
    if delete:
        for (path, _), (_, problem) in zip(found, problems):
            if problem is None:  # an invalid file stays for someone to look at
                path.unlink(missing_ok=True)
    click.echo(f"{len(found)} result files: {counts['ingested']} stored, {counts['skipped']} already stored, "
               f"{counts['invalid']} invalid{' (first: ' + bad[0] + ')' if bad else ''}  [{store.url}]")


@cli.group()
def data() -> None:
    """Real datasets: where they are, whether they verify, and downloading them."""


@data.command(name="status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def data_status(fmt: str) -> None:
    """Which dataset files are present and verified (checksums), and where."""
    from arena.datasets import status
    from arena.tables import render

    _host()  # task plugins register their datasets
    click.echo(render(status(), ["dataset", "status", "verified", "files", "missing_optional", "location",
                                 "problems"], fmt))


@data.command(name="fetch")
@click.argument("name")
def data_fetch(name: str) -> None:
    """Download a dataset from its official source into the cache and verify it."""
    from arena.datasets import REGISTRY, require
    from arena.registry import suggest

    _host()
    if name not in REGISTRY:
        raise ArenaError(f"unknown dataset {name!r}." + suggest(name, list(REGISTRY)))
    paths = require(name, [f.name for f in REGISTRY[name].files])
    click.echo(f"{name}: {len(paths)} files verified in {sorted({str(p.parent) for p in paths.values()})[0]}")


def build_cli() -> click.Group:
    """The command group with every plugin's commands added."""
    from arena.host import get_host

    get_host().register_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    build_cli().main(args=argv, prog_name="arena")
