"""The Task page: one task's settings, per-seed scores, learning curves and parameter slices."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from arena.app import data
from arena.app.pages.shared import (SIZE_NOTE, VERDICT_LEGEND, _board_with_progress, _default_presets, _fmt, _host,
                                    _setting_params, _settings_of, _varying_params, board_frame, context, failures,
                                    track_line, track_selector, verdict_text)


# -- Task ----------------------------------------------------------------------------------------
def task_page() -> None:
    import altair as alt  # 0.3 s to import: only where a chart is drawn

    st.title("Task")
    ctx = context("task")
    if ctx is None:
        return
    frame = ctx.frame
    track = track_selector(frame)
    ts = frame.settings[frame.settings["track"] == track]  # the track's settings: tasks and presets it has
    tasks = sorted(ts["task"].unique())
    linked = st.query_params.get("task")  # /task?task=NAME links to one task
    task = st.sidebar.selectbox("Task", tasks, index=tasks.index(linked) if linked in tasks else 0, key="task_task")
    presets = sorted(ts.loc[ts["task"] == task, "preset"].unique())
    preset = st.sidebar.selectbox("Preset", presets, index=presets.index(_default_presets(presets)[0]),
                                  key="task_preset")
    settings = _settings_of(frame, [preset], [task], track)
    _task_header(task)
    track_line(frame, track)
    rows = data.select_rows(frame, settings=settings)
    board = _board_with_progress(frame, rows)
    titles = {s: str(frame.settings.at[s, "title"]) for s in settings}
    sid = settings[0]
    if len(settings) > 1:
        sid = st.selectbox("Setting", settings, format_func=lambda s: titles[s], key="task_setting")
    srow = frame.settings.loc[sid]
    block = [r for r in board if r["setting_id"] == sid]
    arrow = "↑ higher is better" if srow["higher"] else "↓ lower is better"
    st.subheader(f"Per-seed results · {srow['title']}")
    first = block[0] if block else {"scored": False, "scale": "linear", "solved": None, "chance": srow["chance"],
                                    "score_note": None}
    log = " on a log scale" if first["scale"] == "log" else ""
    anchors = (f"chance {_fmt(first['chance'])} → score 0, solved {_fmt(first['solved'])} → score 1{log}. Dots "
               "are seeds' scores (crosses: failed or diverged runs, at the floor −1); the bar is the 95 % "
               "t-interval of the mean score (none when fewer than 5 runs count); the tick is the mean score. No "
               "score depends on the other cells" if first["scored"] else
               f"{first['score_note'] or 'not scored'}. Dots are seeds' values{log}; the bar is the 95 % t-interval "
               "of their mean (none when fewer than 5 runs count); the tick is the mean")
    st.caption(f"Main metric **{srow['metric']}** ({arrow}); {anchors}.")
    seeds_chart(frame, sid, block)
    if block:
        st.dataframe(board_frame(block), hide_index=True, key="task_board")
        st.caption(VERDICT_LEGEND + " " + SIZE_NOTE)

    st.subheader("Learning curves")
    names = data.curve_names(ctx.store, task)
    if not names:
        st.info("No per-epoch curves stored for this task.")
    else:
        default = f"val_{srow['metric']}"
        name = st.selectbox("Curve", names, index=names.index(default) if default in names else 0, key="task_curve")
        cur = data.curves(ctx.store, frame, task, name)
        cur = cur[cur["setting"] == sid]
        if cur.empty:
            st.info(f"No `{name}` curves for this setting.")
        else:
            base = alt.Chart(cur).encode(x=alt.X("epoch:Q", title="epoch"), color=alt.Color("cell:N"))
            band = base.mark_area(opacity=0.15).encode(y=alt.Y("min:Q", title=name), y2="max:Q")
            line = base.mark_line(point=True).encode(y="mean:Q", tooltip=["cell", "epoch", "mean", "min", "max", "n"])
            st.altair_chart(band + line, width="stretch")
            st.caption("Mean over seeds per epoch; the band spans the seeds' minimum to maximum.")

    st.subheader("Slices by task parameter")
    slice_view(frame, task, preset, settings, board)
    with st.expander("Table (every setting of this preset)"):
        st.dataframe(board_frame(board), hide_index=True)


def _task_header(task: str) -> None:
    host = _host()
    if task in host.tasks:
        info = host.tasks.get(task).info
        st.markdown(f"**{task}** — {info.summary}" + (f"  \nReference: {info.reference}" if info.reference else ""))
    else:
        st.markdown(f"**{task}** (the task's plugin is not installed; results are read from the store).")


def seeds_chart(frame: data.Frame, sid: int, block: list[dict[str, Any]]) -> None:
    """Each seed's score per cell (the board's own scoring), with the board's mean and interval."""
    import altair as alt

    from arena import stats

    rows = frame.setting_rows(sid)
    rows = rows[rows["status"].astype(str).isin(data.RESULT_STATUSES)].sort_values("seed")
    if rows.empty or not block:
        st.info("No finished runs in this setting.")
        return
    r0 = block[0]
    anchors = stats.Anchors(bool(frame.settings.at[sid, "higher"]), r0["scale"], r0["chance"], r0["solved"])
    pts = []
    for cell, sub in rows.groupby(rows["cell"].astype(str), observed=True):
        values = [None if pd.isna(v) else float(v) for v in sub["value"]]
        statuses = list(sub["status"].astype(str))
        sc = stats.score_runs(values, statuses, anchors)
        for i, score in zip(sc["index"], sc["scores"]):
            pts.append({"cell": cell, "seed": int(sub["seed"].iloc[i]), "status": statuses[i], "value": values[i],
                        "score": score, "kind": "seed" if statuses[i] == "done" else "failed (score −1)"})
    pts = pd.DataFrame(pts)
    order = [r["cell"] for r in block]
    summ = pd.DataFrame([{"cell": r["cell"], "score": r["score"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                          "n": r["n"], "failed": f"{failures(r)}/{r['n']}", "verdict": verdict_text(r),
                          "size": r.get("size") or ""}
                         for r in block if r["score"] is not None and not r["all_failed"]])
    if pts.empty or summ.empty:
        st.info("No finished runs in this setting.")
        return
    title = ("score (chance = 0, solved = 1)" if r0["scored"]
             else str(frame.settings.at[sid, "metric"]) + (" (log10)" if r0["scale"] == "log" else ""))
    dots = alt.Chart(pts).mark_point(opacity=0.55, size=30).encode(
        x=alt.X("cell:N", sort=order, title=None), xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-2, 3])),
        y=alt.Y("score:Q", title=title, scale=alt.Scale(zero=False)),
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=["seed", "failed (score −1)"], range=["circle", "cross"]),
                        title=None),
        tooltip=["cell", "seed", "status", "value", "score"]).transform_calculate(jitter="random()")
    ci = alt.Chart(summ).mark_rule(strokeWidth=3, color="black").encode(
        x=alt.X("cell:N", sort=order), y="ci_low:Q", y2="ci_high:Q")
    mean = alt.Chart(summ).mark_tick(color="firebrick", thickness=3, size=24).encode(
        x=alt.X("cell:N", sort=order), y="score:Q", tooltip=list(summ.columns))
    st.altair_chart((dots + ci + mean).properties(height=320), width="stretch")


def slice_view(frame: data.Frame, task: str, preset: str, settings: list[int], board: list[dict[str, Any]]) -> None:
    import altair as alt

    varying = _varying_params(frame, settings).get(task, {})
    if not varying:
        st.info(f"This preset of `{task}` has a single setting; sweep a parameter to slice by it, e.g. "
                f"`arena run -t {task} --preset {preset} --set task.PARAM=VALUE ...`.")
        return
    key = st.selectbox("Parameter", list(varying), key="task_slice")
    params = _setting_params(frame)
    block = [r for r in board if key in params.get(r["setting_id"], {}) and r["n"]]
    scored = bool(block) and all(r["scored"] for r in block)  # else the metric's value, without an interval
    recs = []
    for r in block:
        p = params[r["setting_id"]]
        rest = ", ".join(f"{k}={p[k]}" for k in sorted(varying) if k != key)
        y = None if r["all_failed"] else r["score"] if scored else r["value"]
        recs.append({"cell": r["cell"], key: p[key], "y": y,
                     "ci_low": r["ci_low"] if scored else None, "ci_high": r["ci_high"] if scored else None,
                     "n": r["n"], "failed": f"{failures(r)}/{r['n']}", "size": r.get("size") or "",
                     "other": rest or "—"})
    df = pd.DataFrame(recs)
    if df.empty or df["y"].isna().all():
        st.info("Nothing to slice.")
        return
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in df[key])
    if not numeric:
        df[key] = df[key].map(lambda v: json.dumps(v))
    metric = str(frame.settings.loc[settings[0], "metric"])
    title = "mean score (chance = 0, solved = 1)" if scored else f"{metric} (over finished runs)"
    base = alt.Chart(df).encode(x=alt.X(f"{key}:{'Q' if numeric else 'O'}", title=key), color="cell:N")
    enc = {"strokeDash": "other:N"} if df["other"].nunique() > 1 else {}
    line = base.mark_line(point=True).encode(y=alt.Y("y:Q", title=title, scale=alt.Scale(zero=False)),
                                             tooltip=["cell", key, "y", "ci_low", "ci_high", "n", "failed", "size",
                                                      "other"],
                                             **enc)
    err = base.mark_errorbar().encode(y=alt.Y("ci_low:Q", title=title), y2="ci_high:Q")
    st.altair_chart(line + err if scored else line, width="stretch")
    st.caption(f"{title} against `{key}` for each cell" + (", with 95 % t-intervals (none when fewer than 5 runs "
                                                           "count); failed runs score −1." if scored else
                                                           ": some of these settings are not scored (their task "
                                                           "declares no anchors), so the values are drawn, "
                                                           "failed runs left out.")
               + " A cell whose runs all failed on a setting has no point there.")
