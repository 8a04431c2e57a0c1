"""A large, realistic store built without training anything (for benchmarks/app_load.py and tests).

Rows go straight into the real schema through SQLAlchemy: runs with the installed cells' and
tasks' names, presets and parameters, per-seed test and validation metrics, some failed and
diverged runs, a few curves, and one environment. Values are drawn from a per-(cell, setting)
distribution so the leaderboard has real ties and real leaders. Every run is on the ``bare``
track (one hidden size per preset) and records its sizes (``n_params``, ``body_params``,
``width``, ``state_size``).
"""
from __future__ import annotations

import json
import random
from typing import Any

from arena.keys import blake2, canonical_json
from arena.store import open_store, schema

#: (task, main metric, higher is better, chance, swept parameter and its values)
TASKS: list[tuple[str, str, bool, float, str, list[Any]]] = [
    ("copy", "token_acc", True, 0.125, "delay", [10, 20, 50, 100, 200]),
    ("adding", "mse", False, 0.167, "length", [25, 50, 100, 200, 400]),
    ("counting", "mse", False, 1.0, "length", [20, 50, 100, 200, 500]),
    ("sparse-events", "mae", False, 2.0, "length", [100, 200, 500, 1000, 2000]),
    ("selective-copy", "token_acc", True, 0.125, "length", [20, 50, 100, 200, 400]),
    ("interference", "token_acc", True, 0.1, "distractors", [0, 2, 4, 8, 16]),
    ("trend", "mse", False, 1.0, "noise", [0.0, 0.1, 0.2, 0.5, 1.0]),
    ("parity", "acc", True, 0.5, "length", [10, 20, 50, 100, 200]),
    ("cwru", "acc", True, 0.25, "noise_snr_db", [None, 20, 10, 5, 0]),
    ("ag-news", "acc", True, 0.25, "max_len", [32, 64, 128, 256, 512]),
]
CELLS = ["rnn", "gru", "lstm", "mingru", "hsru", "hsru-bptt", "aru", "mogru", "momgru"]
PRESETS = ["smoke", "standard"]


def build_store(url: str, n_runs: int = 100_000, *, seed: int = 0, n_cells: int | None = None,
                curves_every: int = 500, tasks: list[str] | None = None) -> dict[str, Any]:
    """Fill the (new or empty) store at ``url`` with about ``n_runs`` finished runs.

    The grid is cells × tasks × presets × 5 sweep values × seeds; cells beyond the built-in
    nine are variants (``gru-v3``...) as plugins would add. Returns what was built.
    """
    rng = random.Random(seed)
    chosen = [t for t in TASKS if tasks is None or t[0] in tasks]
    settings = len(chosen) * len(PRESETS) * 5
    n_cells = n_cells or max(2, min(25, n_runs // (settings * 10)))
    cells = (CELLS + [f"{CELLS[i % len(CELLS)]}-v{i // len(CELLS) + 1}" for i in range(len(CELLS), n_cells)])[:n_cells]
    n_seeds = max(1, n_runs // (settings * len(cells)))
    store = open_store(url, write=True)
    env = {"arena": "0.1.0", "python": "3.11", "torch": "2.13.0", "device": "cpu", "cpu": "synthetic",
           "gpu": None, "threads": 2, "git_sha": "0" * 40, "plugins": {"rnn-arena": "0.1.0"}}
    env_id = store.save_environment(env)
    skill = {c: rng.uniform(0.3, 0.95) for c in cells}
    now = "2025-01-01T00:00:00+00:00"
    runs_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    n = 0

    def flush() -> None:
        with store.engine.begin() as conn:
            if runs_rows:
                conn.execute(schema.runs.insert(), runs_rows)
            if metric_rows:
                conn.execute(schema.metrics.insert(), metric_rows)
            if curve_rows:
                conn.execute(schema.curves.insert(), curve_rows)
        runs_rows.clear(), metric_rows.clear(), curve_rows.clear()

    for task, metric, higher, chance, param, values in chosen:
        directions = canonical_json({metric: higher, "loss": False})
        chance_json = canonical_json({metric: chance})
        for preset in PRESETS:
            train = {"epochs": 2 if preset == "smoke" else 50, "hidden": 16 if preset == "smoke" else 128,
                     "lr": 0.003, "batch_size": 32}
            for v_i, value in enumerate(values):
                params = {param: value, "seed_data": "per-run"}
                difficulty = 0.15 * v_i + (0.3 if preset == "smoke" else 0.0)
                for cell in cells:
                    quality = max(0.0, min(1.0, skill[cell] - difficulty + rng.gauss(0, 0.05)))
                    spread = rng.uniform(0.01, 0.08)
                    for s in range(n_seeds):
                        ident = {"cell": cell, "task": task, "preset": preset, "params": params, "train": train,
                                 "seed": s, "cell_options": {}}
                        key = "b2:" + blake2(ident, size=16)
                        u = rng.random()
                        status = "failed" if u < 0.01 else ("diverged" if u < 0.02 else "done")
                        q = max(0.0, min(1.0, quality + rng.gauss(0, spread)))
                        score = chance + (1 - chance) * q if higher else chance * (1 - q)
                        runs_rows.append({
                            "key": key, "cell": cell, "task": task, "preset": preset, "seed": s, "status": status,
                            "cell_version": "1", "task_version": "1", "cell_options": "{}",
                            "params": canonical_json(params), "train": canonical_json(train),
                            "spec": canonical_json(ident), "main_metric": metric, "directions": directions,
                            "chance": chance_json, "data_seed": str(s), "init_seed": str(s), "device": "cpu",
                            "env_id": env_id, "owner": None, "created_at": now, "started_at": now,
                            "finished_at": now, "duration_s": rng.uniform(1, 100), "epochs": train["epochs"],
                            "best_epoch": train["epochs"], "n_params": 1000 * (CELLS.index(cell.split("-v")[0]) + 1),
                            "body_params": 1000 * (CELLS.index(cell.split("-v")[0]) + 1) - 100,
                            "width": train["hidden"], "cell_params": 900, "state_size": 16, "impl": "synthetic",
                            "error": "Traceback (most recent call last):\nRuntimeError: synthetic failure"
                                     if status == "failed" else None,
                        })
                        if status != "failed":
                            metric_rows.append({"run_key": key, "split": "test", "name": metric, "value": score})
                            metric_rows.append({"run_key": key, "split": "test", "name": "loss", "value": 1 - q})
                            metric_rows.append({"run_key": key, "split": "val", "name": metric, "value": score})
                        if curves_every and n % curves_every == 0:
                            for epoch in range(1, 6):
                                curve_rows.append({"run_key": key, "epoch": epoch, "name": f"val_{metric}",
                                                   "value": score * epoch / 5})
                        n += 1
                        if len(runs_rows) >= 5000:
                            flush()
    flush()
    store.close()
    return {"runs": n, "cells": len(cells), "settings": settings, "seeds": n_seeds,
            "tasks": len(chosen), "presets": len(PRESETS)}


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    print(json.dumps(build_store(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)))
