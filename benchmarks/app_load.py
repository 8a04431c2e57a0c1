"""How fast does the app's leaderboard page render on a large store?

Builds a store of 100,000 runs (rows written straight into the real schema by
``arena.app.synthetic``: 25 cells × 10 tasks × 2 presets × 5 sweep values × 40 seeds, 1 % failed
and 1 % diverged, 3 metrics per run) and renders the leaderboard page with Streamlit's AppTest,
as a visitor would see it (default filters: every non-smoke preset, i.e. 50 settings and 50,000
runs; the cross-task aggregate of that many runs waits for a click until it is cached):

- ``cold``: the first render ever: the store is read and the matrix drawn at once, with each
  cell's number of runs, while every setting's statistics (arena's task_board: scores on the
  tasks' anchors, t-intervals, verdicts) are computed in a background thread and cached; the
  page fills in as they are ready (``statistics_ready_s``: from the start of the cold render
  until all of them are);
- ``hot``: a new visitor on the same server, store unchanged (everything from memory);
- ``restart``: a restarted server with the frame and the result cache on disk;
- ``after_new_run``: one run was added since (the store is read again, one setting recomputed).

Target: every render under 2 s.

    python benchmarks/app_load.py            # writes benchmarks/results/app_load.json
    python benchmarks/app_load.py --reference   # also times arena.leaderboard.task_board on the store
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "app_load.json"
TARGET_S = 2.0


def _page() -> None:  # the AppTest script
    from arena.app import views

    views.run_page("leaderboard")


def render(timeout: float = 600) -> tuple[float, "AppTest"]:  # noqa: F821
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=timeout)
    t = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")
    return dt, at


def _matrix_text(at: "AppTest") -> str:  # noqa: F821
    """The leaderboard matrix's entries (a static table or a grid, by its size)."""
    df = at.table[0].value if at.table else at.dataframe[0].value
    return " ".join(map(str, df.to_numpy().ravel()))


def add_one_run(url: str) -> None:
    """A new seed of one cell in one standard setting, as `arena run` would store it."""
    from sqlalchemy import select

    from arena.store import open_store, schema

    store = open_store(url)
    r = schema.runs.c
    with store.engine.begin() as conn:
        row = dict(conn.execute(select(schema.runs).where(r.preset == "standard", r.status == "done").limit(1))
                   .one()._mapping)
        value = conn.execute(select(schema.metrics.c.value).where(schema.metrics.c.run_key == row["key"],
                                                                  schema.metrics.c.name == row["main_metric"],
                                                                  schema.metrics.c.split == "test")).scalar()
        seed = conn.execute(select(r.seed).order_by(r.seed.desc()).limit(1)).scalar() + 1
        row.update(key=f"b2:bench-new-run-{seed}", seed=seed, finished_at="2030-01-01T00:00:00+00:00")
        conn.execute(schema.runs.insert().values(**row))
        conn.execute(schema.metrics.insert().values(run_key=row["key"], split="test", name=row["main_metric"],
                                                    value=value))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--store", type=Path, default=None, help="Reuse (or create) the store file here.")
    ap.add_argument("--reference", action="store_true", help="Also time arena.leaderboard.task_board directly.")
    ap.add_argument("--output", type=Path, default=OUT)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="arena-app-load-"))
    path = args.store or work / "store.db"
    url = f"sqlite:///{path.resolve()}"
    os.environ["ARENA_APP_DB"] = url
    os.environ["ARENA_APP_CACHE_DIR"] = str(work / "app-cache")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from arena.app.synthetic import build_store

    built = None
    t = time.perf_counter()
    if not path.exists():
        built = build_store(url, args.runs)
        print(f"built {built} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    build_s = time.perf_counter() - t

    t = time.perf_counter()
    import scipy.stats  # noqa: F401 - imports a server pays once, at its first page

    import arena.app.views  # noqa: F401
    import arena.leaderboard  # noqa: F401
    imports_s = time.perf_counter() - t

    import streamlit as st

    from arena.app import data

    result: dict[str, float] = {}
    load_before = os.getloadavg()
    t = time.perf_counter()
    result["cold"], at = render()
    text = " ".join(str(e.value) for e in at.caption)
    computing = "computing…" in _matrix_text(at)
    data.wait_for_jobs()
    statistics_ready_s = time.perf_counter() - t
    at.run()
    if "computing…" in _matrix_text(at) or "leader" not in _matrix_text(at):
        raise RuntimeError("the statistics computed in the background did not reach the page")
    aggregate_waits = bool(at.button)
    t = time.perf_counter()
    if aggregate_waits:
        at.button(key="lb_agg").click().run()
    aggregate_first_s = time.perf_counter() - t if aggregate_waits else None
    result["hot"], _ = render()
    st.cache_resource.clear()  # a restarted server: nothing in memory (stores closed), the caches on disk
    data.clear_memory()
    result["restart"], _ = render()
    add_one_run(url)
    result["after_new_run"], _ = render()
    store = data.open_readonly(url)
    frame = data.load_frame(store)
    n_runs = len(frame.runs)

    reference = None
    if args.reference:
        from arena.leaderboard import load_settings, task_board

        t = time.perf_counter()
        load_settings(store)
        ls = time.perf_counter() - t
        t = time.perf_counter()
        task_board(store)
        reference = {"load_settings_s": round(ls, 2), "task_board_all_settings_s": round(time.perf_counter() - t, 2)}

    out = {
        "benchmark": "app_load",
        "what": "render time of the leaderboard page (Streamlit AppTest, in-process) on a large store",
        "store": {"runs": n_runs, "cells": int(frame.runs["cell"].nunique()), "settings": int(len(frame.settings)),
                  "tasks": int(frame.runs["task"].nunique()), "build_s": round(build_s, 1), **(built or {})},
        "page": text,
        "render_s": {k: round(v, 3) for k, v in result.items()},
        "cold_statistics_in_background": computing,
        "statistics_ready_s": round(statistics_ready_s, 2),
        "aggregate_first_s": None if aggregate_first_s is None else round(aggregate_first_s, 2),
        "aggregate_waits_for_click": aggregate_waits,
        "imports_s": round(imports_s, 2),
        "target_s": TARGET_S,
        "meets_target": {k: v < TARGET_S for k, v in result.items()},
        "reference": reference,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    # 1, 5 and 15-minute load averages before the cold render and at the end: other
                    # processes on the machine slow every figure down in proportion
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
