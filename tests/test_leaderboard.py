"""The statistical views on real stores: tiny runs made here, and the shipped leaderboard.db."""
import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as st

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "leaderboard.db"
TINY = ("--preset", "smoke", "--set", "epochs=1", "--set", "task.n_train=64", "--set", "task.n_val=32",
        "--set", "task.n_test=64")


def log_score(mse, chance, solved=0.01):
    """counting's main metric: MSE on a log scale, chance → 0, solved (0.01) → 1, floor -1."""
    return max((math.log10(chance) - math.log10(mse)) / (math.log10(chance) - math.log10(solved)), -1.0)


@pytest.fixture
def filled(arena, db_url):
    arena("run", "-m", "gru,rnn", "-t", "counting", "--seeds", "0-5", *TINY, "--db", db_url)
    return db_url


def test_compare_matches_scipy_on_exported_values(arena, filled):
    (row,) = arena.json("compare", "gru", "rnn", "--task", "counting", "--format", "json", "--db", filled)
    runs = arena.json("export", "--db", filled)
    by = {(r["cell"], r["seed"]): r["metrics"]["mse"] for r in runs}
    chance = 20 * 0.1 * 0.9  # smoke: T = 20, density 0.1
    a = [log_score(by[("gru", s)], chance) for s in range(6)]
    b = [log_score(by[("rnn", s)], chance) for s in range(6)]
    assert row["n"] == 6 and row["metric"] == "mse" and row["scale"] == "log" and row["scored"]
    assert row["mean_a"] == pytest.approx(np.mean(a)) and row["mean_b"] == pytest.approx(np.mean(b))
    assert row["value_a"] == pytest.approx(st.gmean([by[("gru", s)] for s in range(6)]))
    assert row["p_ttest"] == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert row["p_holm"] == pytest.approx(row["p_ttest"])  # one comparison shown: Holm changes nothing
    ci = st.ttest_rel(a, b).confidence_interval()
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ci.low, ci.high))
    expected = "inconclusive" if row["p_holm"] >= 0.05 else ("better" if np.mean(a) > np.mean(b) else "worse")
    assert row["decision"] == expected
    assert row["equivalence"] in ("equivalent", "not shown equivalent", "different") and row["margin"] == 0.05
    wins = sum((x > y) + 0.5 * (x == y) for x, y in zip(a, b)) / 6
    assert row["prob_improvement"] == pytest.approx(wins) and "n_boot=2000" in row["ci_method"]
    # Swapping A and B flips the direction of everything.
    (rev,) = arena.json("compare", "rnn", "gru", "--task", "counting", "--format", "json", "--db", filled)
    assert rev["prob_improvement"] == pytest.approx(1 - row["prob_improvement"])
    assert rev["p_ttest"] == pytest.approx(row["p_ttest"])
    assert {rev["decision"], row["decision"]} in ({"inconclusive"}, {"better", "worse"})
    text = arena("compare", "gru", "rnn", "--db", filled).stdout
    assert "A is" in text and "equivalence" in text


def test_leaderboard_shows_scores_intervals_verdicts(arena, filled):
    rows = arena.json("leaderboard", "--format", "json", "--db", filled)
    assert {r["cell"] for r in rows} == {"gru", "rnn"}
    for r in rows:
        assert r["n"] == 6 and r["ci_method"] == "t (5 df)"
        lo, hi = st.t.interval(0.95, 5, loc=np.mean(r["score_values"]), scale=st.sem(r["score_values"]))
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
        assert r["verdict"] in ("leader", "worse", "inconclusive") and r["scale"] == "log"
    (leader,) = [r for r in rows if r["leader"]]
    assert leader["score"] == max(r["score"] for r in rows) and leader["rank"] == 1
    assert leader["star"] == (leader["p_vs_chance"] < 0.05 and leader["score"] > 0)
    table = arena("leaderboard", "--db", filled).stdout
    body, legend = table.split("\n\n")
    assert "score [95% CI]" in body and "tied" not in body and "inconclusive: not shown worse" in legend
    assert "\\begin{tabular}" in arena("leaderboard", "--format", "latex", "--db", filled).stdout


def test_few_seeds_show_values_and_failures_score_at_the_floor(arena, db_url):
    arena("run", "-m", "gru,rnn", "-t", "counting", "--seeds", "0-2", *TINY, "--db", db_url)
    arena("run", "-m", "mingru", "-t", "counting", "--seeds", "0-2", *TINY, "--set", "cell.mode=bogus",
          "--db", db_url, ok=False)  # every mingru run fails: the cell refuses the mode when it is built
    rows = {r["cell"]: r for r in arena.json("leaderboard", "--format", "json", "--db", db_url)}
    assert rows["gru"]["ci_low"] is None and rows["gru"]["ci_method"].startswith("none (n=3")
    assert len(rows["gru"]["score_values"]) == 3
    failed = rows["mingru[mode=bogus]"]  # a variant of mingru: named by the option it departs in
    assert failed["failed"] == 3 and failed["failure_rate"] == 1.0 and failed["all_failed"]
    assert failed["score"] == -1.0 and failed["value"] is None and not failed["leader"]
    assert failed["rank"] == 3 and all(failed["rank"] > rows[c]["rank"] for c in ("gru", "rnn"))
    table = arena("leaderboard", "--db", db_url).stdout
    line = next(line for line in table.splitlines() if " mingru[mode=bogus] " in line)
    assert "failed (3/3)" in line and "3/3" in line and "values" in table
    md = arena("export", "--format", "markdown", "--db", db_url).stdout
    assert "failed 3/3 (n=3)" in md and "(n=3)" in md


def test_aggregate_across_tasks(arena, db_url):
    for task in ("counting", "parity"):
        arena("run", "-m", "gru,rnn,lstm", "-t", task, "--seeds", "0-4", *TINY, "--db", db_url)
    agg = arena.json("leaderboard", "--aggregate", "--format", "json", "--db", db_url)
    assert sorted(r["cell"] for r in agg["rows"]) == ["gru", "lstm", "rnn"]
    assert len(agg["settings"]) == 2  # fixed anchors: a setting no cell beats chance on still counts
    for r in agg["rows"]:
        assert r["n_tasks"] == 2 and r["mean_ci_low"] <= r["mean"] <= r["mean_ci_high"]
        assert r["iqm_ci_low"] <= r["iqm"] <= r["iqm_ci_high"] and "n_boot=2000" in r["iqm_ci_method"]
        assert -1 <= r["mean"] <= 1
    # Friedman needs at least 2 settings and 3 cells: it runs, and with two blocks it cannot reject,
    # so no rank is claimed.
    assert agg["friedman"]["reject"] is False
    assert all((r["rank_low"], r["rank_high"]) == (1, 3) for r in agg["rows"])
    assert set(agg["improvement"]["gru"]) == {"lstm", "rnn"} and len(agg["profiles"]["gru"]) == len(agg["taus"])
    text = arena("leaderboard", "--aggregate", "--db", db_url).stdout
    assert "IQM [95% CI]" in text and "settings:" in text and "Probability of improvement" in text


def test_compare_without_common_runs_is_a_clear_error(arena, filled):
    res = arena("compare", "gru", "lstmm", "--db", filled, ok=False)
    assert res.exit_code == 2 and "no setting where both 'gru' and 'lstmm'" in res.stderr


def test_export_markdown_is_the_board_as_one_table(arena, filled):
    rows = {r["cell"]: r for r in arena.json("leaderboard", "--format", "json", "--db", filled)}
    text = arena("export", "--format", "markdown", "--db", filled).stdout.strip().splitlines()
    assert [c.strip() for c in text[0].strip("|").split("|")] == ["setting", "metric", "gru", "rnn"]
    assert set(text[1]) == {"|", "-"}
    assert text[3] == "" and "★ leader, shown better than chance" in text[4]  # one setting, then the legend
    entries = dict(zip(["setting", "metric", "gru", "rnn"], (v.strip() for v in text[2].strip("|").split(" | "))))
    assert entries["setting"] == "counting (smoke)" and entries["metric"] == "mse ↓"
    for cell in ("gru", "rnn"):
        assert entries[cell].split()[0] == f"{rows[cell]['value']:.3g}"
        assert ("★" in entries[cell]) == rows[cell]["star"]


# -- properties on the shipped store -----------------------------------------------------------
@pytest.fixture(scope="module")
def shipped_rows():
    from arena.leaderboard import task_board
    from arena.store import open_store

    return task_board(open_store(f"sqlite:///{SHIPPED}", write=False))


def by_setting(rows):
    out = {}
    for r in rows:
        out.setdefault((r["track"], r["task"], r["preset"], r["setting"]), []).append(r)
    return out


def test_an_all_diverged_cell_ranks_behind_every_finished_cell(shipped_rows):
    seen = 0
    for block in by_setting(shipped_rows).values():
        for dead in (r for r in block if r["all_failed"]):
            seen += 1
            assert not dead["leader"] and dead["verdict"] != "leader"
            for alive in (r for r in block if r["n_done"]):
                assert alive["rank"] < dead["rank"] and alive["score"] >= dead["score"]
    assert seen >= 2  # MoGRU diverged on every seed of counting and sparse-events


def test_no_star_where_the_leader_is_not_shown_better_than_chance(shipped_rows):
    blocks = by_setting(shipped_rows)
    for block in blocks.values():
        leaders = [r for r in block if r["leader"]]
        assert all(not r["star"] for r in block if not r["leader"])
        if not leaders:  # nothing finished on this setting: no leader, every cell shown as failed
            assert all(r["all_failed"] for r in block if r["n"])
            continue
        (leader,) = leaders
        assert leader["star"] == (leader["p_vs_chance"] is not None and leader["p_vs_chance"] < 0.05
                                  and leader["score"] > 0)
    # CWRU at noise 0.5, 1 and 2: every cell is at chance, and the board says so.
    for noise in ("noise=0.5", "noise=1", "noise=2"):
        (leader,) = [r for r in blocks[("bare", "cwru", "standard", noise)] if r["leader"]]
        assert not leader["star"]


def test_worse_means_shown_worse_after_holm(shipped_rows):
    for block in by_setting(shipped_rows).values():
        for r in block:
            if r["verdict"] == "worse":
                assert r["p_vs_leader"] < 0.05
            elif r["verdict"] == "inconclusive":
                assert r["p_vs_leader"] is None or r["p_vs_leader"] >= 0.05


def test_removing_a_cell_changes_no_other_cells_score(tmp_path):
    """Fixed anchors: deleting MARU's runs leaves every other cell's per-setting and cross-task
    scores exactly as they were (only ranks may move)."""
    from arena.across_tasks import score_table
    from arena.store import open_store

    copy = tmp_path / "board.db"
    shutil.copy(SHIPPED, copy)
    before = score_table(open_store(f"sqlite:///{copy}", write=False), track="bare")["per_cell"]
    con = sqlite3.connect(copy)
    con.execute("PRAGMA foreign_keys = ON")
    keys = [k for (k,) in con.execute("select key from runs where cell = 'maru'")]
    assert keys
    for table in ("metrics", "curves"):
        con.executemany(f"delete from {table} where run_key = ?", [(k,) for k in keys])
    con.execute("delete from runs where cell = 'maru'")
    con.commit()
    con.close()
    after = score_table(open_store(f"sqlite:///{copy}", write=False), track="bare")["per_cell"]
    assert "maru" in before and "maru" not in after
    assert after == {c: v for c, v in before.items() if c != "maru"}


def test_variants_of_a_cell_are_rows_of_one_setting(arena, db_url):
    """gru with init=aru beside plain gru: one setting, two rows that pair seed by seed."""
    arena("run", "-m", "gru,rnn", "-t", "counting", "--seeds", "0-1", *TINY, "--db", db_url)
    arena("run", "-m", "gru", "-t", "counting", "--seeds", "0-1", *TINY, "--set", "cell.init=aru", "--db", db_url)
    rows = arena.json("leaderboard", "--format", "json", "--db", db_url)
    assert sorted(r["cell"] for r in rows) == ["gru", "gru[init=aru]", "rnn"]
    assert {r["setting"] for r in rows} == {""} and sum(r["leader"] for r in rows) == 1
    (row,) = arena.json("compare", "gru[init=aru]", "gru", "--format", "json", "--db", db_url)
    assert row["n"] == 2 and row["seeds"] == [0, 1]
    # Named from the registered defaults, not from what else is stored: alone it is still the variant.
    arena("run", "-m", "gru", "-t", "adding", "--seeds", "0", *TINY, "--set", "cell.init=aru", "--db", db_url)
    assert [r["cell"] for r in arena.json("leaderboard", "--task", "adding", "--format", "json",
                                          "--db", db_url)] == ["gru[init=aru]"]
