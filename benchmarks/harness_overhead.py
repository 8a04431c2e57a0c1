"""How much does arena's harness cost? The same GRU, data and steps, through arena and bare.

1. Training throughput: the `copy` task's training data, a GRU (hidden 128), the same number of
   optimiser steps, trained (a) by `arena.training.train_run` (one epoch per round) and (b) by a
   hand-written PyTorch loop (embedding, nn.GRU, linear head, Adam, clip) that then scores the
   validation and test inputs once, the work arena does in one epoch. Interleaved rounds, median of paired ratios. Goal: arena
   ≥ 0.95× the bare loop's steps per second.
2. Rerunning a finished grid: a store holding 100 finished runs, `arena run` of the same grid in
   a subprocess (what a user types) must skip all of them in under 5 s.

    python benchmarks/harness_overhead.py      # writes benchmarks/results/harness_overhead.json
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.training import train_run

OUT = Path(__file__).parent / "results" / "harness_overhead.json"


def bare_loop(x: torch.Tensor, y: torch.Tensor, vocab: int, classes: int, hidden: int, batch: int,
              order: torch.Tensor, length: int, evals: list[torch.Tensor]) -> None:
    """Train one epoch by hand, then score the validation and test inputs, as arena does."""
    torch.manual_seed(0)
    emb, rnn, head = nn.Embedding(vocab, hidden, padding_idx=0), nn.GRU(hidden, hidden, batch_first=True), \
        nn.Linear(hidden, classes)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        out = head(rnn(emb(x[idx]))[0])
        loss = nn.functional.cross_entropy(out[:, -length:].reshape(-1, classes), y[idx][:, -length:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    with torch.no_grad():
        for xe in evals:
            for i in range(0, len(xe), batch):
                head(rnn(emb(xe[i:i + batch]))[0]).argmax(-1)


def training_ratio(rounds: int = 5) -> dict[str, float]:
    host = get_host()
    (spec,) = plan_runs(host.cells, host.tasks, ["gru"], ["copy"], [0], "standard",
                        parse_overrides(["epochs=1", "patience=1", "hidden=128"]))
    task_cls, cell_cls = host.tasks.get("copy").load(), host.cells.get("gru").load()
    task = task_cls(**spec.params)
    cpu = torch.device("cpu")
    data = task.data("train", seed=spec.data_seed, epoch=0, device=cpu)
    evals = [task.data(s, seed=spec.data_seed, epoch=0, device=cpu)["x"] for s in ("val", "test")]
    n, batch = data["x"].shape[0], spec.train["batch_size"]
    order = torch.randperm(n)
    steps = -(-n // batch)
    arena_s, bare_s = [], []
    for r in range(rounds + 1):  # round 0 warms both up
        pair = []
        for which in (("arena", "bare") if r % 2 else ("bare", "arena")):
            t0 = time.perf_counter()
            if which == "arena":
                train_run(spec, task_cls, cell_cls, torch.device("cpu"))
            else:
                bare_loop(data["x"], data["y"], task.input_size, task.output_size, 128, batch, order,
                          spec.params["length"], evals)
            pair.append((which, time.perf_counter() - t0))
        if r:
            d = dict(pair)
            arena_s.append(d["arena"])
            bare_s.append(d["bare"])
    ratios = [b / a for a, b in zip(arena_s, bare_s)]
    return {"steps_per_run": steps, "arena_median_s": statistics.median(arena_s),
            "bare_median_s": statistics.median(bare_s), "throughput_ratio_arena_over_bare": statistics.median(ratios),
            "note": "both train one epoch and score validation and test once; arena also generates the data "
                    "(the bare loop reuses arena's tensors) and computes the task's metrics"}


def rerun_seconds(n_runs: int = 100) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/grid.db"
        exe = str(Path(sys.executable).parent / "arena")
        grid = ["run", "-m", "gru,lstm", "-t", "adding", "--preset", "smoke", "--seeds", f"0-{n_runs // 2 - 1}",
                "--set", "epochs=1", "--set", "task.n_train=32", "--set", "task.n_val=16", "--set", "task.n_test=16",
                "--db", db]
        subprocess.run([exe, *grid], check=True, capture_output=True)
        t0 = time.perf_counter()
        res = subprocess.run([exe, *grid], check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        assert f"{n_runs} already stored" in res.stderr, res.stderr
    return {"finished_runs": n_runs, "rerun_s": elapsed}


def main() -> int:
    torch.set_num_threads(os.cpu_count() or 1)
    result = {"training": training_ratio(), "rerun": rerun_seconds(), "torch": torch.__version__,
              "threads": torch.get_num_threads()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
