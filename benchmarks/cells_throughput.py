"""Forward+backward time of every installed cell against torch.nn.GRU, in one process.

Protocol (../shared/specs/cpu-performance.md §9): batch 32, input 64, hidden 128, float32,
input without grad, loss = sum of the output sequence; threads = cores; 5 warm-up calls (the
first reported separately); rounds interleaved with rotating order; the figure is the median
over rounds of t(cell) / t(nn.GRU) from the same round, with its 20th–80th percentile spread.

    python benchmarks/cells_throughput.py [--seq-len 64,256,1024] [--cells aru,gru,...]

Writes benchmarks/results/cells_throughput.json and .md (or --out PREFIX).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

from arena.bench.timing import time_interleaved
from arena.envinfo import environment
from arena.host import get_host

ROUNDS = {64: 15, 256: 9, 1024: 5, 4096: 3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-len", default="64,256,1024")
    ap.add_argument("--cells", default="", help="comma list (default: every installed cell)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cells_throughput"))
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    host = get_host()
    names = [c for c in args.cells.split(",") if c] or host.cells.names()
    if "gru" not in names:
        names.insert(0, "gru")
    rows = []
    for T in [int(t) for t in args.seq_len.split(",")]:
        x = torch.randn(args.batch, T, args.input)
        cells = {}
        for name in names:
            torch.manual_seed(0)
            cells[name] = host.cells.get(name).load()(args.input, args.hidden)

        def make(cell):
            def fwd_bwd() -> None:
                y, _ = cell(x)
                y.sum().backward()
            return fwd_bwd

        def drop_grads(name: str) -> None:
            for p in cells[name].parameters():
                p.grad = None

        timings = time_interleaved({n: make(c) for n, c in cells.items()}, "gru", warmup=5,
                                   rounds=ROUNDS.get(T, 5), prepare=drop_grads)
        for name, t in timings.items():
            rows.append({
                "cell": name, "seq_len": T, "batch": args.batch, "input": args.input, "hidden": args.hidden,
                "impl": str(cells[name].impl), "ratio_to_gru": t.ratio, "ratio_p20": t.ratio_p20,
                "ratio_p80": t.ratio_p80, "median_s": t.median_s, "first_call_s": t.first_call_s,
                "tokens_per_s": args.batch * T / t.median_s, "rounds": len(t.samples_s),
            })
            print(f"T={T:5d} {name:10s} {t.ratio:6.2f}x GRU  ({t.median_s * 1e3:8.1f} ms, {cells[name].impl})",
                  file=sys.stderr)
    env = environment("cpu", host.versions())
    env["threads"] = args.threads
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"environment": env, "rows": rows}, indent=2))
    lens = sorted({r["seq_len"] for r in rows})
    lines = [f"Forward+backward time relative to torch.nn.GRU in the same run (lower is faster); "
             f"B={args.batch}, input {args.input}, hidden {args.hidden}, {args.threads} threads, "
             f"torch {torch.__version__}, {env['cpu']} ({platform.machine()}).", "",
             "| cell | impl | " + " | ".join(f"T={t}" for t in lens) + " |",
             "|---|---|" + "---:|" * len(lens)]
    for name in names:
        by_t = {r["seq_len"]: r for r in rows if r["cell"] == name}
        impl = next(iter(by_t.values()))["impl"]
        cells_txt = [f"{by_t[t]['ratio_to_gru']:.2f} ({by_t[t]['ratio_p20']:.2f}–{by_t[t]['ratio_p80']:.2f})"
                     if t in by_t else "—" for t in lens]
        lines.append(f"| {name} | {impl} | " + " | ".join(cells_txt) + " |")
    gru_ms = {r["seq_len"]: r["median_s"] * 1e3 for r in rows if r["cell"] == "gru"}
    lines += ["", "nn.GRU median ms per fwd+bwd: " + ", ".join(f"T={t}: {gru_ms[t]:.1f}" for t in lens),
              "Cells show median ratio (20th–80th percentile over rounds)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
