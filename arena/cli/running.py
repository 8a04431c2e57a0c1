"""Commands that train or time: `arena run`, `arena bench`, `arena generate`."""

from __future__ import annotations

import sys
from typing import Any

import click

from arena.cli import _host, _open, cli, db_option
from arena.cli.results import BOARD_COLUMNS
from arena.errors import ArenaError


# -- run ----------------------------------------------------------------------------------
@cli.command()
@click.option("--model", "-m", "models", required=True, multiple=True, help="Cell name(s), comma separated.")
@click.option("--task", "-t", "tasks", multiple=True, help="Task name(s), comma separated (with --board: only these).")
@click.option("--seeds", default=None, help="Seeds: a range 0-4, a list 0,3,7, or one seed [default: 0-4; with "
                                            "--board, the board's own].")
@click.option("--board", is_flag=True, help="Train the given cells on exactly the shipped board's settings "
                                           "(tasks, presets, parameters, training settings, budgets, seeds), so "
                                           "they pair with its runs (docs/writing-plugins.md).")
@click.option("--track", default=None, help="With --board: the board's track to plan (default: its first, "
                                            "matched when present). Implies --board.")
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
@click.option("--keep-weights", is_flag=True,
              help="Keep each trained run's best weights beside the store (LEADERBOARD.weights/KEY.pt, sha256 "
                   "stored with the run), for `arena generate`.")
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
def run(models: tuple[str, ...], tasks: tuple[str, ...], seeds: str | None, board: bool, track: str | None,
        preset: str | None, device: str,
        sets: tuple[str, ...], budget: str | None, layers: int | None, block: str | None, force: bool,
        keep_weights: bool, retry_failed: bool, dry_run: bool, executor: str, workers: int, threads: int | None,
        slurm_opts: tuple[str, ...], executor_opts: tuple[str, ...], db: str | None) -> None:
    """Train cells on tasks for several seeds; skip runs already stored.

    Every run is committed the moment it ends. Ctrl-C keeps all finished runs and marks the
    interrupted one; running the same command again completes the grid.
    """
    from arena.plan import parse_overrides, parse_seeds, plan_runs, split_names
    from arena.runner import make_executor, select_runs

    host = _host()
    sets += tuple(f"{k}={v}" for k, v in (("budget", budget), ("layers", layers), ("block", block)) if v is not None)
    if board or track:
        from arena.board_plan import plan_board

        if preset:
            raise ArenaError("--board plans the board's own presets: leave out --preset")
        plan = plan_board(host, split_names(models), track=track, tasks=split_names(tasks) if tasks else None,
                          seeds=parse_seeds(seeds) if seeds is not None else None, overrides=parse_overrides(sets))
        specs = plan.specs
        click.echo(f"the shipped board's {plan.track} track: {len(specs)} runs of {', '.join(split_names(models))}"
                   + (f"; left out: {'; '.join(plan.skipped)}" if plan.skipped else ""), err=True)
    elif not tasks:
        raise ArenaError("name the task(s) with --task, or plan the shipped board's settings with --board")
    else:
        specs = plan_runs(host.cells, host.tasks, split_names(models), split_names(tasks), parse_seeds("0-4" if seeds is None else seeds),
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
    if keep_weights:
        import os

        from arena.checkpoints import ENV, folder_for

        before = os.environ.get(ENV)
        os.environ[ENV] = str(folder_for(store.url).resolve())  # read by every worker (run_one)
        click.get_current_context().call_on_close(
            lambda: os.environ.pop(ENV, None) if before is None else os.environ.update({ENV: before}))
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


def _print_results(store: Any, specs: list[Any]) -> None:
    from arena.leaderboard import LEGEND, task_board
    from arena.tables import render

    rows = task_board(store, keys=[s.key for s in specs])  # only what this command planned
    if rows:
        click.echo(render(rows, BOARD_COLUMNS))
        click.echo(LEGEND)


# -- generate -----------------------------------------------------------------------------
@cli.command()
@click.argument("run_key")
@click.option("--prompt", required=True, help="Text to start from (characters of the task's vocabulary).")
@click.option("--length", default=200, show_default=True, type=click.IntRange(1), help="Tokens to generate.")
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(0, min_open=True))
@click.option("--top-k", default=None, type=click.IntRange(1), help="Sample among the k most likely tokens only.")
@click.option("--seed", default=0, show_default=True, type=int, help="Sampling seed: the same seed, the same text.")
@db_option
def generate(run_key: str, prompt: str, length: int, temperature: float, top_k: int | None, seed: int,
             db: str | None) -> None:
    """Sample text from a stored run's kept weights (`arena run --keep-weights`) through the
    cell's step(), one token at a time, and report tokens per second."""
    from arena.checkpoints import folder_for
    from arena.generation import generate as sample_text, model_of_run

    store = _open(db)
    keys = store.find_keys(run_key)
    if len(keys) != 1:
        raise ArenaError(f"no run with key {run_key!r} in {store.url}" if not keys
                         else f"run key prefix {run_key!r} is ambiguous: {', '.join(keys)}")
    run_ = store.runs(keys=keys)[0]
    if run_["status"] != "done":
        raise ArenaError(f"run {keys[0]} is {run_['status']}, not done: nothing to generate from")
    model, task = model_of_run(_host(), run_, folder_for(store.url))
    try:
        out = sample_text(model, task, prompt, length, temperature=temperature, top_k=top_k, seed=seed)
    except ValueError as exc:
        raise ArenaError(str(exc)) from None
    click.echo(prompt + out.text)
    click.echo(f"{out.tokens} tokens in {out.seconds:.3f} s: {out.tokens_per_s:,.0f} tokens/s "
               f"({run_['cell']}, step() one token at a time)", err=True)
