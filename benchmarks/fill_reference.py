"""Fill the shipped store with the references' claims at the references' own presets, resumably.

Three stages, so that the cost is measured before the bulk is spent and the headline pairs
come first: (1) seed 0 of every headline pair — each run's duration is stored with it, so
`arena export` then gives the cost per run; (2) seeds 1–4 of the headline pairs; (3) the other
cells and settings each claim names, as the cost allows. Every command is an ordinary
`arena run`: running this again trains only what is missing.

Settings that share cells, preset and options go into one command, so that its two workers
always have a run to take (a pair alone leaves a core idle while the slower cell finishes),
and within a stage the settings run cheapest first by the seed-0 durations already stored, so
that as many claims as possible reach their five seeds when a fill is cut short.

    python benchmarks/fill_reference.py --print            # the commands, stage by stage
    python benchmarks/fill_reference.py --stage 1          # run one stage (then 2, then 3)
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ARU_INIT = ("--set", "cell.init=aru")  # the ARU repository's own GRU/LSTM/RNN (aru/baselines.py)

#: (cells, task, preset, extra arguments) of each claim's headline pair.
HEADLINE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("aru,gru", "counting", "aru", ARU_INIT),
    ("aru,gru", "copy", "aru", ARU_INIT),
    ("aru,gru", "adding", "aru", ARU_INIT),
    ("aru,gru", "sparse-events", "aru", (*ARU_INIT, "--set", "cell.gate_preset=sparse-events")),
    ("mogru,gru", "copy", "mogru", ()),
    ("mogru,gru", "adding", "mogru", ()),
    ("mogru,gru", "trend", "mogru", ()),
    ("mogru,gru", "selective-copy", "mogru", ()),
    ("mogru,gru", "interference[n_distractors=100,200]", "mogru", ()),
    ("mogru,gru", "cwru", "mogru", ()),
    ("mogru,gru", "cwru", "mogru-reference", ()),
    # AG News read at each text's last token (the correct readout; the reference pads and reads
    # the padding's end): all four of the claim's cells, ~20 s a run.
    ("gru,aru,lstm,rnn", "ag-news", "small-last-valid", ()),
)
#: The rest of each claim's cells and settings.
EXTRA: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("lstm,rnn", "counting", "aru", ARU_INIT),
    ("lstm,rnn", "copy", "aru", ARU_INIT),
    ("lstm,rnn", "adding", "aru", ARU_INIT),
    ("lstm,rnn", "sparse-events", "aru", ARU_INIT),
    ("lstm,momgru", "copy", "mogru", ()),
    ("lstm,momgru", "adding", "mogru", ()),
    ("lstm,momgru", "trend", "mogru", ()),
    ("lstm,momgru", "selective-copy", "mogru", ()),
    ("mogru", "selective-copy", "mogru", ("--set", "cell.beta_mode=fixed")),  # the fixed-β ablation
    ("mogru,gru", "interference[n_distractors=10,20,50]", "mogru", ()),
    ("mogru,gru", "cwru[noise=0.5,1,2]", "mogru", ()),
)


def measured_cost(db: str, cells: str, task: str, preset: str) -> float:
    """Seconds the stored runs of these cells on this task and preset took, on average per run
    (infinity when none is stored: unmeasured settings go last)."""
    from sqlalchemy import bindparam, create_engine, text

    if not db.startswith("sqlite:///") or not Path(db.removeprefix("sqlite:///")).exists():
        return math.inf
    name = task.split("[", 1)[0]
    with create_engine(db).connect() as conn:
        rows = conn.execute(text("select duration_s from runs where task = :t and preset = :p and "
                                 "duration_s is not null and cell in :cells").bindparams(
            bindparam("cells", expanding=True)), {"t": name, "p": preset, "cells": cells.split(",")}).all()
    return sum(r[0] for r in rows) / len(rows) if rows else math.inf


def commands(stage: int, db: str, cheapest_first: bool = True) -> list[list[str]]:
    grid = HEADLINE if stage in (1, 2) else EXTRA
    seeds = {1: "0", 2: "0-4", 3: "0-4"}[stage]
    if cheapest_first:
        grid = tuple(sorted(grid, key=lambda g: measured_cost(db, *g[:3])))
    groups: list[tuple[tuple[str, str, tuple[str, ...]], list[str]]] = []
    for cells, task, preset, extra in grid:  # neighbours in that order share a command
        if groups and groups[-1][0] == (cells, preset, extra):
            groups[-1][1].append(task)
        else:
            groups.append(((cells, preset, extra), [task]))
    return [["arena", "run", "-m", cells, "-t", ",".join(tasks), "--preset", preset, "--seeds", seeds, *extra,
             "--workers", "2", "--threads", "1", "--db", db] for (cells, preset, extra), tasks in groups]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", type=int, choices=(1, 2, 3), action="append")
    ap.add_argument("--db", default="sqlite:///leaderboard.db")
    ap.add_argument("--print", action="store_true", help="print the commands; run nothing")
    ap.add_argument("--in-order", action="store_true", help="the claims' order, not cheapest first")
    args = ap.parse_args(argv)
    from fill_tracks import run_all  # the sibling script's loop (this folder is on sys.path)

    for stage in args.stage or [1, 2, 3]:
        print(f"# stage {stage}", flush=True)
        status = run_all(commands(stage, args.db, not args.in_order), print_only=args.print)
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
