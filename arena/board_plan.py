"""`arena run --model mycell --board`: plan the shipped board's own settings for new cells only.

A board track (arena.tracks) is the set of settings its runs were made at: task, preset, task
parameters, training settings (budgets and stacks included) and seeds. For each such setting
whose task is installed at the same distribution and version, the given cells are planned with
exactly those parameters, training settings and seeds, and their own registered options (plus
any ``--set cell.NAME=value``). A run's data seed depends only on the task setting and the seed
(RunSpec.data_seed), so the new runs pair seed by seed with the board's.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from arena.errors import ArenaError
from arena.keys import canonical_json


@dataclass
class BoardPlan:
    track: str
    specs: list[Any] = field(default_factory=list)
    #: Board settings left out, with why (task not installed, another version, ...).
    skipped: list[str] = field(default_factory=list)


def board_settings(runs: list[dict[str, Any]], track: str) -> dict[str, dict[str, Any]]:
    """The board's settings on ``track``: identity → task, preset, params, train and seeds."""
    from arena.stats import RESULT_STATUSES
    from arena.tracks import track_of

    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r["status"] not in RESULT_STATUSES or track_of(r["train"]) != track:
            continue
        ident = canonical_json([r["task_name"], r["task_dist"], r["task_version"], r["preset"], r["params"],
                                r["train"]])
        entry = out.setdefault(ident, {"task": r["task_name"], "task_dist": r["task_dist"],
                                       "task_version": r["task_version"], "preset": r["preset"],
                                       "params": r["params"], "train": r["train"], "seeds": set()})
        entry["seeds"].add(int(r["seed"]))
    return out


def plan_board(host: Any, cells: list[str], *, track: str | None, tasks: list[str] | None = None,
               seeds: list[int] | None = None, overrides: Any = None) -> BoardPlan:
    """The runs of ``cells`` on every setting of the board's ``track`` (default: its first track,
    the matched track when it has one), optionally only on ``tasks`` and ``seeds``."""
    from arena.plan import Overrides, plan_runs
    from arena.store import Store
    from arena.store.board import board_path
    from arena.store.opening import connect
    from arena.tracks import pick, track_of

    board = board_path()
    if board is None:
        raise ArenaError("there is no shipped board to plan from (ARENA_BOARD=none, or arena was installed "
                         "without one)")
    store = Store(*connect(f"sqlite:///{board}", write=False))
    try:
        runs = store.runs()
    finally:
        store.engine.dispose()
    chosen = pick({track_of(r["train"]) for r in runs}, track)
    if chosen is None:
        raise ArenaError(f"the shipped board {board} holds no runs")
    extra = overrides or Overrides()
    if extra.task or extra.train or extra.unscoped:
        raise ArenaError("--board plans the board's own task parameters and training settings: only --set "
                         "cell.NAME=value may change anything (the cells' options)")
    plan = BoardPlan(track=chosen)
    for s in board_settings(runs, chosen).values():
        label = f"{s['task']}[{s['preset']}]"
        if tasks and s["task"] not in tasks:
            continue
        if s["task"] not in host.tasks:
            plan.skipped.append(f"{label}: task not installed")
            continue
        entry = host.tasks.get(s["task"])
        if (entry.dist, entry.info.version) != (s["task_dist"], s["task_version"]):
            plan.skipped.append(f"{label}: the board ran {s['task_dist']} version {s['task_version']}, installed is "
                                f"{entry.dist} version {entry.info.version}")
            continue
        if s["preset"] not in entry.info.presets:
            plan.skipped.append(f"{label}: preset not installed")
            continue
        want = sorted(s["seeds"] if seeds is None else set(seeds) & s["seeds"])
        if not want:
            continue
        # The cells' options as an ordinary plan makes them; the task setting as the board ran it.
        base = plan_runs(host.cells, host.tasks, cells, [s["task"]], want, s["preset"],
                         Overrides(cell=dict(extra.cell)))
        plan.specs += [dataclasses.replace(b, params=s["params"], train=s["train"]) for b in base]
    if tasks:
        unknown = set(tasks) - {s.task for s in plan.specs} - {k.split("[")[0] for k in plan.skipped}
        if unknown:
            raise ArenaError(f"the board's {chosen} track has no setting of {', '.join(sorted(unknown))}")
    return plan
