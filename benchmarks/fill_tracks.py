"""Fill the shipped store's matched and stacked tracks (docs/leaderboard.md), resumably.

Each task's budget is GRU's bare parameter count, embedding left out, at the task's board
preset (its default preset); every built-in cell is sized to it (matched track), and to the
same budget as 2 layers of residual-mlp blocks (stacked track). Every command is an ordinary
`arena run`: a finished run is never trained again, so running this again only trains what is
missing.

    python benchmarks/fill_tracks.py --print               # the budgets and the commands
    python benchmarks/fill_tracks.py --track matched       # run them (then --track stacked)
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

#: Every built-in cell; MARU (several times GRU's cost per step) runs last in each track.
CELLS = ("gru", "lstm", "rnn", "aru", "mogru", "momgru", "hsru", "hsru-bptt", "mingru")
SLOW_CELLS = ("maru",)
MATCHED_TASKS = ("copy", "counting", "adding", "sparse-events", "selective-copy", "interference", "trend",
                 "parity", "cwru", "ag-news", "char-lm")
STACKED_TASKS = ("copy", "selective-copy", "counting", "interference", "cwru", "ag-news", "char-lm")
STACK = ("--layers", "2", "--block", "residual-mlp")


def budget(task: str) -> int:
    """GRU's bare non-embedding parameter count at the task's default preset."""
    from arena.budget import count
    from arena.contracts import TrainConfig
    from arena.host import get_host

    host = get_host()
    entry = host.tasks.get(task)
    preset = entry.info.presets[entry.info.default_preset]
    train = TrainConfig(**preset.train)
    instance = entry.load()(**{**entry.info.params, **preset.params})
    return count(instance, host.cells.get("gru").load(), {}, train, train.hidden)[0]


def commands(track: str, db: str, seeds: str, only_tasks: tuple[str, ...] = (),
             only_cells: tuple[str, ...] = (), workers: int = 2) -> list[list[str]]:
    """The track's `arena run` commands, optionally for some of its tasks and cells only."""
    tasks = [t for t in (MATCHED_TASKS if track == "matched" else STACKED_TASKS) if not only_tasks or t in only_tasks]
    extra = () if track == "matched" else STACK
    out = []
    for group in (CELLS, SLOW_CELLS):
        cells = [c for c in group if not only_cells or c in only_cells]
        for task in tasks if cells else ():
            out.append(["arena", "run", "-m", ",".join(cells), "-t", task, "--seeds", seeds, "--budget",
                        str(budget(task)), *extra, "--workers", str(workers), "--threads", "1", "--db", db])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--track", choices=("matched", "stacked"), action="append")
    ap.add_argument("--db", default="sqlite:///leaderboard.db")
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--print", action="store_true", help="print the budgets and commands; run nothing")
    ap.add_argument("--tasks", default="", help="only these tasks of the track (comma separated)")
    ap.add_argument("--cells", default="", help="only these cells (comma separated)")
    ap.add_argument("--workers", type=int, default=2,
                    help="workers per command (two lanes of --workers 1 keep both cores busy where a command "
                         "has few runs, as MARU's five per task)")
    args = ap.parse_args(argv)
    only_tasks = tuple(t for t in args.tasks.split(",") if t)
    only_cells = tuple(c for c in args.cells.split(",") if c)
    tracks = args.track or ["matched", "stacked"]
    if args.print:
        for task in MATCHED_TASKS:
            print(f"# {task}: budget {budget(task):,} parameters (embedding left out)")
    for track in tracks:
        status = run_all(commands(track, args.db, args.seeds, only_tasks, only_cells, args.workers), print_only=args.print)
        if status:
            return status
    return 0


def run_all(cmds: list[list[str]], print_only: bool = False) -> int:
    """Print each command and run it; stop at the first that errs (exit status 1, some runs
    failed, is a result and goes on). Returns the stopping command's status, or 0."""
    for cmd in cmds:
        print(shlex.join(cmd), flush=True)
        if not print_only:
            done = subprocess.run(cmd)
            if done.returncode not in (0, 1):
                return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
