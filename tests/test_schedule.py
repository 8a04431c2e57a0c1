"""Learning-rate schedules (arena/schedule.py) and their training settings."""
import math

import pytest

from arena.schedule import factor


def hand(step, warmup, floor, total, cosine):
    if step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    t = (step - warmup) / (total - warmup)
    return floor + (1 - floor) * (1 + math.cos(math.pi * t)) / 2


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
@pytest.mark.parametrize("warmup,floor", [(0, 0.0), (10, 0.1), (3, 0.5)])
def test_factor_is_the_formula(schedule, warmup, floor):
    total = 100
    for step in range(total):
        got = factor(step, schedule=schedule, warmup_steps=warmup, min_lr_factor=floor, total_steps=total)
        assert got == pytest.approx(hand(step, warmup, floor, total, schedule == "cosine"))
    if schedule == "cosine":
        assert factor(total, schedule="cosine", warmup_steps=warmup, min_lr_factor=floor,
                      total_steps=total) == pytest.approx(floor)


def test_training_follows_the_schedule(arena, db_url):
    """counting smoke: 512 samples, batch 64 → 8 steps an epoch; the stored lr of each epoch's
    end is lr × factor(steps taken)."""
    arena("run", "-m", "gru", "-t", "counting", "--preset", "smoke", "--seeds", "0", "--set", "epochs=3",
          "--set", "patience=3", "--set", "schedule=cosine", "--set", "warmup_steps=4", "--set", "min_lr_factor=0.1",
          "--db", db_url)
    (run,) = arena.json("export", "--db", db_url)
    shown = arena.json("show", run["key"], "--db", db_url)
    steps = 512 // 64
    for row in shown["curves"]:
        expected = 3e-3 * factor(row["epoch"] * steps, schedule="cosine", warmup_steps=4, min_lr_factor=0.1,
                                 total_steps=3 * steps)
        assert row["lr"] == pytest.approx(expected)
    assert run["train"]["schedule"] == "cosine"


def test_schedule_settings_are_checked_and_left_out_at_their_defaults(arena, db_url):
    res = arena("run", "-m", "gru", "-t", "counting", "--preset", "smoke", "--set", "schedule=cosine",
                "--set", "plateau_patience=2", "--db", db_url, ok=False)
    assert res.exit_code == 2 and "schedule and plateau_patience both set the learning rate" in res.stderr
    res = arena("run", "-m", "gru", "-t", "counting", "--preset", "smoke", "--set", "schedule=linear", "--db", db_url,
                ok=False)
    assert res.exit_code == 2 and "unknown schedule 'linear'" in res.stderr
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs

    host = get_host()
    (spec,) = plan_runs(host.cells, host.tasks, ["gru"], ["counting"], [0], "smoke", parse_overrides([]))
    assert not {"schedule", "warmup_steps", "min_lr_factor"} & set(spec.train)
