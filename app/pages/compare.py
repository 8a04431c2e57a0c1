"""The Compare page: pairwise verdicts as a heatmap, two cells setting by setting, the critical-difference diagram."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import streamlit as st

from arena.app import data
from arena.leaderboard import EQUIVALENCE_MARGIN
from arena.app.pages.leaderboard import _matrix_chart
from arena.app.pages.shared import SCORE_NOTE, _default_presets, _fmt, _settings_of, context, size_text, track_line, track_selector


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
    import altair as alt  # 0.3 s to import: only where a chart is drawn

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
    import altair as alt

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
