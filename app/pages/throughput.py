"""The Throughput page: `arena bench` rows against nn.GRU."""

from __future__ import annotations

from typing import Any

import streamlit as st

from arena.app import data
from arena.app.pages.shared import context


# -- Throughput ----------------------------------------------------------------------------------
def throughput_page() -> None:
    import altair as alt  # 0.3 s to import: only where a chart is drawn

    st.title("Throughput")
    ctx = context("throughput")
    if ctx is None:
        return
    df = data.throughput(ctx.store)
    if df.empty:
        st.info("No benchmark rows in this store. Time some cells, e.g.\n\n"
                f"`arena bench --model gru,lstm --seq-len 64,256,1024 --db {ctx.url}`")
        return
    df["device_label"] = [f"{n or d} ({d})" for n, d in zip(df["device_name"], df["device"])]
    devices = sorted(df["device_label"].unique())
    sb = st.sidebar
    compare_devices = sb.checkbox("Compare devices", value=False, key="tp_compare", disabled=len(devices) < 2,
                                  help="Off: one device per chart, so timings from different machines are never mixed.")
    if compare_devices:
        sel_devices = sb.multiselect("Devices", devices, default=devices, key="tp_devices")
    else:
        sel_devices = [sb.selectbox("Device", devices, key="tp_device")]
    modes = sorted(df["mode"].unique())
    mode = sb.selectbox("Mode", modes, index=modes.index("fwd-bwd") if "fwd-bwd" in modes else 0, key="tp_mode")
    hiddens = sorted(int(h) for h in df["hidden"].unique())
    hidden = sb.selectbox("Hidden size", hiddens, key="tp_hidden")
    sub = df[df["device_label"].isin(sel_devices) & (df["mode"] == mode) & (df["hidden"] == hidden)]
    if sub.empty:
        st.info("No rows for this device, mode and hidden size.")
        return
    sub = sub.copy()
    sub["latency_ms"] = sub["median_s"] * 1e3
    sub["latency_ms_per_token"] = sub["latency_per_token_s"] * 1e3
    base_name = next((b for b in sub["baseline"].dropna().unique() if b), None)
    enc: dict[str, Any] = {"strokeDash": alt.StrokeDash("device_label:N", title="device")} if compare_devices else {}
    st.caption(f"Device: {', '.join(sel_devices)} · mode {mode} · hidden {hidden} · batch "
               f"{', '.join(str(b) for b in sorted(sub['batch'].unique()))}. Log–log axes.")
    x = alt.X("seq_len:Q", scale=alt.Scale(type="log"), title="sequence length")
    tips = ["model", "seq_len", "tokens_per_s", "latency_ms", "ratio_to_baseline", "device_label"]
    c1, c2 = st.columns(2)
    c1.altair_chart(alt.Chart(sub).mark_line(point=True).encode(
        x=x, y=alt.Y("tokens_per_s:Q", scale=alt.Scale(type="log"), title="tokens / s"), color="model:N",
        tooltip=tips, **enc).properties(title="Throughput"), width="stretch")
    c2.altair_chart(alt.Chart(sub).mark_line(point=True).encode(
        x=x, y=alt.Y("latency_ms:Q", scale=alt.Scale(type="log"), title="latency of one call (ms)"),
        color="model:N", tooltip=tips, **enc).properties(title="Latency (median of one call over the whole batch)"),
        width="stretch")
    if base_name and sub["ratio_to_baseline"].notna().any():
        st.altair_chart(alt.Chart(sub).mark_line(point=True).encode(
            x=x, y=alt.Y("ratio_to_baseline:Q", scale=alt.Scale(type="log"), title=f"time ratio to {base_name}"),
            color="model:N", tooltip=tips, **enc).properties(title=f"Time relative to {base_name} (1 = same; "
                                                                   "< 1 faster)"), width="stretch")
    cols = ["device_label", "model", "mode", "seq_len", "hidden", "batch", "tokens_per_s", "latency_ms",
            "latency_ms_per_token",
            "ratio_to_baseline", "time_exponent", "peak_mem_bytes", "state_bytes", "params", "impl", "compile",
            "torch", "created_at"]
    st.dataframe(sub[[c for c in cols if c in sub.columns]].sort_values(["device_label", "model", "seq_len"]),
                 hide_index=True, key="tp_table")
    st.caption("Median over timed rounds; `peak_mem_bytes` is the peak memory of one call, `state_bytes` the "
               "recurrent state per sequence; `time_exponent` fits time ∝ length^k.")
