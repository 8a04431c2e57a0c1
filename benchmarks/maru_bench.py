"""MARU before and after issue 22, timed in the same rounds as nn.GRU, at a chosen thread count.

    python benchmarks/maru_bench.py --threads 1 --seq-len 256,1024 --mode fwd-bwd,step \\
        --out benchmarks/results/maru_bench_threads1.json

`arena bench` always uses as many threads as the machine has cores; this runs the same
measurement (arena.bench.throughput.run: interleaved rounds, median of per-round ratios to the
baseline) with ``--threads`` and with three competitors: nn.GRU (the baseline), ``maru_v1`` (the
frozen pre-rewrite cell, tests/maru_reference_v1.py) and ``maru`` (plugins/maru/), all built
from the same seed. Nothing is written to a store; the rows go to ``--out`` (JSON) and a markdown
table to stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class _Entry:
    def __init__(self, cls: Any) -> None:
        self.cls = cls

    def load(self) -> Any:
        return self.cls


class _Host:
    """The one piece of a PluginHost that arena.bench.throughput.run uses: ``cells.get(name)``."""

    def __init__(self, cells: dict[str, Any]) -> None:
        self.cells = self
        self._cells = cells

    def get(self, name: str) -> _Entry:
        return _Entry(self._cells[name])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seq-len", default="256,1024")
    ap.add_argument("--mode", default="fwd-bwd,step")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="maru_v1,maru")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    from arena.plugins.baselines import GRU
    from arena.plugins.maru import MARU

    from arena.bench.throughput import BenchConfig, run
    from tests.maru_reference_v1 import MARU as MARUv1

    host = _Host({"gru": GRU, "maru_v1": MARUv1, "maru": MARU})
    cfg = BenchConfig(models=a.models.split(","), seq_lens=[int(t) for t in a.seq_len.split(",")], hiddens=[128],
                      modes=tuple(a.mode.split(",")), threads=a.threads, rounds=a.rounds)
    rows = run(host, cfg, progress=lambda line: print(line, file=sys.stderr, flush=True))
    for r in rows:
        r["command"] = "python benchmarks/maru_bench.py " + " ".join(sys.argv[1:])
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1) + "\n")
    print("| model | impl | mode | T | median ms | ratio to nn.GRU (p20–p80) | threads |")
    print("|---|---|---|---:|---:|---|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['impl']} | {r['mode']} | {r['seq_len']} | {r['median_s'] * 1e3:.1f} | "
              f"{r['ratio_to_baseline']:.2f} ({r['ratio_p20']:.2f}–{r['ratio_p80']:.2f}) | {r['threads']} |")


if __name__ == "__main__":
    main()
