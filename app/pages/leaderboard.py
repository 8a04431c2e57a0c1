"""The Leaderboard page: the cells × settings matrix of one track, and the view across tasks."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from arena.app import data
from arena.app.pages.shared import (AUTO_AGGREGATE_RUNS, METHOD_NOTE, SCORE_NOTE, SIZE_NOTE, STATIC_TABLE_MAX,
                                    VERDICT_LEGEND, VERDICT_STYLE, _board_with_progress, _default_presets, _fmt,
                                    _setting_params, _settings_of, _varying_params, background_board, board_frame,
                                    cell_plugins, column_title, context, csv_text, entry_text, track_line,
                                    track_selector)


# -- Leaderboard -------------------------------------------------------------------------------
def leaderboard_page() -> None:
    st.title("Leaderboard")
    ctx = context("leaderboard")
    if ctx is None:
        return
    frame = ctx.frame
    sb = st.sidebar
    track = track_selector(frame)
    track_line(frame, track)
    sb.header("Filters")
    presets = sorted(frame.settings["preset"].unique())
    sel_presets = sb.multiselect("Preset", presets, default=_default_presets(presets), key="lb_presets",
                                 help="Task presets; smoke presets are tests, not results, and are hidden by default.")
    tasks = sorted(frame.settings["task"].unique())
    sel_tasks = sb.multiselect("Task", tasks, default=tasks, key="lb_tasks")
    settings = _settings_of(frame, sel_presets, sel_tasks, track)
    varying = _varying_params(frame, settings)
    if varying:
        params = _setting_params(frame)
        with sb.expander("Task parameters"):
            for task, ps in varying.items():
                for k, values in ps.items():
                    labels = [json.dumps(v) for v in values]
                    chosen = st.multiselect(f"{task}: {k}", labels, default=labels, key=f"lb_param_{task}_{k}")
                    if len(chosen) < len(labels):
                        settings = [s for s in settings if str(frame.settings.at[s, "task"]) != task
                                    or json.dumps(params.get(s, {}).get(k)) in chosen]
    cells = sorted(str(c) for c in frame.runs["cell"].unique())
    plugins = cell_plugins(cells)
    plugin_names = sorted(set(plugins.values()))
    sel_plugins = sb.multiselect("Plugin", plugin_names, default=plugin_names, key="lb_plugins",
                                 help="Only the cells registered by these plugins.")
    sel_cells = [c for c in cells if plugins[c] in sel_plugins]
    max_params = None
    sizes = data.model_params(data.select_rows(frame, track=track)).dropna()
    if len(sizes) and int(sizes.min()) < int(sizes.max()):
        lo, hi = int(sizes.min()), int(sizes.max())
        budget = sb.slider("Parameter budget (max parameters without the embedding)", lo, hi, hi, key="lb_budget",
                           help="Leave out runs of models with more parameters than this, counting the parameters "
                                "without the token embedding (a run that did not record them counts its total).")
        max_params = None if budget >= hi else budget
    rows = data.select_rows(frame, settings=settings, cells=sel_cells, max_params=max_params, track=track)
    if rows.empty:
        st.info("No runs match these filters. Widen them in the sidebar.")
        return
    statuses = rows["status"].astype(str)
    n_pending = int((~statuses.isin(data.RESULT_STATUSES)).sum())
    results = rows[statuses.isin(data.RESULT_STATUSES)]
    if results.empty:
        st.warning(f"None of the {len(rows)} runs selected has finished yet ({n_pending} planned, running or "
                   "interrupted). See the Runs page.")
        return
    n_failed = int((results["status"].astype(str) != "done").sum())
    if n_failed == len(results):
        st.warning(f"**Every one of the {len(results)} finished runs selected failed or diverged.** They score at "
                   "the floor (−1), so the board below shows every cell as failed. The Runs page shows each "
                   "traceback.")
    job = background_board(frame, rows)
    board = _board_with_progress(frame, rows) if job is None else None
    st.caption(f"Track {track} · {len(results):,} runs · {rows['cell'].nunique()} cells · "
               f"{rows['setting'].nunique()} settings"
               + (f" · {n_pending} pending runs left out" if n_pending else "")
               + (f" · {n_failed} failed or diverged (scored at the floor, −1)" if n_failed else ""))

    st.subheader("Cells × tasks")
    if board is None:
        _matrix_while_computing(frame, rows, job)
    else:
        matrix_view(board)
    st.caption(VERDICT_LEGEND + " " + SIZE_NOTE)
    st.markdown(METHOD_NOTE)
    if board is not None:
        c1, c2 = st.columns([1, 3])
        c1.download_button("Download CSV", lambda: csv_text(board), file_name=_csv_name(track), mime="text/csv",
                           key="lb_csv", on_click="ignore")
        with st.expander("Full table (one row per cell and setting)"):
            st.dataframe(board_frame(board), hide_index=True)

    st.subheader("Across tasks")
    across_tasks(frame, rows, track)
    if job is not None:
        job.start()  # once the page is drawn: the two would share the interpreter


@st.fragment(run_every=1.0)
def _matrix_while_computing(frame: data.Frame, rows: pd.DataFrame, job: data.BoardJob) -> None:
    """The matrix while a background job computes its statistics: the settings ready so far and
    the number of runs of the others, redrawn every second; the whole page once the job is done."""
    if job.done():
        st.rerun()
    ready = data.board(frame, rows, ready_only=True)
    done = {r["setting_id"] for r in ready}
    waiting = data.waiting_rows(frame, rows, [int(s) for s in rows["setting"].unique() if int(s) not in done])
    st.info(f"Computing the scores, intervals and verdicts of {job.total} settings in the background "
            f"({len(done)} ready; cached afterwards for every visitor). The matrix fills in as they are ready; "
            "the CSV download and the full table follow.")
    matrix_view(ready + waiting)


def across_tasks(frame: data.Frame, rows: pd.DataFrame, track: str | None) -> None:
    """The aggregate over the selected settings; a large one that is not cached waits for a click."""
    results_rows = rows[rows["status"].astype(str).isin(data.RESULT_STATUSES)]
    if (len(results_rows) > AUTO_AGGREGATE_RUNS and not st.session_state.get("lb_agg_on")
            and not data.is_cached("aggregate", data.aggregate_digest(frame, rows, track))):
        st.info(f"The cross-task aggregate of these {len(results_rows):,} runs (stratified bootstraps over "
                f"{rows['setting'].nunique()} settings) is not computed yet; it takes a while the first time and is "
                "then cached for every visitor until the selected runs change.")
        if not st.button("Compute the cross-task aggregate", key="lb_agg"):
            return
        st.session_state["lb_agg_on"] = True
    with st.spinner("Aggregating across settings (cached afterwards)…"):
        agg = data.aggregate(frame, rows, track)
    aggregate_view(agg)


def _csv_name(track: str | None) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in (track or "")).strip("-")
    return f"leaderboard-{slug}.csv" if slug else "leaderboard.csv"


def matrix_view(board: list[dict[str, Any]]) -> None:
    if not board:
        st.info("Nothing to show.")
        return
    long = pd.DataFrame({"cell": [r["cell"] for r in board], "column": [column_title(r) for r in board],
                         "text": [entry_text(r) for r in board],
                         "mark": ["failed" if r.get("all_failed") else (r.get("verdict") or "") for r in board]})
    cols = list(dict.fromkeys(long["column"]))
    text = long.pivot(index="cell", columns="column", values="text").reindex(columns=cols).fillna("")
    mark = long.pivot(index="cell", columns="column", values="mark").reindex(columns=cols).fillna("")
    # Cells that lead more settings first, then those not shown worse on more.
    weight = mark.apply(lambda col: col.map(lambda m: VERDICT_STYLE[m][1] if m in VERDICT_STYLE else 0)).sum(axis=1)
    order = weight.sort_values(ascending=False, kind="stable").index
    text, mark = text.loc[order], mark.loc[order]
    text.index.name, text.columns.name = "cell", None
    if len(text) <= STATIC_TABLE_MAX[0] and len(cols) <= STATIC_TABLE_MAX[1]:
        # Plain HTML, coloured by verdict: readable by screen readers, text search and the browser test.
        def style(_: pd.DataFrame) -> pd.DataFrame:
            return mark.map(lambda m: VERDICT_STYLE[m][0] if m in VERDICT_STYLE else "")

        st.table(text.style.apply(style, axis=None))
    else:
        # A scrollable grid; the verdict words carry the meaning (styling thousands of cells is slow).
        st.dataframe(text, key="lb_matrix")


def _matrix_chart(df: pd.DataFrame, cells: list[str], scale: Any, title: str, spec: str = ".2f",
                  text: str = "label") -> Any:
    """A row × column heatmap coloured by ``value``, with the number (or the ``text`` column) written in."""
    import altair as alt  # 0.3 s to import: only where a chart is drawn

    df = df.assign(label=[_fmt(v, spec) for v in df["value"]])
    base = alt.Chart(df).encode(x=alt.X("column:N", sort=cells, title=None), y=alt.Y("row:N", sort=cells, title=None))
    rect = base.mark_rect().encode(color=alt.Color("value:Q", scale=scale, title=title),
                                   tooltip=[c for c in df.columns if c != "label"])
    return (rect + base.mark_text(fontSize=13).encode(text=f"{text}:N")).properties(height=max(160, 45 * len(cells)))


def aggregate_view(agg: dict[str, Any]) -> None:
    import altair as alt

    if not agg["rows"]:
        why = ("no cell has results on every selected setting" if agg["partial"] else
               "no selected setting can be scored (their tasks declare no chance or solved level)"
               if agg.get("unscored_settings") else "nothing to aggregate")
        st.info(f"No cross-task aggregate: {why}."
                + (f" Cells missing some settings: {', '.join(agg['partial'])}." if agg["partial"] else ""))
        return
    df = pd.DataFrame(agg["rows"])
    if agg.get("track"):
        st.caption(f"Track **{agg['track']}** only: runs of other tracks are never pooled into this aggregate.")
    st.dataframe(df[["cell", "mean score [95% CI]", "IQM [95% CI]", "mean rank", "rank [CD]", "failed k/n", "n_tasks",
                     "n_runs"]], hide_index=True, key="lb_aggregate")
    chart = alt.Chart(df).encode(y=alt.Y("cell:N", sort=list(df["cell"]), title=None))
    bars = chart.mark_rule().encode(x=alt.X("mean_ci_low:Q", title="mean score across settings (chance = 0, "
                                                                   "solved = 1)"), x2="mean_ci_high:Q")
    dots = chart.mark_point(filled=True, size=70).encode(
        x="mean:Q", tooltip=["cell", "mean score [95% CI]", "IQM [95% CI]", "rank [CD]", "failed k/n"])
    st.altair_chart((bars + dots).properties(height=max(120, 28 * len(df))), width="stretch")
    first = agg["rows"][0]
    st.caption(f"{SCORE_NOTE} Across tasks every score is clipped to [−1, 1], so each setting weighs at most 2 "
               "units. No score depends on which cells are shown; only the ranks do. "
               f"Over {len(agg['settings'])} settings, each weighing equally. Mean score: {first['mean_ci_method']}. "
               f"IQM (interquartile mean of all runs' scores): {first['iqm_ci_method']}. **failed**: failed or "
               "diverged runs of all the cell's runs. "
               + (f"Left out (missing some settings): {', '.join(agg['partial'])}. " if agg["partial"] else "")
               + (f"Settings left out (not run by every cell): {', '.join(agg['left_out_settings'])}. "
                  if agg.get("left_out_settings") else "")
               + (f"Not scored (no anchors): {', '.join(agg['unscored_settings'])}." if agg.get("unscored_settings")
                  else ""))
    st.markdown("**rank [CD]** is the range of ranks a cell can hold given the Friedman test and the Nemenyi "
                "critical difference (CD): from 1 + the number of cells whose mean rank is better by more than CD "
                "to k − the number worse by more than CD. When the Friedman test does not reject, every cell "
                "gets 1–k: no order is claimed.")
    if agg.get("friedman"):
        st.markdown(agg["friedman"]["text"])
    cells = list(df["cell"])
    if len(cells) >= 2 and agg.get("improvement"):
        st.markdown("**Probability of improvement**: P(row cell scores above column cell)")
        imp = agg["improvement"]
        recs = [{"row": x, "column": y, "value": imp[x][y]["p"],
                 "95% CI": "" if imp[x][y]["ci_low"] is None else f"[{imp[x][y]['ci_low']:.2f}, "
                                                                 f"{imp[x][y]['ci_high']:.2f}]",
                 "method": imp[x][y]["ci_method"]} for x in cells for y in cells if y != x]
        st.altair_chart(_matrix_chart(pd.DataFrame(recs), cells, alt.Scale(scheme="redblue", domain=[0, 1]),
                                      "P(row > column)"), width="stretch")
        st.caption("On each setting, the share of all run pairs where the row cell's run scores above the column "
                   "cell's (ties count ½), averaged over settings (rliable's probability of improvement); 95 % "
                   f"intervals in the tooltips: {imp[cells[0]][cells[1]]['ci_method']}.")
    if agg.get("profiles"):
        st.markdown("**Performance profile**: share of runs scoring above each threshold")
        prof = pd.DataFrame([{"cell": c, "score threshold τ": t, "share of runs above τ": v}
                             for c in cells for t, v in zip(agg["taus"], agg["profiles"][c])])
        st.altair_chart(alt.Chart(prof).mark_line().encode(
            x=alt.X("score threshold τ:Q", scale=alt.Scale(domain=[-1, 1])),
            y=alt.Y("share of runs above τ:Q", scale=alt.Scale(domain=[0, 1])), color=alt.Color("cell:N", sort=cells),
            tooltip=list(prof.columns)).properties(height=260), width="stretch")
        st.caption("For each score threshold τ (chance = 0, solved = 1, failures at −1), the share of the cell's "
                   "runs scoring above τ, each setting weighing equally (rliable's performance profile). A curve "
                   "above another is better at every threshold; failed runs never count as above.")
