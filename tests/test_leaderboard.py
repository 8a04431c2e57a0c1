"""The statistical views on a real store filled by real (tiny) runs."""
import pytest
import scipy.stats as st

TINY = ("--preset", "smoke", "--set", "epochs=1", "--set", "task.n_train=64", "--set", "task.n_val=32",
        "--set", "task.n_test=64")


@pytest.fixture
def filled(arena, db_url):
    arena("run", "-m", "gru,rnn", "-t", "counting", "--seeds", "0-5", *TINY, "--db", db_url)
    return db_url


def test_compare_matches_scipy_on_exported_values(arena, filled):
    (row,) = arena.json("compare", "gru", "rnn", "--task", "counting", "--format", "json", "--db", filled)
    runs = arena.json("export", "--db", filled)
    by = {(r["cell"], r["seed"]): r["metrics"]["mse"] for r in runs}
    a = [by[("gru", s)] for s in range(6)]
    b = [by[("rnn", s)] for s in range(6)]
    assert row["n"] == 6 and row["metric"] == "mse" and row["higher_is_better"] is False
    assert row["mean_a"] == pytest.approx(sum(a) / 6) and row["mean_b"] == pytest.approx(sum(b) / 6)
    assert row["p_ttest"] == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert row["p_wilcoxon"] == pytest.approx(st.wilcoxon(a, b).pvalue)
    assert row["p_holm"] == pytest.approx(row["p_wilcoxon"])  # one comparison shown: Holm changes nothing
    wins = sum((x < y) + 0.5 * (x == y) for x, y in zip(a, b)) / 6  # lower MSE is better
    assert row["prob_improvement"] == pytest.approx(wins)
    assert {"effect_size", "ci_low", "ci_high", "task"} <= set(row)
    # Swapping A and B flips the direction of everything.
    (rev,) = arena.json("compare", "rnn", "gru", "--task", "counting", "--format", "json", "--db", filled)
    assert rev["prob_improvement"] == pytest.approx(1 - row["prob_improvement"])
    assert rev["p_ttest"] == pytest.approx(row["p_ttest"])


def test_leaderboard_shows_cis_ranks_and_ties(arena, filled):
    rows = arena.json("leaderboard", "--format", "json", "--db", filled)
    assert {r["cell"] for r in rows} == {"gru", "rnn"}
    for r in rows:
        assert r["n"] == 6 and r["ci_method"].startswith("percentile bootstrap")
        assert r["ci_low"] <= r["mean"] <= r["ci_high"]
        assert 1 <= r["rank_low"] <= r["rank"] <= r["rank_high"] <= 2
    leader = next(r for r in rows if r["leader"])
    assert leader["tied_with_leader"] and leader["mean"] == min(r["mean"] for r in rows)  # MSE: lower is better
    table = arena("leaderboard", "--db", filled).stdout
    assert "★" in table and "rank [95%]" in table
    assert "\\begin{tabular}" in arena("leaderboard", "--format", "latex", "--db", filled).stdout


def test_few_seeds_show_min_max_and_failures_count_at_chance(arena, db_url):
    arena("run", "-m", "gru", "-t", "counting", "--seeds", "0-2", *TINY, "--db", db_url)
    arena("run", "-m", "mingru", "-t", "counting", "--seeds", "0-2", *TINY, "--set", "cell.mode=bogus",
          "--db", db_url, ok=False)  # every mingru run fails: the cell refuses the mode when it is built
    rows = {r["cell"]: r for r in arena.json("leaderboard", "--format", "json", "--db", db_url)}
    assert rows["gru"]["ci_method"] == "min-max (n<5)"
    lstm = rows["mingru"]
    assert lstm["failed"] == 3 and lstm["failure_rate"] == 1.0
    assert lstm["mean"] == pytest.approx(lstm["chance"]) and lstm["chance"] == pytest.approx(20 * 0.1 * 0.9)


def test_aggregate_across_tasks(arena, db_url):
    for task in ("counting", "parity"):
        arena("run", "-m", "gru,rnn,lstm", "-t", task, "--seeds", "0-2", *TINY, "--db", db_url)
    agg = arena.json("leaderboard", "--aggregate", "--format", "json", "--db", db_url)
    assert sorted(r["cell"] for r in agg["rows"]) == ["gru", "lstm", "rnn"]
    assert len(agg["settings"]) <= 2 and agg["settings"]
    for r in agg["rows"]:
        assert r["n_tasks"] == len(agg["settings"]) and r["iqm_ci_low"] <= r["iqm"] <= r["iqm_ci_high"]
        assert 1 <= r["rank_low"] <= r["rank_high"] <= 3
    text = arena("leaderboard", "--aggregate", "--db", db_url).stdout
    assert "IQM [95% CI]" in text and "settings:" in text


def test_compare_without_common_runs_is_a_clear_error(arena, filled):
    res = arena("compare", "gru", "lstmm", "--db", filled, ok=False)
    assert res.exit_code == 2 and "no setting where both 'gru' and 'lstmm'" in res.stderr


def test_export_markdown_is_the_board_as_one_table(arena, filled):
    rows = {r["cell"]: r for r in arena.json("leaderboard", "--format", "json", "--db", filled)}
    text = arena("export", "--format", "markdown", "--db", filled).stdout.strip().splitlines()
    assert text[0] == "| setting | metric | gru | rnn |" and text[1] == "|---|---|---|---|"
    assert len(text) == 3  # one setting
    entries = dict(zip(["setting", "metric", "gru", "rnn"], (v.strip() for v in text[2].strip("|").split(" | "))))
    assert entries["setting"] == "counting (smoke)" and entries["metric"] == "mse ↓"
    for cell in ("gru", "rnn"):
        assert entries[cell].split()[0] == f"{rows[cell]['mean']:.3g}"
        assert ("★" in entries[cell]) == rows[cell]["leader"]
