"""Generation speed through step(): every built-in cell as a char-lm model at the matched budget.

Each cell is sized to char-lm's matched budget (GRU's bare parameter count at `standard`,
embedding left out: benchmarks/fill_tracks.py) and sampled with arena.generation.sample (one
character per step() call, batch 1, temperature 1, seed 0) from random weights — speed does
not depend on what the weights learned. Timing follows cpu-performance.md §9: every cell and
GRU once per round, rotating order, the figure is the median over rounds of t(cell) / t(GRU)
in the same round (arena.bench.timing). "O(1)": the time per token is also measured after a
long prompt (the state then summarises `--long` characters) and compared with the time after a
short one; a cell whose step cost grew with the context would show a ratio above 1.

    python benchmarks/generation_speed.py [--tokens 400] [--rounds 7] [--threads 1]

Writes benchmarks/results/generation_speed.json and .md (or --out PREFIX).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from arena.bench.timing import time_interleaved
from arena.envinfo import environment
from arena.generation import sample
from arena.host import get_host

CELLS = ("gru", "lstm", "rnn", "aru", "mogru", "momgru", "hsru", "hsru-bptt", "mingru", "maru")


def build(host, cell: str, budget: int):
    from arena.budget import solve
    from arena.contracts import TrainConfig
    from arena.model import build_model

    entry = host.tasks.get("char-lm")
    preset = entry.info.presets["standard"]
    task = entry.load()(**{**entry.info.params, **preset.params})
    train = TrainConfig(**{**preset.train, "budget": budget})
    factory, options = host.cells.get(cell).load(), dict(host.cells.get(cell).info.options)
    width = solve(task, factory, options, train, name=cell).width
    torch.manual_seed(0)
    return build_model(task, factory, options, train, width=width).eval(), width


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--tokens", type=int, default=400, help="characters generated per call")
    ap.add_argument("--long", type=int, default=4000, help="prompt length of the long-context calls")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "generation_speed"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    from fill_tracks import budget as track_budget

    host = get_host()
    budget = track_budget("char-lm")
    cells = [c for c in args.cells.split(",") if c]
    if "gru" not in cells:
        cells.insert(0, "gru")
    models = {c: build(host, c, budget) for c in cells}
    gen = torch.Generator().manual_seed(1)
    short = torch.randint(0, 65, (16,), generator=gen).tolist()
    long = torch.randint(0, 65, (args.long,), generator=gen).tolist()

    # The prompt is read in one forward call, outside the sampling loop's clock: time only the loop.
    loop_s: dict[str, list[float]] = {}

    def timed(cell: str, prompt: list[int], key: str):
        loop_s[key] = []
        return lambda: loop_s[key].append(sample(models[cell][0], prompt, args.tokens, seed=0)[1])

    fns = {f"{c}|{n}": timed(c, p, f"{c}|{n}") for c in cells for n, p in (("short", short), ("long", long))}
    time_interleaved(fns, "gru|short", warmup=1, rounds=args.rounds)
    rows = []
    for c in cells:
        s = sorted(loop_s[f"{c}|short"][1:])  # the first call is the warm-up
        lg = sorted(loop_s[f"{c}|long"][1:])
        ratios = sorted(a / b for a, b in zip(loop_s[f"{c}|short"][1:], loop_s["gru|short"][1:]))
        med = lambda v: v[len(v) // 2]  # noqa: E731
        model, width = models[c]
        rows.append({"cell": c, "width": width, "body_params": sum(p.numel() for p in model.parameters())
                     - sum(p.numel() for p in model.encoder.parameters()),
                     "tokens_per_s": args.tokens / med(s), "us_per_token": 1e6 * med(s) / args.tokens,
                     "ratio_to_gru": med(ratios), "long_over_short": med(lg) / med(s)})
    result = {"budget": budget, "tokens": args.tokens, "long_prompt": args.long, "rounds": args.rounds,
              "threads": args.threads, "environment": environment("cpu", host.versions()), "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"Generation through step() on char-lm at the matched budget ({budget:,} parameters), batch 1, "
             f"{args.tokens} characters per call, {args.rounds} rounds, {args.threads} thread(s).", "",
             "| cell | width | tokens/s | µs/token | × GRU | after a {:,}-char prompt / after 16 |".format(args.long),
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['cell']} | {r['width']} | {r['tokens_per_s']:,.0f} | {r['us_per_token']:.0f} | "
              f"{r['ratio_to_gru']:.2f} | {r['long_over_short']:.2f} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
