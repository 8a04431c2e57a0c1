"""What every page shares: the page context, the track selector, the texts and tables of a board row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from arena.app import data
from arena.errors import StoreError
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
#: Above this many runs in settings whose statistics are not cached yet (about 0.2 s of them per
#: 10,000 runs), the leaderboard draws the matrix at once and computes them in the background.
BACKGROUND_BOARD_RUNS = 10_000
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
    try:
        store = data.open_readonly(url)
        st.sidebar.caption(f"Store: {data.shown(url, store)} · read-only")
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
                    f"`arena run --model gru,lstm --task copy --preset smoke --seeds 0-4"
                    f"{' --db ' + url if url else ''}`\n\n"
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
    """One matrix entry: value · score [CI] · failed k/n · verdict; 'failed n/n' when no run finished;
    the number of runs while the setting's statistics are being computed."""
    if r.get("waiting"):
        return f"{r['n']} runs · computing…"
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


def background_board(frame: data.Frame, rows: pd.DataFrame) -> data.BoardJob | None:
    """The job computing these rows' board in the background, when it is large, not cached yet
    and not done; None when the page should compute (or read) the board itself."""
    if data.uncached_runs(frame, rows) <= BACKGROUND_BOARD_RUNS:
        return None
    job = data.board_job(frame, rows)
    return None if job.done() else job


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
