"""Wall time of one CPU grid run with 1 worker and with 2 workers (fresh stores, same grid).

    python benchmarks/workers.py [--grid-seeds 0-3]   # writes benchmarks/results/workers.json

Each configuration runs `arena run` as a user would (a subprocess), so process start-up, data
generation and store writes are all included. With 1 worker the run uses every core; with 2
workers each gets cores/2 threads.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "workers.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-3")
    ap.add_argument("--models", default="gru,lstm")
    ap.add_argument("--task", default="adding")
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--epochs", default="10")
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).parent / "arena")
    result = {"grid": vars(args), "cores": os.cpu_count(), "wall_s": {}}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [exe, "run", "-m", args.models, "-t", args.task, "--preset", args.preset, "--seeds", args.seeds,
                   "--set", f"epochs={args.epochs}", "--set", f"patience={args.epochs}", "--workers", str(workers),
                   "--db", f"sqlite:///{tmp}/w.db"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            result["wall_s"][str(workers)] = time.perf_counter() - t0
    result["speedup_2_over_1"] = result["wall_s"]["1"] / result["wall_s"]["2"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
