"""What the shipped store holds of the matched and stacked tracks and of the references'
presets (benchmarks/fill_reference.py), and what it cost.

For each track with a budget (docs/tracks.md) and each task: the cells with all five board
seeds finished (done or diverged), the cells still missing some, the finished runs, and the
worker time they took (sum of the stored `duration_s`, one thread each, two workers at a time on
a 2-core machine — so wall time is about half). The section between the markers in
docs/leaderboard.md is this script's output, so the progress it states is the store's.

    python benchmarks/track_progress.py            # rewrites the section in docs/leaderboard.md
    python benchmarks/track_progress.py --check    # exit 1 if the section is out of date
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from fill_reference import EXTRA, HEADLINE
from fill_tracks import CELLS, MATCHED_TASKS, SLOW_CELLS, STACKED_TASKS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "leaderboard.md"
DEFAULT_DB = f"sqlite:///{ROOT / 'leaderboard.db'}"
BEGIN = "<!-- track-progress: python benchmarks/track_progress.py -->\n"
END = "<!-- /track-progress -->"
SEEDS = frozenset(range(5))
FINISHED = ("done", "diverged")
#: The fill's tracks, as arena.tracks.track_of names them, with the tasks each must cover.
TRACKS = {"matched": MATCHED_TASKS, "matched 2×residual-mlp": STACKED_TASKS}
#: (task, preset) of the references' own settings: the reference-scale fill's, and HSRU's parity.
REFERENCE = tuple(dict.fromkeys([(task.split("[", 1)[0], preset) for _, task, preset, _ in HEADLINE + EXTRA]
                                + [("parity", "hsru")]))


def progress(db: str) -> dict[str, dict[str, dict]]:
    """track → task → {"complete": [cells], "partial": {cell: n}, "runs": n, "worker_s": s}."""
    from arena.store import open_store
    from arena.tracks import track_of

    store = open_store(db, write=False)
    try:
        runs = store.runs(statuses=FINISHED)
    finally:
        store.close()
    seeds: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    out: dict[str, dict[str, dict]] = {t: {task: {"runs": 0, "worker_s": 0.0} for task in tasks}
                                       for t, tasks in TRACKS.items()}
    for run in runs:
        track = track_of(run["train"])
        if track not in out or run["task_name"] not in out[track] or run["seed"] not in SEEDS:
            continue
        seeds[track, run["task_name"], run["cell_name"]].add(run["seed"])
        entry = out[track][run["task_name"]]
        entry["runs"] += 1
        entry["worker_s"] += run["duration_s"] or 0.0
    for track, tasks in out.items():
        for task, entry in tasks.items():
            have = {c: len(seeds.get((track, task, c), ())) for c in (*CELLS, *SLOW_CELLS)}
            entry["complete"] = [c for c, n in have.items() if n == len(SEEDS)]
            entry["partial"] = {c: n for c, n in have.items() if 0 < n < len(SEEDS)}
            entry["missing"] = [c for c, n in have.items() if n == 0]
    return out


def reference_progress(db: str) -> list[dict]:
    """Per reference setting (bare track) and cell as the board names it: seeds finished, the
    median wall time of one run and the worker time, in the order of REFERENCE."""
    from arena.leaderboard import load_settings
    from arena.store import open_store
    from reproduction import run_cost

    store = open_store(db, write=False)
    try:
        settings = [s for s in load_settings(store, track="bare") if (s.task, s.preset) in REFERENCE]
    finally:
        store.close()
    rows = []
    for s in sorted(settings, key=lambda s: REFERENCE.index((s.task, s.preset))):
        for cell, c in run_cost(s, tuple(s.runs), FINISHED).items():
            rows.append({"setting": f"{s.task} `{s.preset}`" + (f" {s.label}" if s.label else ""),
                         "cell": cell, "seeds": len(set(c["seeds"]) & SEEDS), "median_s": c["median_s"],
                         "worker_s": c["total_s"]})
    return rows


def render_reference(rows: list[dict]) -> list[str]:
    lines = ["**The references' presets** (bare track; `python benchmarks/fill_reference.py`):", "",
             "| setting | cell | seeds finished | one run (median) | worker time |", "|---|---|---:|---:|---:|"]
    for r in rows:
        med = "—" if r["median_s"] is None else f"{r['median_s'] / 60:,.1f} min"
        lines.append(f"| {r['setting']} | {r['cell']} | {r['seeds']}/5 | {med} | {r['worker_s'] / 60:,.0f} min |")
    total = sum(r["worker_s"] for r in rows) / 3600
    return lines + ["", f"Worker time at the references' presets so far: {total:.1f} h.", ""]


def render(prog: dict[str, dict[str, dict]], reference: list[dict] | None = None) -> str:
    lines = []
    for track, tasks in prog.items():
        lines += [f"**{track}** (`arena leaderboard --track '{track}'`):", "",
                  "| task | cells with 5 seeds | partly run | not run | runs | worker time |", "|---|---:|---|---|---:|---:|"]
        for task, e in tasks.items():
            partial = ", ".join(f"{c} ({n})" for c, n in e["partial"].items()) or "—"
            missing = ", ".join(e["missing"]) or "—"
            lines.append(f"| {task} | {len(e['complete'])} | {partial} | {missing} | {e['runs']} | "
                         f"{e['worker_s'] / 60:,.0f} min |")
        total = sum(e["worker_s"] for e in tasks.values()) / 3600
        lines += ["", f"Worker time on this track so far: {total:.1f} h.", ""]
    if reference is not None:
        lines += render_reference(reference)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=DEFAULT_DB)
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/leaderboard.md is out of date")
    args = ap.parse_args(argv)
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        print(f"{DOC} has no section between {BEGIN.strip()} and {END}", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    new = head + BEGIN + render(progress(args.db), reference_progress(args.db)) + "\n" + END + rest.split(END, 1)[1]
    if args.check:
        if new != text:
            print("docs/leaderboard.md's track progress is out of date: run python benchmarks/track_progress.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
