"""The Runs page: search the stored runs and open one (curves, traceback, reproduce command)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from arena.app import data
from arena.app.pages.shared import _host, context


# -- Runs ----------------------------------------------------------------------------------------
def runs_page() -> None:
    st.title("Runs")
    ctx = context("runs")
    if ctx is None:
        return
    from arena.store.schema import STATUSES

    sb = st.sidebar
    text = sb.text_input("Search", "", key="runs_search", help="Part of a run key, cell, task, preset, status, "
                                                              "device or parameter.")
    present = sorted(str(s) for s in ctx.frame.runs["status"].unique())
    statuses = sb.multiselect("Status", [s for s in STATUSES if s in present], default=[s for s in STATUSES
                                                                                         if s in present],
                              key="runs_status")
    total, rows = data.search_runs(ctx.store, text, statuses)
    st.caption(f"{total:,} matching runs" + (f"; the first {len(rows):,} are listed" if total > len(rows) else ""))
    if not rows:
        st.info("No run matches.")
        return
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, key="runs_table")
    keys = [r["key"] for r in rows]
    labels = {r["key"]: f"{r['key'][:14]}…  {r['cell']} · {r['task']} · {r['preset']} · seed {r['seed']} · {r['status']}"
              for r in rows}
    linked = st.query_params.get("run")  # /runs?run=KEY links to one run
    if linked and linked not in labels:
        keys.insert(0, linked)
        labels[linked] = f"{linked} (linked)"
    failed = [r["key"] for r in rows if r["status"] == "failed"]
    index = keys.index(linked) if linked else (keys.index(failed[0]) if failed else 0)
    key = st.selectbox("Run", keys, index=index, format_func=labels.get, key="runs_key")
    run_view(ctx.store, key)


def run_view(store: Any, key: str) -> None:
    import altair as alt  # 0.3 s to import: only where a chart is drawn

    from arena.cli import reproduce_command

    run = data.run_detail(store, key)
    if run is None:
        st.warning(f"No run {key!r}.")
        return
    st.subheader(f"{run['cell']} on {run['task']} · {run['preset']} · seed {run['seed']}")
    status = run["status"]
    (st.error if status == "failed" else st.warning if status != "done" else st.success)(
        f"Status: **{status}**" + (f" after {run['duration_s']:.1f} s" if run.get("duration_s") else ""))
    st.markdown("Reproduce it (same run key):")
    st.code(reproduce_command(_host(), run), language="bash")
    if run.get("error"):
        st.markdown("Traceback:" if status == "failed" else "Error:")
        st.code(run["error"], language="text")
    c1, c2 = st.columns(2)
    c1.markdown("**Test metrics**")
    c1.json(run["metrics"] or {}, expanded=True)
    c2.markdown("**Validation metrics**")
    c2.json(run["val_metrics"] or {}, expanded=True)
    config = {k: run.get(k) for k in ("key", "cell", "task", "preset", "track", "seed", "params", "train",
                                      "cell_options", "cell_version", "task_version", "main_metric", "directions",
                                      "chance", "data_seed", "init_seed", "device", "impl", "n_params", "body_params",
                                      "width", "cell_params", "state_size", "epochs", "best_epoch", "created_at",
                                      "started_at", "finished_at")}
    with st.expander("Configuration", expanded=True):
        st.json(config)
    with st.expander("Environment"):
        st.json(run["environment"] or {"environment": "not recorded"})
    if run["curves"]:
        cur = pd.DataFrame(run["curves"]).melt("epoch", var_name="curve", value_name="value").dropna()
        names = sorted(cur["curve"].unique())
        pick = [n for n in names if n.startswith("val_") or n == "train_loss"] or names
        chosen = st.multiselect("Curves", names, default=pick, key="runs_curves")
        st.altair_chart(alt.Chart(cur[cur["curve"].isin(chosen)]).mark_line(point=True).encode(
            x="epoch:Q", y="value:Q", color="curve:N", tooltip=["epoch", "curve", "value"]), width="stretch")
    else:
        st.caption("No curves stored for this run.")
