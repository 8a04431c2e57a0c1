"""Parameter budgets: every built-in cell sized to a budget on every task (arena/budget.py)."""
from __future__ import annotations

import dataclasses
import sqlite3
from functools import lru_cache

import pytest
import torch

from arena.budget import TOLERANCE, BudgetError, count, solve
from arena.contracts import TrainConfig
from arena.host import PluginHost

HOST = PluginHost()
BUILTIN_CELLS = sorted(e.name for e in HOST.cells if HOST.plugins[e.plugin].dist == "rnn-arena")
BUILTIN_TASKS = sorted(e.name for e in HOST.tasks if HOST.plugins[e.plugin].dist == "rnn-arena")
#: Each task's budgets: half, once and twice GRU's bare count at the task's default preset.
FACTORS = (0.5, 1.0, 2.0)


@lru_cache(maxsize=None)
def task_and_train(task: str):
    entry = HOST.tasks.get(task)
    preset = entry.info.presets[entry.info.default_preset]
    return entry.load()(**{**entry.info.params, **preset.params}), TrainConfig(**preset.train)


@lru_cache(maxsize=None)
def gru_count(task: str) -> int:
    instance, train = task_and_train(task)
    return count(instance, HOST.cells.get("gru").load(), {}, train, train.hidden)[0]


def smallest(cell: str, task: str, train: TrainConfig) -> int:
    instance, _ = task_and_train(task)
    entry = HOST.cells.get(cell)
    return count(instance, entry.load(), dict(entry.info.options), dataclasses.replace(train, budget=0), 1)[0]


def test_the_lists_cover_every_builtin():
    assert len(BUILTIN_CELLS) == 10 and len(BUILTIN_TASKS) == 11


@pytest.mark.parametrize("task", BUILTIN_TASKS)
@pytest.mark.parametrize("cell", BUILTIN_CELLS)
def test_every_cell_meets_three_budgets_within_tolerance_or_is_refused_at_its_floor(cell: str, task: str):
    instance, train = task_and_train(task)
    entry = HOST.cells.get(cell)
    for factor in FACTORS:
        budget = int(gru_count(task) * factor)
        floor = smallest(cell, task, train)
        if floor > budget * (1 + TOLERANCE):
            with pytest.raises(BudgetError, match=f"smallest model .* has {floor:,}"):
                solve(instance, entry.load(), dict(entry.info.options), train, budget)
            continue
        s = solve(instance, entry.load(), dict(entry.info.options), train, budget)
        assert s.within, f"{cell} on {task} at {budget}: width {s.width} gives {s.params} ({s.deviation:+.1%})"
        assert count(instance, entry.load(), dict(entry.info.options), train, s.width)[0] == s.params


@pytest.mark.parametrize("cell", BUILTIN_CELLS)
def test_stacks_meet_the_budget_too(cell: str):
    instance, train = task_and_train("copy")
    stack = dataclasses.replace(train, layers=2, block="residual-mlp")
    entry = HOST.cells.get(cell)
    s = solve(instance, entry.load(), dict(entry.info.options), stack, gru_count("copy"))
    assert s.within and s.params == count(instance, entry.load(), dict(entry.info.options), stack, s.width)[0]


def test_solving_allocates_nothing_and_draws_no_random_numbers():
    instance, train = task_and_train("copy")
    entry = HOST.cells.get("maru")  # random initial memories and dt draws in its constructor
    before = torch.get_rng_state()
    s = solve(instance, entry.load(), dict(entry.info.options), train, 20_000)
    assert torch.equal(before, torch.get_rng_state()) and s.width > 0


def test_a_floor_is_refused_before_anything_trains(arena, db_url):
    res = arena("run", "-m", "gru,maru", "-t", "counting", "--preset", "smoke", "--budget", "500", "--db", db_url,
                ok=False)
    assert res.exit_code == 2 and "maru on counting cannot be sized to 500 parameters" in res.stderr
    assert "Use a budget of at least" in res.stderr
    assert arena.json("export", "--db", db_url) == []  # nothing stored, not even the GRU runs


def test_budget_shorthand_and_show(arena):
    shown = arena.json("show", "gru", "--task", "copy", "--budget", "20k")
    assert shown["budget"] == 20_000 and shown["within_tolerance"] and shown["params"] < shown["params_with_embedding"]
    bare = arena.json("show", "gru", "--task", "counting")
    assert (bare["width"], bare["params"]) == (64, 12_929) and "budget" not in bare
    res = arena("show", "gru", "--task", "copy", "--budget", "lots", ok=False)
    assert res.exit_code == 2


def test_training_uses_the_solved_width_and_stores_both_counts(arena, db_url):
    arena("run", "-m", "gru,mingru", "-t", "copy", "--preset", "smoke", "--seeds", "0", "--set", "epochs=1",
          "--set", "task.n_train=64", "--budget", "20k", "--db", db_url)
    instance = HOST.tasks.get("copy").load()(**{**HOST.tasks.get("copy").info.params,
                                                 **HOST.tasks.get("copy").info.presets["smoke"].params})
    runs = {r["cell"]: r for r in arena.json("export", "--db", db_url)}
    for cell, r in runs.items():
        entry = HOST.cells.get(cell)
        s = solve(instance, entry.load(), dict(entry.info.options), TrainConfig(**r["train"]), 20_000)
        assert (r["width"], r["body_params"], r["n_params"]) == (s.width, s.params, s.params_with_embedding)
        assert "hidden" not in r["train"] and r["train"]["budget"] == 20_000
        assert abs(r["body_params"] - 20_000) <= TOLERANCE * 20_000


def test_defaults_of_the_new_settings_keep_every_stored_key(arena, tmp_path):
    """The shipped store's runs were planned before budgets, layers and blocks existed: planning
    them again finds every one of them stored."""
    import shutil
    from pathlib import Path

    db = tmp_path / "board.db"
    shutil.copy(Path(__file__).resolve().parent.parent / "leaderboard.db", db)
    res = arena("run", "-m", "gru,lstm,rnn,aru,mogru,momgru,hsru,hsru-bptt,mingru,maru", "-t", "copy,counting,parity",
                "--seeds", "0-4", "--dry-run", "--db", f"sqlite:///{db}")
    assert "150 runs planned: 150 already stored" in res.stderr
    with sqlite3.connect(db) as con:
        keys = {k for (k,) in con.execute("select key from runs where train not like '%budget%'")}
    assert len(keys) >= 625


def test_all_ten_cells_train_at_20k_bare_and_stacked(arena, db_url):
    """The issue's acceptance commands, at one seed and one short epoch."""
    cells = ",".join(BUILTIN_CELLS)
    short = ("--seeds", "0", "--set", "epochs=1", "--set", "task.n_train=64", "--db", db_url)
    arena("run", "--model", cells, "--task", "copy", "--preset", "smoke", "--budget", "20000", *short)
    arena("run", "--model", cells, "--task", "copy", "--preset", "smoke", "--budget", "20000", "--layers", "2",
          "--block", "residual-mlp", *short)
    runs = arena.json("export", "--db", db_url)
    assert len(runs) == 20 and {r["status"] for r in runs} == {"done"}
    for r in runs:
        assert abs(r["body_params"] - 20_000) <= TOLERANCE * 20_000, (r["cell"], r["train"], r["body_params"])
    assert sorted(r["train"].get("layers", 1) for r in runs) == [1] * 10 + [2] * 10
