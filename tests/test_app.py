"""The Streamlit leaderboard app (`arena app`): every page through Streamlit's AppTest on stores
filled by the real CLI, edge-case stores, read-only guarantees, and a real browser end to end."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("altair")
pytest.importorskip("pandas")

from streamlit.testing.v1 import AppTest  # noqa: E402

from .conftest import REPO, Arena, arena_exe  # noqa: E402

PAGES = ["leaderboard", "task", "compare", "throughput", "runs", "plugins"]
SCRIPT = REPO / "app" / "streamlit_app.py"


def _page(name: str) -> None:  # runs inside AppTest as a script: imports must be local
    from arena.app import views

    views.run_page(name)


def page(name: str, timeout: float = 120) -> AppTest:
    at = AppTest.from_function(_page, args=(name,), default_timeout=timeout)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def matrix(at: AppTest) -> Any:
    """The leaderboard's cells × settings matrix (a static table when small, a grid otherwise)."""
    return at.table[0].value if at.table else at.dataframe[0].value


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def everything(at: AppTest) -> str:
    """Every word a page shows: texts, tables and chart specs."""
    tables = [str(t.value.to_dict()) for t in list(at.table) + list(at.dataframe)]
    return "\n".join([texts(at), *tables, json.dumps(charts(at), ensure_ascii=False)])


def assert_no_tie_wording(at: AppTest) -> None:
    """"Inconclusive" is never "tied": no equivalence is claimed where none was shown."""
    shown = everything(at)
    assert "tied" not in shown.lower() and "tied_with_leader" not in shown and " = ★" not in shown


def assert_failed_cells_show_no_number(board: list[dict[str, Any]], at: AppTest) -> None:
    """A cell whose runs all failed reads "failed n/n" in the matrix, never a value or a score."""
    from arena.app.views import column_title

    m = matrix(at)
    for r in (r for r in board if r["all_failed"] and r["cell"] in m.index and column_title(r) in m.columns):
        assert m.at[r["cell"], column_title(r)] == f"failed {r['n']}/{r['n']}"


def table_with(at: AppTest, column: str) -> Any:
    """The first table (static or grid) of the page with this column."""
    found = [t.value for t in list(at.dataframe) + list(at.table) if column in t.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def chart_frames(chart: Any) -> list[Any]:
    """The data sets of a chart, as data frames."""
    import pyarrow as pa

    return [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]


def profile_chart(at: AppTest) -> Any:
    """The data of the across-tasks performance profile (one line per cell over score thresholds)."""
    import pyarrow as pa

    def spec(c: Any) -> str:
        return json.dumps(json.loads(c.proto.spec), ensure_ascii=False)

    found = [c for c in at.get("vega_lite_chart") if "score threshold τ" in spec(c)]
    assert found, "the performance profile is missing"
    assert '"line"' in spec(found[0]) and "share of runs above τ" in spec(found[0])
    df = pa.ipc.open_stream(found[0].proto.datasets[0].data.data).read_pandas()
    assert df["score threshold τ"].min() == -1 and df["score threshold τ"].max() == 1
    assert df["share of runs above τ"].between(0, 1).all()
    return df


@pytest.fixture(autouse=True)
def _app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARENA_APP_CACHE_DIR", str(tmp_path / "app-cache"))


def _build(path: Path, *commands: list[str]) -> str:
    url = f"sqlite:///{path}"
    arena = Arena()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)
        mp.setenv("ARENA_CACHE_DIR", str(path.parent / "cache"))
        for cmd in commands:
            arena(*cmd, "--db", url, ok=False)
    return url


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store filled by real smoke runs and a real benchmark (built once for the module)."""
    path = tmp_path_factory.mktemp("filled") / "arena.db"
    url = _build(path,
                 ["run", "-m", "gru,lstm", "-t", "copy,adding", "--preset", "smoke", "--seeds", "0-2",
                  "--set", "epochs=1"],
                 ["bench", "-m", "rnn", "--seq-len", "8,16", "--hidden", "8", "--batch", "2", "--input-size", "2",
                  "--rounds", "2"])
    with sqlite3.connect(path) as c:
        assert c.execute("select count(*) from runs where status='done'").fetchone()[0] == 12
        assert c.execute("select count(*) from throughput").fetchone()[0] >= 2
    return url


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory: pytest.TempPathFactory) -> str:
    """gru and rnn on adding twice: bare (the preset's hidden size) and matched to a 5000-parameter budget."""
    path = tmp_path_factory.mktemp("tracks") / "arena.db"
    base = ["run", "-m", "gru,rnn", "-t", "adding", "--preset", "smoke", "--set", "epochs=1", "--seeds", "0-1"]
    url = _build(path, base, [*base, "--budget", "5000"])
    with sqlite3.connect(path) as c:
        assert c.execute("select count(*) from runs where status='done'").fetchone()[0] == 8
    return url


@pytest.fixture(scope="module")
def failed_only(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Only failed runs (minGRU refuses mode 'bogus' when it is built, inside each run)."""
    path = tmp_path_factory.mktemp("failed") / "arena.db"
    return _build(path, ["run", "-m", "mingru", "-t", "copy", "--preset", "smoke", "--seeds", "0-1", "--set",
                         "cell.mode=bogus"])


def _scoreable(url: str) -> None:
    """Drop synthetic's ``seed_data`` parameter, which no task accepts: copy's and ag-news' settings
    are then scored on their plugins' anchors. The other synthetic tasks sweep parameters their
    plugins do not have, so their settings stay unscored, as a store of an unknown plugin's would."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
        c.execute("update runs set params = json_remove(params, '$.seed_data')")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> str:
    """9 cells × 100 settings × 3 seeds written straight into the schema (no training)."""
    from arena.app.synthetic import build_store

    url = f"sqlite:///{tmp_path_factory.mktemp('synthetic') / 'arena.db'}"
    build_store(url, 2700, n_cells=9, curves_every=7)
    _scoreable(url)
    return url


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> str:
    """3 cells × copy and ag-news (20 settings, all scored) × 10 seeds: enough for every interval."""
    from arena.app.synthetic import build_store

    url = f"sqlite:///{tmp_path_factory.mktemp('scored') / 'arena.db'}"
    build_store(url, 600, n_cells=3, curves_every=0, tasks=["copy", "ag-news"])
    _scoreable(url)
    return url


# -- the command -----------------------------------------------------------------------------------
def test_app_command_is_registered_through_the_hook(arena: Any) -> None:
    assert "app" in arena("--help").output
    out = arena("app", "--help").output
    assert "--db" in out and "--port" in out and "read-only" in out
    plugins = {p["name"]: p for p in arena.json("plugins", "--format", "json")}
    assert plugins["app"]["hooks"] == ["register_commands"] and plugins["app"]["error"] is None


def test_app_command_module_is_light() -> None:
    code = ("import sys, arena.app.command; "
            "print(sorted(m for m in ('streamlit', 'pandas', 'altair', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_app_command_explains_a_missing_store(arena: Any, tmp_path: Path) -> None:
    r = arena("app", "--db", f"sqlite:///{tmp_path / 'nope.db'}", ok=False)
    assert r.exit_code == 2 and "no database at" in r.output
    assert not (tmp_path / "nope.db").exists()
    r = arena("app", "--db", "not a url", ok=False)
    assert r.exit_code == 2 and "bad database URL" in r.output


def test_db_env_names_agree() -> None:
    from arena.app import command, data

    assert command.DB_ENV == data.DB_ENV
    assert command.script_path().is_file() and command.script_path().name == "streamlit_app.py"


# -- every page on a store of real runs -------------------------------------------------------------
def test_entry_script_navigates_to_the_leaderboard(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = AppTest.from_file(str(SCRIPT), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Leaderboard"


def test_leaderboard_page(filled: str, monkeypatch: pytest.MonkeyPatch, arena: Any) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("leaderboard")
    m = matrix(at)
    assert sorted(m.index) == ["gru", "lstm"]
    assert any("token_acc ↑" in c for c in m.columns) and any("mse ↓" in c for c in m.columns)
    cells = " ".join(str(v) for v in m.to_numpy().ravel())
    assert "score " in cells and "failed 0/3" in cells and "(values " in cells  # 3 seeds: no interval
    assert "leader" in cells and any(v in cells for v in ("worse", "inconclusive"))
    assert " params · state " in cells  # each cell's size beside its score
    track = at.sidebar.selectbox(key="track")  # one track: shown, and said, but nothing to pick
    assert track.options == ["bare"] and track.value == "bare" and track.disabled
    shown = texts(at)
    assert "Track: bare" in shown and "The only track in this store" in shown
    assert "inconclusive: not shown worse than the leader" in shown and "chance = 0" in shown
    assert_no_tie_wording(at)
    assert at.get("download_button"), "CSV download"
    # The numbers are arena's own: the same as `arena leaderboard --format json`.
    cli = {(r["task"], r["cell"]): r for r in arena.json("leaderboard", "--format", "json", "--db", filled)}
    from arena.app import data
    from arena.app.views import entry_text

    store = data.open_readonly(filled)
    board = data.board(data.load_frame(store), data.load_frame(store).runs)
    assert len(board) == len(cli) == 4
    for r in board:
        c = cli[(r["task"], r["cell"])]
        for k in ("value", "score", "score_std", "ci_low", "ci_high", "n", "n_done", "rank", "leader", "star",
                  "verdict", "failed", "diverged", "all_failed", "scored", "p_vs_leader", "solved", "scale",
                  "track", "body_params", "width", "state_size"):
            assert r[k] == pytest.approx(c[k]) if isinstance(c[k], float) else r[k] == c[k], k
        assert r["body_params"] and r["state_size"] and r["size"] in entry_text(r)
        assert r["scored"] and entry_text(r) in cells
        assert ("★" in entry_text(r)) == (r["leader"] and r["star"])
    # Across tasks: mean, IQM, ranks with the rank interval, P(X > Y), the performance profile.
    assert "clipped to [−1, 1]" in shown and "No score depends on which cells are shown" in shown
    assert "rank [CD]" in shown and "Probability of improvement" in shown
    agg = table_with(at, "rank [CD]")
    assert list(agg.columns[:6]) == ["cell", "mean score [95% CI]", "IQM [95% CI]", "mean rank", "rank [CD]", "failed k/n"]
    assert set(agg["rank [CD]"]) == {"1–2"}  # two cells: no Friedman test, no order claimed
    assert set(profile_chart(at)["cell"]) == {"gru", "lstm"}
    # Filters: one task, and a plugin that registered no stored cell.
    at.multiselect(key="lb_tasks").set_value(["copy"]).run()
    assert not at.exception
    assert all("copy" in c for c in matrix(at).columns)
    at.multiselect(key="lb_plugins").set_value([]).run()
    assert "No runs match these filters" in texts(at)


def test_leaderboard_csv_matches_the_board(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd
    from io import StringIO

    from arena.app import data, views

    monkeypatch.setenv("ARENA_APP_DB", filled)
    store = data.open_readonly(filled)
    frame = data.load_frame(store)
    board = data.board(frame, frame.runs)
    df = pd.read_csv(StringIO(views.csv_text(board)))
    assert list(df.columns[:8]) == ["track", "task", "preset", "setting", "cell", "body_params", "width", "state_size"]
    assert set(df["track"]) == {"bare"} and df["body_params"].tolist() == [r["body_params"] for r in board]
    assert sorted(df["cell"]) == ["gru", "gru", "lstm", "lstm"]
    assert df["value"].tolist() == pytest.approx([r["value"] for r in board])
    assert df["score"].tolist() == pytest.approx([r["score"] for r in board])
    assert df["failed"].tolist() == [r["failed"] for r in board] and "verdict" in df.columns
    assert not any("tied" in c for c in df.columns)


def test_task_page(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("task")
    assert at.sidebar.selectbox(key="task_task").value == "adding"
    specs = charts(at)
    assert len(specs) >= 2  # per-seed dots with CIs, learning curves
    seeds = json.dumps(specs[0], ensure_ascii=False)
    assert "ci_low" in seeds and "score (chance = 0, solved = 1)" in seeds
    assert "solved 0.01 → score 1 on a log scale" in texts(at)  # adding: MSE, an error metric
    assert set(table_with(at, "score [95% CI]")["cell"]) == {"gru", "lstm"}
    assert at.selectbox(key="task_curve").value == "val_mse"
    at.sidebar.selectbox(key="task_task").set_value("copy").run()
    assert not at.exception and at.selectbox(key="task_curve").value == "val_token_acc"
    assert "token_acc" in texts(at)
    assert_no_tie_wording(at)


def test_task_page_slices_by_parameter(synthetic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", synthetic)
    at = page("task")
    at.sidebar.selectbox(key="task_task").set_value("interference").run()
    assert not at.exception
    assert at.selectbox(key="task_slice").value == "distractors"
    assert any("distractors" in json.dumps(s) for s in charts(at))
    # The plugin has no "distractors" parameter: the stored chance and the metric's own solved level score it.
    assert "not scored" not in texts(at)
    at.selectbox(key="task_setting").select_index(3).run()
    assert not at.exception
    at.sidebar.selectbox(key="task_task").set_value("copy").run()  # scored: the slice is on the score scale
    assert not at.exception and any("mean score (chance = 0, solved = 1)" in json.dumps(s, ensure_ascii=False)
                                    for s in charts(at))


def test_compare_page(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("compare")
    assert sorted(at.sidebar.multiselect(key="cmp_cells").value) == ["gru", "lstm"]
    assert "Holm-corrected over all pairs" in texts(at)
    assert charts(at), "the pairwise heatmap"
    assert "gru vs lstm on every setting" in texts(at)
    table = table_with(at, "A is")
    assert {"A", "B", "A - B [95% CI]", "A is", "equivalence", "p_holm"} <= set(table.columns)
    assert set(table["A is"]) <= {"better", "worse", "inconclusive"} and len(table) == 2
    assert set(table["equivalence"]) <= {"equivalent", "not shown equivalent", "different"}
    assert all("(values " in d for d in table["A - B [95% CI]"])  # 3 seeds: the differences, no interval
    assert all("failed 0/3" in v for v in list(table["A"]) + list(table["B"]))
    shown = texts(at)
    assert "Holm-corrected over the 2 settings shown" in shown and "Over the 2 settings shown, gru is" in shown
    assert_no_tie_wording(at)
    at.radio(key="cmp_stat").set_value("Row is (verdict)").run()
    assert not at.exception and "row − column (mean score)" in json.dumps(charts(at)[0], ensure_ascii=False)
    at.radio(key="cmp_stat").set_value("Holm-corrected p (Wilcoxon)").run()
    assert not at.exception
    assert "Holm-corrected p" in json.dumps(charts(at)[0])
    at.sidebar.multiselect(key="cmp_cells").set_value(["gru"]).run()
    assert "at least two cells" in texts(at)


def test_compare_page_draws_a_critical_difference_diagram(synthetic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", synthetic)
    at = page("compare")
    at.sidebar.multiselect(key="cmp_cells").set_value(["gru", "lstm", "rnn", "mingru", "aru"]).run()
    assert not at.exception
    text = texts(at)
    assert "Friedman test over" in text and "so the cells differ" in text
    assert "the red bar is the critical difference" in text  # the caption under the drawn diagram
    assert len(charts(at)) == 2  # heatmap and CD diagram


def test_across_tasks_states_every_interval(scored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", scored)
    at = page("leaderboard")
    shown = texts(at)
    entries = " ".join(str(v) for v in matrix(at).to_numpy().ravel())
    assert "score " in entries and "] · failed " in entries and "(values " not in entries  # 10 seeds: intervals
    agg = table_with(at, "rank [CD]")
    assert len(agg) == 3 and all("[" in v for v in list(agg["mean score [95% CI]"]) + list(agg["IQM [95% CI]"]))
    assert "Mean score: t, Welch–Satterthwaite" in shown
    assert "stratified percentile bootstrap over runs within tasks (n_boot=2000)" in shown  # the resamples stated
    assert "Friedman test over 10 blocks × 3 cells" in shown and "rank [CD]** is the range of ranks" in shown
    assert "stratified percentile bootstrap (n_boot=2000)" in shown  # P(row > column)
    assert any("P(row > column)" in c.proto.spec for c in at.get("vega_lite_chart"))
    prof = profile_chart(at)
    assert set(prof["cell"]) == set(agg["cell"]) and len(prof) == 41 * 3
    assert_no_tie_wording(at)
    # The task page: every cell with its interval bar (10 seeds).
    at = page("task")
    at.sidebar.selectbox(key="task_task").set_value("ag-news").run()
    assert not at.exception and "chance 0.25 → score 0, solved 1 → score 1" in texts(at)
    board = table_with(at, "score [95% CI]")
    assert all(v.count("[") == 1 for v in board["score [95% CI]"])


def _tracks_shown(at: AppTest) -> set[str]:
    """The tracks of every table on the page that has a track column."""
    return {str(t) for tab in list(at.dataframe) + list(at.table) if "track" in tab.value.columns
            for t in tab.value["track"]}


def test_tracks_are_shown_one_at_a_time(two_tracks: str, monkeypatch: pytest.MonkeyPatch, arena: Any) -> None:
    """Two tracks in one store: the selector lists both (matched first); each page shows the track
    picked and says so; no table, heatmap or aggregate pools the two; sizes sit beside scores."""
    from arena.app import data
    from arena.app.views import entry_text

    monkeypatch.setenv("ARENA_APP_DB", two_tracks)
    store = data.open_readonly(two_tracks)
    frame = data.load_frame(store)
    assert frame.tracks == ["matched", "bare"]
    assert sorted(frame.settings["track"]) == ["bare", "matched"]  # one setting per track, never shared
    cli = {t: arena.json("leaderboard", "--format", "json", "--track", t, "--db", two_tracks) for t in frame.tracks}
    boards = {t: data.board(frame, data.select_rows(frame, track=t)) for t in frame.tracks}
    for t, board in boards.items():  # the fast path is `arena leaderboard --track T`, sizes included
        assert len(board) == len(cli[t]) == 2 and {r["track"] for r in board} == {t}
        for r, c in zip(board, cli[t]):
            for k in ("track", "cell", "body_params", "width", "state_size", "value", "score", "rank", "verdict"):
                assert r[k] == pytest.approx(c[k]) if isinstance(c[k], float) else r[k] == c[k], (t, k)
            assert r["body_params"] and r["state_size"] and " params · state " in r["size"]
    matched = {r["cell"]: r["body_params"] for r in boards["matched"]}
    assert all(abs(v - 5000) <= 0.05 * 5000 for v in matched.values())  # sized to the budget
    assert {r["cell"]: r["body_params"] for r in boards["bare"]} != matched
    digests = {data.rows_hash(frame, frame.setting_rows(s), "board", frame.settings.at[s, "track"])
               for s in frame.settings.index}
    assert len(digests) == 2  # the two tracks' settings never share a cache entry
    # The whole board, track by track, equals `arena leaderboard` (every track, in order).
    every = [{k: v for k, v in r.items() if k != "setting_id"} for r in data.board(frame, frame.runs)]
    assert [(r["track"], r["cell"]) for r in every] == [(r["track"], r["cell"])
                                                       for r in arena.json("leaderboard", "--format", "json",
                                                                           "--db", two_tracks)]

    # Leaderboard: matched first; switching the track changes every entry; never both at once.
    at = page("leaderboard")
    sel = at.sidebar.selectbox(key="track")
    assert sel.options == ["matched", "bare"] and sel.value == "matched" and not sel.disabled
    for track, other in (("matched", "bare"), ("bare", "matched")):
        if track != sel.value:
            at.sidebar.selectbox(key="track").set_value(track).run()
            assert not at.exception
        shown = texts(at)
        assert f"Track: {track}" in shown and f"Other tracks in this store: {other}" in shown
        assert f"Track **{track}** only" in shown  # the aggregate says which track it is
        entries = " ".join(str(v) for v in matrix(at).to_numpy().ravel())
        assert matrix(at).shape == (2, 1)  # one column: the track's one setting, not one per track
        assert all(entry_text(r) in entries for r in boards[track])
        assert not any(r["size"] in entries for r in boards[other])  # no entry of the other track
        agg = table_with(at, "rank [CD]")
        assert set(agg["n_runs"]) == {2} and set(agg["n_tasks"]) == {1}  # 2 seeds of one setting: not pooled
        assert _tracks_shown(at) == {track}
        from io import StringIO

        import pandas as pd
        from arena.app import views

        csv = pd.read_csv(StringIO(views.csv_text(data.board(frame, data.select_rows(frame, track=track)))))
        assert set(csv["track"]) == {track}
    assert at.session_state["track_choice"] == "bare"  # the choice the next page starts from
    # A link picks the track (/?track=bare), and another page starts on the track last picked.
    at = AppTest.from_function(_page, args=("leaderboard",), default_timeout=120)
    at.query_params["track"] = "bare"
    at.run()
    assert not at.exception and at.sidebar.selectbox(key="track").value == "bare"
    at = AppTest.from_function(_page, args=("compare",), default_timeout=120)
    at.session_state["track_choice"] = "bare"
    at.run()
    assert not at.exception and at.sidebar.selectbox(key="track").value == "bare"

    # Task: the board of the track, with its sizes; the per-seed chart of that track's runs only.
    at = page("task")
    assert at.sidebar.selectbox(key="track").value == "matched"
    for track in ("matched", "bare"):
        if at.sidebar.selectbox(key="track").value != track:
            at.sidebar.selectbox(key="track").set_value(track).run()
            assert not at.exception
        assert f"Track: {track}" in texts(at)
        table = table_with(at, "score [95% CI]")
        assert set(table["track"]) == {track} and len(table) == 2
        assert sorted(table["size"]) == sorted(r["size"] for r in boards[track])
        assert _tracks_shown(at) == {track}
        means = chart_frames(at.get("vega_lite_chart")[0])  # the per-seed chart: its means carry the size
        assert any("size" in df.columns and sorted(df["size"]) == sorted(table["size"]) for df in means)

    # Compare: one row per setting of the track (never one per track), each side's size beside it.
    at = page("compare")
    assert sorted(at.sidebar.multiselect(key="cmp_cells").value) == ["gru", "rnn"]
    for track in ("matched", "bare"):
        if at.sidebar.selectbox(key="track").value != track:
            at.sidebar.selectbox(key="track").set_value(track).run()
            assert not at.exception
        shown = texts(at)
        assert f"Track: {track}" in shown and "Holm-corrected over the 1 settings shown" in shown
        table = table_with(at, "A is")
        assert len(table) == 1 and set(table["track"]) == {track}
        size = {r["cell"]: r["size"] for r in boards[track]}
        assert table["size A"].iloc[0] == size["gru"] and table["size B"].iloc[0] == size["rnn"]
        assert f"gru {size['gru']}; rnn {size['rnn']}" in shown  # beside the heatmap
        assert _tracks_shown(at) == {track}
    assert_no_tie_wording(at)


def test_throughput_page(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("throughput")
    specs = charts(at)
    assert len(specs) >= 2
    assert '"type": "log"' in json.dumps(specs[0])
    table = at.dataframe[0].value
    assert {"rnn", "gru"} <= set(table["model"]) and table["device_label"].nunique() == 1
    assert {"peak_mem_bytes", "state_bytes", "ratio_to_baseline"} <= set(table.columns)
    assert at.sidebar.checkbox(key="tp_compare").value is False


def test_runs_page(filled: str, monkeypatch: pytest.MonkeyPatch, arena: Any) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("runs")
    assert len(at.dataframe[0].value) == 12
    key = at.selectbox(key="runs_key").value
    shown = arena.json("show", key, "--db", filled)
    assert shown["reproduce"] in [c.value for c in at.code]
    at.text_input(key="runs_search").input("lstm").run()
    assert set(at.dataframe[0].value["cell"]) == {"lstm"}
    # Search text is a bound, escaped LIKE pattern: SQL or wildcards in it match literally.
    at.text_input(key="runs_search").input("%").run()
    assert "No run matches" in texts(at)
    at.text_input(key="runs_search").input("x'; DROP TABLE runs; --").run()
    assert not at.exception and "No run matches" in texts(at)
    with sqlite3.connect(filled.removeprefix("sqlite:///")) as c:
        assert c.execute("select count(*) from runs").fetchone()[0] == 12


def test_plugins_page(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", filled)
    at = page("plugins")
    plugins, cells, tasks = (d.value for d in at.dataframe[:3])
    assert "app" in set(plugins["name"]) and "builtin-cells" in set(plugins["name"])
    assert {"gru", "lstm"} <= set(cells["cell"]) and "reference" in cells.columns
    assert "copy" in set(tasks["task"]) and "token_acc ↑" in set(tasks["main metric"])
    assert "without errors" in texts(at)


# -- edge-case stores ------------------------------------------------------------------------------
def test_every_page_on_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arena.store import open_store

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    monkeypatch.setenv("ARENA_APP_DB", url)
    for name in PAGES:
        at = page(name)
        if name == "plugins":
            continue
        msg = texts(at)
        assert "empty" in msg or "No benchmark rows" in msg, (name, msg)
        assert "arena " in msg  # says what to run


def test_every_page_on_a_store_of_failed_runs(failed_only: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", failed_only)
    for name in PAGES:
        page(name)
    at = page("leaderboard")
    assert "failed or diverged" in texts(at) and at.warning
    assert matrix(at).to_numpy().ravel().tolist() == ["failed 2/2"]  # failed, not a number
    from arena.app import data

    frame = data.load_frame(data.open_readonly(failed_only))
    board = data.board(frame, frame.runs)
    assert [(r["all_failed"], r["leader"], r["verdict"]) for r in board] == [(True, False, "failed")]
    assert_failed_cells_show_no_number(board, at)
    assert_no_tie_wording(at)
    at = page("runs")
    assert at.error and "Traceback" in texts(at)
    at = page("compare")
    assert "Pick at least two cells" in texts(at)


def test_every_page_on_a_store_of_an_older_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arena.store import open_store

    path = tmp_path / "old.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as c:  # as if written before migration m003
        c.execute("delete from _arena_migrations where name = 'm003_chance'")
    before = path.read_bytes()
    monkeypatch.setenv("ARENA_APP_DB", f"sqlite:///{path}")
    for name in PAGES[:-1]:
        at = page(name)
        assert "older schema" in texts(at), name
    assert path.read_bytes() == before


def test_every_page_without_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_APP_DB", f"sqlite:///{tmp_path / 'missing.db'}")
    for name in PAGES:
        at = page(name)
        if name != "plugins":
            assert "No store yet" in texts(at)
    assert not (tmp_path / "missing.db").exists()


def test_a_file_that_is_not_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "junk.db"
    path.write_text("not a database")
    monkeypatch.setenv("ARENA_APP_DB", f"sqlite:///{path}")
    at = page("leaderboard")
    assert at.error and "corrupt" in texts(at)


# -- read-only and caching -------------------------------------------------------------------------
def _fingerprint(path: Path) -> tuple[Any, ...]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        tables = [r[0] for r in c.execute("select name from sqlite_master where type='table' order by name")]
        sums = {t: hashlib.sha256(repr(c.execute(f'select * from "{t}" order by 1, 2').fetchall()).encode()).hexdigest()
                for t in tables}
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, sums


def test_no_page_changes_the_store(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(filled.removeprefix("sqlite:///"))
    before = _fingerprint(path)
    monkeypatch.setenv("ARENA_APP_DB", filled)
    for name in PAGES:
        at = page(name)
        for w in list(at.multiselect) + list(at.selectbox):  # touch every choice widget once
            if getattr(w, "options", None) and not w.disabled:
                w.set_value(w.value).run()
    at = page("runs")
    at.text_input(key="runs_search").input("gru'); DELETE FROM runs; --").run()
    at = page("leaderboard")
    at.sidebar.multiselect(key="lb_tasks").set_value(["adding"]).run()
    assert _fingerprint(path) == before


def test_the_app_sees_new_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _build(tmp_path / "grow.db", ["run", "-m", "gru", "-t", "copy", "--preset", "smoke", "--seeds", "0",
                                        "--set", "epochs=1"])
    monkeypatch.setenv("ARENA_APP_DB", url)
    at = page("leaderboard")
    assert "failed 0/1" in " ".join(map(str, matrix(at).to_numpy().ravel()))
    _build(tmp_path / "grow.db", ["run", "-m", "gru", "-t", "copy", "--preset", "smoke", "--seeds", "1",
                                  "--set", "epochs=1"])
    at.run()
    assert "failed 0/2" in " ".join(map(str, matrix(at).to_numpy().ravel()))


def test_fast_path_equals_arena_leaderboard(synthetic: str) -> None:
    """The app's one-query loading and per-setting cache give exactly task_board and aggregate_board."""
    from arena.app import data
    from arena.leaderboard import aggregate_board, task_board

    store = data.open_readonly(synthetic)
    frame = data.load_frame(store)
    rows = data.select_rows(frame, settings=[s for s in frame.settings.index if frame.settings.at[s, "task"]
                                             in ("copy", "parity")])
    got = [{k: v for k, v in r.items() if k != "setting_id"} for r in data.board(frame, rows)]
    ref = task_board(store, task="copy") + task_board(store, task="parity")
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(ref, sort_keys=True, default=str)
    data.clear_memory()  # from the JSON files now
    again = [{k: v for k, v in r.items() if k != "setting_id"} for r in data.board(frame, rows)]
    assert json.dumps(again, sort_keys=True, default=str) == json.dumps(ref, sort_keys=True, default=str)
    agg = data.aggregate(frame, data.select_rows(frame, settings=[s for s in frame.settings.index
                                                                  if frame.settings.at[s, "task"] == "copy"]))
    assert json.dumps(agg, sort_keys=True, default=str) == json.dumps(
        json.loads(json.dumps(aggregate_board(store, task="copy"), default=str)), sort_keys=True, default=str)


def test_a_large_board_fills_in_from_the_background(synthetic: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """A board whose statistics are not cached, over more runs than BACKGROUND_BOARD_RUNS: the
    matrix is drawn at once with each cell's number of runs, a background job computes the
    statistics, and the next render shows the same board as one computed in place."""
    import re

    from arena.app import data
    from arena.app.pages import shared

    monkeypatch.setenv("ARENA_APP_DB", synthetic)
    monkeypatch.setattr(shared, "BACKGROUND_BOARD_RUNS", 100)
    data.clear_memory()  # other tests computed this store's boards (their files are elsewhere)
    at = page("leaderboard")
    first = matrix(at)
    entries = [str(v) for v in first.to_numpy().ravel() if str(v)]
    assert entries and all(re.fullmatch(r"\d+ runs · computing…", v) for v in entries), entries[:5]
    assert "in the background" in texts(at) and not at.get("download_button")
    assert data.wait_for_jobs(timeout=300)
    at.run()
    assert not at.exception
    done = matrix(at)
    text = " ".join(str(v) for v in done.to_numpy().ravel())
    assert "computing…" not in text and "leader" in text and at.get("download_button")
    assert list(done.columns) == list(first.columns) and sorted(done.index) == sorted(first.index)
    frame = data.load_frame(data.open_readonly(synthetic))
    rows = data.select_rows(frame, settings=[s for s in frame.settings.index
                                             if frame.settings.at[s, "preset"] != "smoke"])
    from_job = data.board(frame, rows)
    monkeypatch.setenv("ARENA_APP_CACHE_DIR", str(tmp_path / "fresh"))
    data.clear_memory()
    assert json.dumps(from_job, sort_keys=True) == json.dumps(data.board(frame, rows), sort_keys=True)


def test_revision_changes_when_a_run_finishes(tmp_path: Path) -> None:
    from arena.app import data
    from arena.store import open_store

    url = f"sqlite:///{tmp_path / 'rev.db'}"
    open_store(url).close()
    store = data.open_readonly(url)
    r0 = data.revision(store)
    assert data.revision(store) == r0
    w = open_store(url)
    env = w.save_environment({"arena": "test"})
    with w.engine.begin() as conn:
        from arena.store import schema

        conn.execute(schema.runs.insert().values(
            key="b2:x", cell="gru", task="copy", preset="smoke", seed=0, status="running", cell_version="1",
            task_version="1", cell_options="{}", params="{}", train="{}", spec="{}", main_metric="token_acc",
            directions='{"token_acc":true}', chance='{"token_acc":0.1}', data_seed="0", init_seed="0",
            env_id=env, created_at="2025-01-01T00:00:00+00:00"))
    r1 = data.revision(store)
    w.finish_run("b2:x", status="done", metrics={"test": {"token_acc": 0.5}})
    r2 = data.revision(store)
    assert len({r0, r1, r2}) == 3
    w.close()


# -- a real browser (about 15 s) --------------------------------------------------------------------
def test_browser_shows_the_leaderboard(filled: str, tmp_path: Path) -> None:
    from arena.app.browser import Browser, find_chromium, free_port, wait_http

    if find_chromium() is None:
        why = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":  # CI must run the app in a real browser, not pass without it
            pytest.fail(why)
        pytest.skip(why)
    port = free_port()
    env = {**os.environ, "ARENA_APP_CACHE_DIR": str(tmp_path / "app-cache")}
    proc = subprocess.Popen([arena_exe(), "app", "--db", filled, "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_http(f"http://localhost:{port}/_stcore/health", timeout=90)
        with Browser(1400, 1000) as b:
            b.get(f"http://localhost:{port}/")
            text = b.wait_for_text("Leaderboard", "Cells × tasks", "gru", "lstm", "Across tasks",
                                   "Performance profile", timeout=120)
            assert "copy · smoke (token_acc ↑)" in text and "adding · smoke (mse ↓)" in text
            assert "failed 0/3" in text and "leader" in text and "rank [CD]" in text
            assert "tied" not in text.lower()
            shot = b.screenshot(tmp_path / "leaderboard.png")
            data = shot.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
            b.get(f"http://localhost:{port}/runs")
            # Wait for both: the heading renders before the code block under it.
            assert "arena run --model" in b.wait_for_text("Reproduce it", "arena run --model", timeout=120)
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out[-3000:]


def test_pages_on_postgresql_are_read_only(postgres: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from arena.app import data

    url = postgres.create_database(f"arena_app_{os.getpid()}_{time.monotonic_ns()}")
    monkeypatch.chdir(tmp_path)
    Arena()("run", "-m", "gru,lstm", "-t", "copy", "--preset", "smoke", "--seeds", "0-1", "--set", "epochs=1",
            "--db", url)
    monkeypatch.setenv("ARENA_APP_DB", url)
    for name in PAGES:
        page(name)
    assert sorted(matrix(page("leaderboard")).index) == ["gru", "lstm"]
    store = data.open_readonly(url)
    with pytest.raises(DBAPIError, match="read-only"):
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM runs"))
    assert len(data.search_runs(store)[1]) == 4


def test_the_default_store_is_yours_with_the_shipped_board(filled: str, monkeypatch: pytest.MonkeyPatch,
                                                           arena: Any, tmp_path: Path) -> None:
    """Without --db the app reads the user's store and the shipped board as one, marking the
    board's runs; the board is never written."""
    from arena.app import data

    board = Path(filled.removeprefix("sqlite:///"))
    before = board.read_bytes()
    monkeypatch.delenv("ARENA_APP_DB", raising=False)
    monkeypatch.setenv("ARENA_BOARD", str(board))
    arena("run", "-m", "rnn", "-t", "adding", "--preset", "smoke", "--seeds", "0", "--set", "epochs=1")
    data.forget("")
    at = page("runs")
    runs = at.dataframe[0].value
    assert len(runs) == 13 and dict(zip(runs["cell"], runs["shipped"]))["rnn"] == False  # noqa: E712
    assert runs["shipped"].sum() == 12
    assert "with the shipped board" in " ".join(str(c.value) for c in at.sidebar.caption)
    lb = page("leaderboard")
    assert "rnn" in texts(lb) or any("rnn" in str(d.value) for d in lb.dataframe)
    assert board.read_bytes() == before
