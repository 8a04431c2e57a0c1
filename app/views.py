"""The app's pages as importable functions (the Streamlit script only calls :func:`main`).

Every number comes from arena's own statistics (``arena.leaderboard`` and ``arena.stats``) via
:mod:`arena.app.data`, so the app and ``arena leaderboard`` / ``arena compare`` always agree.

Every page with results shows one **track** (:mod:`arena.tracks`), picked in the sidebar
(matched first), and says which; runs of different tracks never share a table, a heatmap or an
aggregate. Each cell's size (parameters without the token embedding, and its state size) is
shown beside its score.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from arena.app import data
from arena.errors import StoreError
from arena.leaderboard import EQUIVALENCE_MARGIN
from arena.leaderboard import _size as _size_text  # "25.5k params · state 64", as `arena leaderboard` prints it

SCORE_NOTE = ("Scores: chance = 0 and the task's solved level = 1 on the metric's scale (log scale for error "
              "metrics); failed and diverged runs score −1 (the floor).")
VERDICT_LEGEND = (
    "★ leader: best mean score, shown better than chance · leader: best mean score, not shown better than chance · "
    "worse: shown worse than the leader (t-test, Holm-corrected over the setting's cells) · inconclusive: not "
    "shown worse than the leader, which does not make it equal · failed k/n: runs that failed or diverged. "
    + SCORE_NOTE)
METHOD_NOTE = (
    "**How to read it.** Each entry: the task's main test metric over the finished runs (mean; geometric mean "
    "for error metrics on a log scale); the mean **score** with its 95 % t-interval (the scores themselves when "
    "fewer than 5 runs count); **failed k/n**; and the verdict. A cell whose runs all failed shows *failed n/n*. "
    "A setting whose task declares no anchors is *not scored*: its verdicts compare the metric itself and leave "
    "failed runs out. ↑ higher is better, ↓ lower is better. Same numbers as `arena leaderboard`; see "
    "docs/methodology.md.")
#: Verdict → (matrix colour, sort weight).
VERDICT_STYLE = {"leader": ("font-weight: bold; background-color: rgba(255, 215, 0, 0.35)", 2),
                 "inconclusive": ("background-color: rgba(100, 149, 237, 0.15)", 1),
                 "failed": ("color: #a00; background-color: rgba(220, 20, 60, 0.12)", 0)}


#: Matrices up to this many cells × settings are drawn as a static HTML table, larger ones as a
#: scrollable grid.
STATIC_TABLE_MAX = (30, 8)
#: Above this many runs, an aggregate that is not cached yet waits for a click (it takes seconds).
AUTO_AGGREGATE_RUNS = 20_000
#: The sidebar's track selector (one key on every page; the last choice carries to the next page).
TRACK_KEY = "track"
TRACK_HELP = ("How the models were built. matched: every cell sized to the same parameter budget (parameters "
              "without the token embedding; only the model width is solved per cell). bare: every cell at the "
              "preset's hidden size, so cells differ in size. L×block: L layers in residual blocks. Only like is "
              "compared with like: each page shows one track, and runs of different tracks are never pooled.")
SIZE_NOTE = ("Sizes: parameters without the token embedding · the recurrent state size (the median over the cell's "
             "runs on the setting).")
#: The columns of the CSV download: those of `arena leaderboard --format csv`.
CSV_COLUMNS = ["track", "task", "preset", "setting", "cell", "body_params", "width", "state_size", "metric", "scale",
               "value", "value_kind", "n", "n_done", "failed", "diverged", "failure_rate", "all_failed", "scored",
               "score_note", "score", "score_std", "ci_low", "ci_high", "ci_method", "score_values", "rank", "leader",
               "star", "verdict", "p_vs_leader", "p_vs_leader_raw", "test", "p_vs_chance", "chance", "solved",
               "params", "cell_options"]


@dataclass
class Ctx:
    url: str
    store: Any
    frame: data.Frame


# -- shared --------------------------------------------------------------------------------------
def context(page: str) -> Ctx | None:
    """Open the store read-only and load it; explain (never raise) when that is not possible."""
    url = data.db_url()
    st.sidebar.caption(f"Store: `{url}` · read-only")
    try:
        store = data.open_readonly(url)
        with st.spinner("Reading the store…"):
            frame = data.load_frame(store)
    except StoreError as exc:
        data.forget(url)
        kind = data.problem_kind(exc)
        if kind == "older-schema":
            st.warning(f"**This store uses an older schema.** {exc}.\n\nThe app never writes to a store, so it "
                       "cannot migrate it. Run any writing command once, e.g. `arena run ... --db URL`, or "
                       "`arena bench ... --db URL`, then reload this page.")
        elif kind == "missing":
            st.info(f"**No store yet.** {exc}.\n\nTrain something first, e.g.\n\n"
                    f"`arena run --model gru,lstm --task copy --preset smoke --seeds 0-4 --db {url}`\n\n"
                    "then reload this page (or start the app with `arena app --db URL`).")
        else:
            st.error(f"**Cannot read the store.** {exc}")
        return None
    except SQLAlchemyError as exc:
        data.forget(url)
        st.error(f"**Cannot read the store** {url}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}")
        return None
    if frame.empty and page not in ("throughput", "plugins"):
        st.info(f"**The store is empty**: no runs in `{url}` yet.\n\nTrain some cells, e.g.\n\n"
                f"`arena run --model gru,lstm --task copy --preset smoke --seeds 0-4 --db {url}`\n\n"
                "and reload this page. Benchmark rows (`arena bench`) appear on the Throughput page.")
        return None
    return Ctx(url, store, frame)


def _host() -> Any:
    from arena.host import get_host

    return get_host()


def describe_track(track: str) -> str:
    """A track in words: ``matched 2×residual-mlp`` → sized to one budget, 2 layers of residual-mlp blocks."""
    base, _, stack = track.partition(" ")
    text = {"matched": "every cell sized to the same parameter budget (parameters without the token embedding; "
                       "only the model width is solved per cell)",
            "bare": "every cell at the preset's hidden size, so the cells differ in size"}.get(base, base)
    if stack:
        layers, _, block = stack.partition("×")
        text += f"; {layers} layers of {block} blocks"
    return text


def track_selector(frame: data.Frame) -> str | None:
    """The sidebar's track (tracks in arena.tracks order, the matched track first): a link's
    ``?track=``, else the last one picked, else the first. Disabled when the store has one."""
    tracks = frame.tracks
    if not tracks:
        return None
    wanted = st.query_params.get(TRACK_KEY) or st.session_state.get("track_choice")
    track = st.sidebar.selectbox("Track", tracks, index=tracks.index(wanted) if wanted in tracks else 0,
                                 key=TRACK_KEY, disabled=len(tracks) < 2, help=TRACK_HELP)
    st.session_state["track_choice"] = track
    return track


def track_line(frame: data.Frame, track: str | None) -> None:
    """Says which track the page shows, and which others the store has."""
    if track is None:
        return
    others = [t for t in frame.tracks if t != track]
    st.markdown(f"**Track: {track}** — {describe_track(track)}. "
                + (f"Other tracks in this store: {', '.join(others)} (pick one in the sidebar); runs of different "
                   "tracks are never pooled." if others else "The only track in this store."))


def size_text(body_params: int | None, state_size: int | None) -> str:
    return _size_text({"body_params": body_params, "state_size": state_size})


def cell_plugins(cells: list[str]) -> dict[str, str]:
    host = _host()
    return {c: (host.cells.get(c).plugin if c in host.cells else "(not installed)") for c in cells}


def _fmt(v: Any, spec: str = ".4g") -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else format(v, spec)


def failures(r: dict[str, Any]) -> int:
    return (r.get("failed") or 0) + (r.get("diverged") or 0)


def verdict_text(r: dict[str, Any]) -> str:
    return "★ leader" if r["leader"] and r["star"] else (r["verdict"] or "")


def score_text(r: dict[str, Any]) -> str:
    """Mean score [95% CI], or the scores themselves when fewer than 5 runs count."""
    from arena.leaderboard import score_text as text

    return text(r["score"], r["ci_low"], r["ci_high"], r["score_values"], digits=2)


def entry_text(r: dict[str, Any]) -> str:
    """One matrix entry: value · score [CI] · failed k/n · verdict; 'failed n/n' when no run finished."""
    if r["all_failed"]:
        return f"failed {r['n']}/{r['n']}"
    if r["value"] is None:
        return "—"
    score = f"score {score_text(r)}" if r["scored"] else "not scored"
    size = r.get("size") or size_text(r.get("body_params"), r.get("state_size"))
    return " · ".join(p for p in [f"{r['value']:.3g}", score, f"failed {failures(r)}/{r['n']}", verdict_text(r), size]
                      if p)


def column_title(r: dict[str, Any]) -> str:
    return data.setting_title(r["task"], r["preset"], r["setting"]) + f" ({r['metric']})"


def board_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The board as `arena leaderboard` prints it (the columns of arena.leaderboard.display)."""
    from arena.cli import BOARD_COLUMNS

    df = pd.DataFrame(rows)
    return df[BOARD_COLUMNS] if not df.empty else df


def csv_text(rows: list[dict[str, Any]]) -> str:
    cols = CSV_COLUMNS
    df = pd.DataFrame([{c: (json.dumps(r.get(c), sort_keys=True) if c in ("params", "cell_options", "score_values")
                            else r.get(c))
                        for c in cols} for r in rows], columns=cols)
    return df.to_csv(index=False)


def _settings_of(frame: data.Frame, presets: list[str] | None = None, tasks: list[str] | None = None,
                 track: str | None = None) -> list[int]:
    s = frame.settings
    mask = pd.Series(True, index=s.index)
    if track is not None:
        mask &= s["track"] == track
    if presets is not None:
        mask &= s["preset"].isin(presets)
    if tasks is not None:
        mask &= s["task"].isin(tasks)
    return [int(i) for i in s.index[mask]]


def _setting_params(frame: data.Frame) -> dict[int, dict[str, Any]]:
    """setting id → its task parameters (those of its first configuration)."""
    return frame.memo("setting_params", lambda: {
        int(sid): frame.combos[int(c)]["params"]
        for sid, c in zip(*frame.runs.drop_duplicates("setting")[["setting", "combo"]].to_numpy().T)})


def _varying_params(frame: data.Frame, settings: list[int]) -> dict[str, dict[str, list[Any]]]:
    """task → parameter → its values, for the parameters that differ between the task's settings."""
    params = _setting_params(frame)
    by_task: dict[str, dict[str, set[str]]] = {}
    for sid in settings:
        task = str(frame.settings.at[sid, "task"])
        for k, v in params.get(sid, {}).items():
            by_task.setdefault(task, {}).setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    out: dict[str, dict[str, list[Any]]] = {}
    for task, ps in sorted(by_task.items()):
        for k, vals in sorted(ps.items()):
            if len(vals) > 1:
                out.setdefault(task, {})[k] = sorted((json.loads(v) for v in vals), key=_sort_key)
    return out


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, 0)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (1, v)
    return (2, json.dumps(v, sort_keys=True))


def _default_presets(presets: list[str]) -> list[str]:
    """The presets shown by default, ``standard`` first; smoke presets are tests, not results."""
    return sorted([p for p in presets if p != "smoke"] or presets, key=lambda p: p != "standard")


def _board_with_progress(frame: data.Frame, rows: pd.DataFrame) -> list[dict[str, Any]]:
    n = int(rows["setting"].nunique())
    if n <= 5:
        return data.board(frame, rows)
    bar = st.progress(0.0, text=f"Computing {n} settings (cached afterwards)…")

    def progress(i: int, total: int) -> None:
        bar.progress(i / total, text=f"Computing setting {i} of {total} (cached afterwards)…")

    try:
        return data.board(frame, rows, progress)
    finally:
        bar.empty()


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
    board = _board_with_progress(frame, rows)
    st.caption(f"Track {track} · {len(results):,} runs · {rows['cell'].nunique()} cells · "
               f"{rows['setting'].nunique()} settings"
               + (f" · {n_pending} pending runs left out" if n_pending else "")
               + (f" · {n_failed} failed or diverged (scored at the floor, −1)" if n_failed else ""))

    st.subheader("Cells × tasks")
    matrix_view(board)
    st.caption(VERDICT_LEGEND + " " + SIZE_NOTE)
    st.markdown(METHOD_NOTE)
    c1, c2 = st.columns([1, 3])
    c1.download_button("Download CSV", lambda: csv_text(board), file_name=_csv_name(track), mime="text/csv",
                       key="lb_csv", on_click="ignore")
    with st.expander("Full table (one row per cell and setting)"):
        st.dataframe(board_frame(board), hide_index=True)

    st.subheader("Across tasks")
    results_rows = rows[statuses.isin(data.RESULT_STATUSES)]
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
                         "mark": ["failed" if r["all_failed"] else (r["verdict"] or "") for r in board]})
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
    df = df.assign(label=[_fmt(v, spec) for v in df["value"]])
    base = alt.Chart(df).encode(x=alt.X("column:N", sort=cells, title=None), y=alt.Y("row:N", sort=cells, title=None))
    rect = base.mark_rect().encode(color=alt.Color("value:Q", scale=scale, title=title),
                                   tooltip=[c for c in df.columns if c != "label"])
    return (rect + base.mark_text(fontSize=13).encode(text=f"{text}:N")).properties(height=max(160, 45 * len(cells)))


def aggregate_view(agg: dict[str, Any]) -> None:
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


# -- Task ----------------------------------------------------------------------------------------
def task_page() -> None:
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


# -- Compare -------------------------------------------------------------------------------------
def compare_page() -> None:
    from arena import stats

    st.title("Compare")
    ctx = context("compare")
    if ctx is None:
        return
    frame = ctx.frame
    track = track_selector(frame)
    track_line(frame, track)
    cells = sorted(str(c) for c in frame.runs["cell"].unique())
    counts = data.select_rows(frame, track=track)["cell"].astype(str).value_counts()
    default = sorted(cells, key=lambda c: (-counts.get(c, 0), c))[:4]
    sel = st.sidebar.multiselect("Cells", cells, default=sorted(default), key="cmp_cells")
    ts = frame.settings[frame.settings["track"] == track]  # the track's settings: presets and tasks it has
    presets = sorted(ts["preset"].unique())
    preset = st.sidebar.selectbox("Preset", presets, index=presets.index(_default_presets(presets)[0]),
                                  key="cmp_preset")
    tasks = sorted(ts.loc[ts["preset"] == preset, "task"].unique())
    task = st.sidebar.selectbox("Task", ["all tasks"] + tasks, key="cmp_task")
    if len(sel) < 2:
        st.info("Pick at least two cells in the sidebar.")
        return
    scope = _settings_of(frame, [preset], None if task == "all tasks" else [task], track)
    rows = data.select_rows(frame, settings=scope, cells=sel, track=track)
    rows = rows[rows["status"].astype(str).isin(data.RESULT_STATUSES)]
    if rows.empty:
        st.info("None of these cells has finished runs in this scope.")
        return

    st.subheader("Pairwise, on one setting")
    titles = {s: str(frame.settings.at[s, "title"]) for s in scope if s in set(rows["setting"])}
    sid = st.selectbox("Setting", list(titles), format_func=lambda s: titles[s], key="cmp_setting")
    statistic = st.radio("Show", ["P(row better than column)", "Row is (verdict)", "Holm-corrected p (paired t-test)",
                                  "Holm-corrected p (Wilcoxon)"], horizontal=True, key="cmp_stat")
    srows = rows[rows["setting"] == sid]
    present = sorted(str(c) for c in srows["cell"].unique())
    pairs = data.pairwise(frame, srows, present, track) if len(present) >= 2 else []
    heatmap(pairs, present, statistic, stats.holm)
    sizes = data.cell_sizes(rows)
    shown = [f"{c} {size_text(sizes[(sid, c)]['body_params'], sizes[(sid, c)]['state_size']) or 'size not recorded'}"
             for c in present]
    st.caption(f"Sizes on this setting (parameters without the token embedding · state size): {'; '.join(shown)}.")
    st.markdown(
        "**Method.** Each pair of cells is compared on the seeds both ran (matched pairs: same data and "
        f"initialisation seed), on the score scale, by `arena.stats.paired`. {SCORE_NOTE} "
        "**P(row better than column)** is the share of matched seeds where the row cell scores above the column "
        "cell (ties count ½). **Row is**: *better* or *worse* when the paired t-test, **Holm-corrected over all "
        "pairs in this matrix**, rejects at 0.05 (in the direction of the mean score difference, written in the "
        "tooltip), else *inconclusive*, which does not make the two equal. The p-values are the two-sided paired "
        "t-test or Wilcoxon signed-rank p-values, Holm-corrected over the same pairs; with 5 seeds the Wilcoxon "
        "test cannot go below p = 0.0625. Same statistics as `arena compare A B`.")

    if len(sel) == 2:
        st.subheader(f"{sel[0]} vs {sel[1]} on every setting")
        compare_table(data.compare_pair(frame, rows, sel[0], sel[1], track), sel[0], sel[1], sizes)

    st.subheader("Critical difference diagram")
    with st.spinner("Ranking across settings…"):
        agg = data.aggregate(frame, rows, track)
    cd_view(agg)


def compare_table(cmp: list[dict[str, Any]], a: str, b: str,
                  sizes: dict[tuple[int, str], dict[str, Any]] | None = None) -> None:
    """`arena compare A B` on every setting: values, each side's size (parameters without the
    embedding · state size), the score difference and both verdicts in words."""
    from arena.leaderboard import compare_display

    if not cmp:
        st.info(f"No setting where both {a} and {b} have runs.")
        return

    def side(value: float | None, failed: int, n: int) -> str:
        return f"failed {n}/{n}" if n and failed == n else f"{_fmt(value, '.4g')} · failed {failed}/{n}"

    def size(r: dict[str, Any], cell: str, params: int | None) -> str:
        state = (sizes or {}).get((r.get("setting_id"), cell), {}).get("state_size")
        return size_text(params, state)

    df = pd.DataFrame([{**r, **compare_display(r), "A": side(r["value_a"], r["failed_a"], r["n_a"]),
                        "B": side(r["value_b"], r["failed_b"], r["n_b"]),
                        "size A": size(r, a, r.get("params_a")), "size B": size(r, b, r.get("params_b")),
                        "P(A better) [95% CI]": _fmt(r["prob_improvement"], ".2f") + (
                            "" if r["ci_low"] is None else f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]")} for r in cmp])
    st.dataframe(df[["track", "task", "preset", "setting", "metric", "n", "A", "size A", "B", "size B",
                     "A - B [95% CI]", "A is", "p_holm", "equivalence", "p_tost_holm", "P(A better) [95% CI]"]],
                 hide_index=True, key="cmp_table")
    n = {**df["A is"].value_counts(), **df["equivalence"].value_counts()}
    st.markdown(f"**In words.** Over the {len(df)} settings shown, {a} is *better* than {b} on "
                f"{n.get('better', 0)}, *worse* on {n.get('worse', 0)} and *inconclusive* on "
                f"{n.get('inconclusive', 0)}; *equivalent* (within ±{EQUIVALENCE_MARGIN:g} score) on "
                f"{n.get('equivalent', 0)}, *different* on {n.get('different', 0)} and *not shown equivalent* on "
                f"{n.get('not shown equivalent', 0)}.")
    st.caption(f"A and B: the metric over finished runs (geometric mean for error metrics) and the failed runs; "
               f"size A and size B: parameters without the token embedding · state size. "
               f"**A - B**: the mean score difference on matched seeds with its 95 % t-interval (the differences "
               f"themselves when fewer than 5 seeds match; on the metric's own scale where a setting is not scored). "
               f"{SCORE_NOTE} **A is**: better / worse when the paired "
               f"t-test, Holm-corrected over the {len(df)} settings shown (the family: change the scope and it "
               f"changes), rejects at 0.05, else inconclusive (`p_holm`). **equivalence**: two one-sided tests "
               f"(TOST) with margin ±{EQUIVALENCE_MARGIN:g} score, Holm over the same settings (`p_tost_holm`): "
               "equivalent, different (the t-test rejects), or not shown equivalent. P(A better): share of matched "
               "seeds where A scores higher, with its percentile bootstrap interval (5 seeds or more).")


def heatmap(pairs: list[dict[str, Any]], cells: list[str], statistic: str, holm: Callable[..., list[Any]]) -> None:
    if not pairs:
        st.info("Fewer than two of the chosen cells ran this setting.")
        return
    from arena.stats import decide

    use_p, verdict = statistic.startswith("Holm"), statistic.startswith("Row is")
    raw_col = "p_wilcoxon" if "Wilcoxon" in statistic else "p_ttest"
    adjusted = holm([p.get(raw_col) for p in pairs]) if use_p or verdict else [None] * len(pairs)
    recs = []
    for p, adj in zip(pairs, adjusted):
        a, b = p["a"], p["b"]
        if use_p:
            recs += [{"row": a, "column": b, "value": adj, "n": p["n"]}, {"row": b, "column": a, "value": adj, "n": p["n"]}]
        elif verdict:
            d = p.get("mean_diff")
            for row, col, diff in ((a, b, d), (b, a, None if d is None else -d)):
                recs.append({"row": row, "column": col, "value": diff, "n": p["n"], "p (Holm)": adj,
                             "verdict": decide(diff, adj, higher_is_better=p["scored"] or p["higher_is_better"])})
        else:
            pi = p.get("prob_improvement")
            lo, hi = p.get("ci_low"), p.get("ci_high")
            recs.append({"row": a, "column": b, "value": pi, "n": p["n"],
                         "ci": "" if lo is None else f"[{lo:.2f}, {hi:.2f}]"})
            recs.append({"row": b, "column": a, "value": None if pi is None else 1 - pi, "n": p["n"],
                         "ci": "" if lo is None else f"[{1 - hi:.2f}, {1 - lo:.2f}]"})
    df = pd.DataFrame(recs)
    if use_p:
        scale, title = (alt.Scale(scheme="reds", reverse=True, domain=[0, 0.1]),
                        f"Holm-corrected p ({'Wilcoxon' if 'Wilcoxon' in statistic else 't-test'})")
    elif verdict:
        scale, title = alt.Scale(scheme="redblue", domainMid=0), "row − column (mean score)"
    else:
        scale, title = alt.Scale(scheme="redblue", domain=[0, 1]), "P(row better)"
    st.altair_chart(_matrix_chart(df, cells, scale, title, ".3g" if use_p else ".2f",
                                  "verdict" if verdict else "label"), width="stretch")


def cd_view(agg: dict[str, Any]) -> None:
    fn = agg.get("friedman")
    if not agg["rows"]:
        st.info("No ranking across settings: " + ("cells missing some settings: " + ", ".join(agg["partial"])
                                                  if agg["partial"] else "no setting in scope can be scored") + ".")
        return
    if not fn:
        st.info("A critical difference diagram needs at least 3 cells with results on at least 2 settings "
                "(Friedman test). With two cells, use the pairwise comparison above.")
        return
    st.markdown(fn["text"])
    if not fn["reject"]:
        st.info("The Friedman test does not reject, so no differences are claimed and no diagram is drawn.")
        return
    k = fn["n_cells"]
    ranks = pd.DataFrame([{"cell": c, "mean rank": fn["mean_ranks"][c]} for c in fn["order"]])
    ranks["y"] = 0.0
    groups = []
    for i, g in enumerate(fn["groups"]):
        rs = [fn["mean_ranks"][c] for c in g]
        groups.append({"from": min(rs), "to": max(rs), "y": -0.4 * (i + 1), "group": ", ".join(g)})
    x = alt.X("mean rank:Q", scale=alt.Scale(domain=[1, k]), title="mean rank (1 = best)")
    dots = alt.Chart(ranks).mark_point(filled=True, size=80, color="black").encode(x=x, y=alt.Y("y:Q", axis=None),
                                                                                  tooltip=["cell", "mean rank"])
    labels = alt.Chart(ranks).mark_text(angle=300, align="left", dx=4, dy=-6).encode(x="mean rank:Q", y="y:Q",
                                                                                  text="cell:N")
    layers = dots + labels
    if groups:
        g = pd.DataFrame(groups)
        layers += alt.Chart(g).mark_rule(strokeWidth=4, color="steelblue").encode(
            x=alt.X("from:Q"), x2="to:Q", y="y:Q", tooltip=["group"])
    cd = pd.DataFrame([{"from": 1.0, "to": 1.0 + fn["cd"], "y": 0.8, "label": f"CD = {fn['cd']:.2f}"}])
    layers += alt.Chart(cd).mark_rule(strokeWidth=2, color="firebrick").encode(x="from:Q", x2="to:Q", y="y:Q")
    layers += alt.Chart(cd).mark_text(dy=-8, color="firebrick").encode(x="from:Q", y="y:Q", text="label:N")
    st.altair_chart(layers.properties(height=220), width="stretch")
    st.caption("Cells joined by a blue bar are not significantly different (Nemenyi, after the Friedman test "
               "rejected); the red bar is the critical difference. Ranks are of the mean scores per setting "
               "(chance = 0, solved = 1, failures at −1).")


# -- Throughput ----------------------------------------------------------------------------------
def throughput_page() -> None:
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


# -- Plugins -------------------------------------------------------------------------------------
def plugins_page() -> None:
    st.title("Plugins")
    host = _host()
    url = data.db_url()
    st.sidebar.caption(f"Store: `{url}` · read-only")
    records = [r.as_dict() for r in host.plugins.values()]
    broken = [r for r in records if r["error"]]
    for r in broken:
        st.error(f"**{r['name']}** ({r['distribution']} {r['version']}) failed to load:\n\n```\n{r['error']}\n```")
    if not broken:
        st.success(f"{len(records)} plugins loaded without errors.")
    st.subheader("Installed plugins")
    st.dataframe(pd.DataFrame([{"name": r["name"], "distribution": r["distribution"], "version": r["version"],
                                "module": r["module"], "hooks": ", ".join(r["hooks"]),
                                "registered": ", ".join(r["cells"] + r["tasks"] + r["executors"]),
                                "status": "ok" if not r["error"] else "error"} for r in records]),
                 hide_index=True, key="pl_plugins")
    versions = {r["name"]: r["version"] for r in records}
    st.subheader("Cells")
    st.dataframe(pd.DataFrame([{"cell": e.name, "summary": e.info.summary, "reference": e.info.reference,
                                "cell version": e.info.version, "plugin": e.plugin,
                                "plugin version": versions.get(e.plugin, ""),
                                "options": json.dumps(dict(e.info.options), default=str),
                                "capabilities": ", ".join(e.info.capabilities)} for e in host.cells]),
                 hide_index=True, key="pl_cells")
    st.subheader("Tasks")
    st.dataframe(pd.DataFrame([{"task": e.name, "summary": e.info.summary, "reference": e.info.reference,
                                "task version": e.info.version, "plugin": e.plugin,
                                "plugin version": versions.get(e.plugin, ""),
                                "main metric": f"{e.info.main_metric} {e.info.metric(e.info.main_metric).arrow}",
                                "presets": ", ".join(e.info.presets)} for e in host.tasks]),
                 hide_index=True, key="pl_tasks")
    _stored_not_installed(url, host)


def _stored_not_installed(url: str, host: Any) -> None:
    try:
        frame = data.load_frame(data.open_readonly(url))
    except (StoreError, SQLAlchemyError):
        return
    cells = sorted({str(c) for c in frame.runs["cell"].unique()} - set(host.cells.names()))
    tasks = sorted({str(t) for t in frame.runs["task"].unique()} - set(host.tasks.names()))
    if cells or tasks:
        st.warning("The store has results of plugins that are not installed here (their results still show): "
                   + ", ".join([f"cell {c}" for c in cells] + [f"task {t}" for t in tasks]) + ".")


# -- navigation ----------------------------------------------------------------------------------
PAGES: dict[str, tuple[str, str, Callable[[], None]]] = {
    "leaderboard": ("Leaderboard", ":material/leaderboard:", leaderboard_page),
    "task": ("Task", ":material/scatter_plot:", task_page),
    "compare": ("Compare", ":material/compare_arrows:", compare_page),
    "throughput": ("Throughput", ":material/speed:", throughput_page),
    "runs": ("Runs", ":material/list:", runs_page),
    "plugins": ("Plugins", ":material/extension:", plugins_page),
}


def _config() -> None:
    try:
        st.set_page_config(page_title="arena", page_icon=":material/leaderboard:", layout="wide")
    except Exception:  # noqa: BLE001 - already configured in this run
        pass


def run_page(name: str) -> None:
    """Render one page on its own (what tests and scripts use)."""
    _config()
    PAGES[name][2]()


def main() -> None:
    """The multipage app: `streamlit run streamlit_app.py` (what `arena app` starts)."""
    _config()
    pages = [st.Page(fn, title=title, icon=icon, url_path=name, default=(name == "leaderboard"))
             for name, (title, icon, fn) in PAGES.items()]
    st.navigation(pages).run()
