"""arena.stats on fixed data: agreement with SciPy, hand computations and edge cases.

The comparisons against rliable, autorank and statsmodels live in test_stats_oracles.py.
"""
import inspect
import math

import numpy as np
import pytest
from scipy import stats as st

import arena.stats as S

# Five seeds of two cells on one task (copy accuracy, higher is better), matched by seed.
A = [0.350, 0.338, 0.361, 0.347, 0.352]
B = [0.221, 0.310, 0.120, 0.255, 0.199]


# -- summarise ------------------------------------------------------------------------------
def test_summarise_moments_and_bootstrap_ci_match_scipy():
    x = [0.31, 0.35, 0.29, 0.40, 0.33, 0.37, 0.30]
    s = S.summarise(x)
    assert s["n"] == 7 and s["mean"] == pytest.approx(np.mean(x)) and s["median"] == 0.33
    assert s["std"] == pytest.approx(np.std(x, ddof=1)) and (s["min"], s["max"]) == (0.29, 0.40)
    assert s["ci_method"] == "percentile bootstrap (n_boot=10000)"
    rng_kw = "rng" if "rng" in inspect.signature(st.bootstrap).parameters else "random_state"
    ref = st.bootstrap((np.array(x),), np.mean, method="percentile", n_resamples=10_000,
                       **{rng_kw: np.random.default_rng(1)}).confidence_interval
    width = ref.high - ref.low
    # Different random streams: endpoints agree to within a few % of the CI width.
    assert abs(s["ci_low"] - ref.low) < 0.05 * width and abs(s["ci_high"] - ref.high) < 0.05 * width
    assert s["ci_low"] < s["mean"] < s["ci_high"]


def test_summarise_is_reproducible_and_seeded():
    x = np.random.default_rng(5).normal(size=9)
    assert S.summarise(x) == S.summarise(list(x))
    assert S.summarise(x, seed=1) != S.summarise(x, seed=2)


@pytest.mark.parametrize("x", [[0.5, 0.7], [0.1, 0.2, 0.3, 0.9]])
def test_summarise_fewer_than_five_seeds_shows_min_max(x):
    s = S.summarise(x)
    assert s["ci_method"] == "min-max (n<5)" and (s["ci_low"], s["ci_high"]) == (min(x), max(x))


def test_summarise_single_seed_and_empty():
    s = S.summarise([0.42])
    assert s["n"] == 1 and s["std"] is None and s["ci_low"] == s["ci_high"] == 0.42
    e = S.summarise([])
    assert e["n"] == 0 and all(v is None for k, v in e.items() if k != "n")


def test_summarise_identical_values():
    s = S.summarise([0.25] * 6)
    assert s["std"] == 0.0 and s["ci_low"] == s["ci_high"] == 0.25


@pytest.mark.parametrize("bad", [[1.0, None, 2.0], [1.0, float("nan")], [float("inf"), 1.0]])
def test_summarise_refuses_missing_values(bad):
    with pytest.raises(ValueError, match="with_failures"):
        S.summarise(bad)


def test_bad_arguments():
    with pytest.raises(ValueError):
        S.summarise([1.0] * 5, n_boot=0)
    with pytest.raises(ValueError):
        S.summarise([1.0] * 5, seed=-1)
    with pytest.raises(ValueError):
        S.summarise([1.0] * 5, alpha=1.5)


# -- paired ---------------------------------------------------------------------------------
def test_paired_tests_match_scipy():
    r = S.paired(A, B, higher_is_better=True)
    assert r["n"] == 5 and r["mean_diff"] == pytest.approx(np.mean(A) - np.mean(B))
    assert r["p_ttest"] == pytest.approx(st.ttest_rel(A, B).pvalue, rel=1e-12)
    assert r["p_wilcoxon"] == pytest.approx(st.wilcoxon(A, B).pvalue, rel=1e-12)
    # No ties or zeros and n <= 50: SciPy's "auto" is the exact distribution.
    assert r["wilcoxon_method"] == "exact"
    assert r["p_wilcoxon"] == pytest.approx(st.wilcoxon(A, B, method="exact").pvalue)
    assert r["p_wilcoxon"] == pytest.approx(0.0625)  # the smallest two-sided p with 5 pairs
    d = np.subtract(A, B)
    assert r["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert r["prob_improvement"] == 1.0
    assert r["ci_low"] == r["ci_high"] == 1.0


def test_wilcoxon_mode_labels():
    assert S.wilcoxon_mode(np.array([1.0, -2.0, 3.0])) == "exact"
    assert S.wilcoxon_mode(np.array([1.0, 1.0, 3.0])).startswith("exact permutation")
    assert S.wilcoxon_mode(np.array([0.0] + list(range(1, 20)), dtype=float)).startswith("approx")
    assert S.wilcoxon_mode(np.arange(1, 60, dtype=float)).startswith("approx")


def test_paired_ties_count_half_and_ci_resamples_pairs():
    a = [1, 2, 3, 4, 5, 6, 7, 8]
    b = [0, 2, 4, 4, 6, 5, 9, 1]   # A better on 0,5,7; tied on 1,3; worse on 2,4,6
    r = S.paired(a, b, higher_is_better=True, n_boot=4000)
    assert r["prob_improvement"] == pytest.approx((3 + 0.5 * 2) / 8)
    assert 0.0 <= r["ci_low"] < r["prob_improvement"] < r["ci_high"] <= 1.0
    assert r["wilcoxon_method"].startswith("exact permutation")   # zeros present, n <= 13
    assert r["p_wilcoxon"] == pytest.approx(st.wilcoxon(a, b).pvalue)
    # Lower is better: the same data reads the other way round.
    low = S.paired(a, b, higher_is_better=False, n_boot=4000)
    assert low["prob_improvement"] == pytest.approx(1 - r["prob_improvement"])
    assert low["effect_size"] == pytest.approx(-r["effect_size"])
    assert low["p_ttest"] == r["p_ttest"] and low["p_wilcoxon"] == r["p_wilcoxon"]


def test_paired_direction_flip_with_negated_values_gives_same_conclusions():
    hi = S.paired(A, B, higher_is_better=True)
    lo = S.paired([-v for v in A], [-v for v in B], higher_is_better=False)
    for k in ("p_ttest", "p_wilcoxon", "effect_size", "prob_improvement", "ci_low", "ci_high"):
        assert lo[k] == pytest.approx(hi[k]), k
    assert lo["mean_diff"] == pytest.approx(-hi["mean_diff"])


def test_paired_lower_is_better_positive_effect_means_a_smaller():
    mse_a, mse_b = [0.001, 0.002, 0.0015, 0.001, 0.003], [0.004, 0.003, 0.005, 0.002, 0.006]
    r = S.paired(mse_a, mse_b, higher_is_better=False)
    assert r["effect_size"] > 0 and r["prob_improvement"] == 1.0 and r["mean_diff"] < 0


def test_paired_identical_results():
    r = S.paired(A, A, higher_is_better=True)
    assert r["p_ttest"] is None and r["p_wilcoxon"] is None and r["wilcoxon_method"] is None
    assert r["effect_size"] == 0.0 and r["prob_improvement"] == 0.5
    assert r["ci_low"] == r["ci_high"] == 0.5


def test_paired_small_n_and_single_seed():
    r = S.paired([0.5, 0.6, 0.7], [0.4, 0.65, 0.5], higher_is_better=True)
    assert r["ci_low"] is None and r["ci_method"] == "none (n<5)" and r["p_ttest"] is not None
    one = S.paired([0.5], [0.4], higher_is_better=True)
    assert one["p_ttest"] is None and one["effect_size"] is None and one["prob_improvement"] == 1.0
    assert one["p_wilcoxon"] == pytest.approx(1.0)
    empty = S.paired([], [], higher_is_better=True)
    assert empty["n"] == 0 and empty["prob_improvement"] is None


def test_paired_constant_nonzero_difference():
    r = S.paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], higher_is_better=False)
    assert r["effect_size"] == -math.inf and r["prob_improvement"] == 0.0


def test_paired_needs_matched_seeds():
    with pytest.raises(ValueError, match="matched"):
        S.paired([1.0, 2.0], [1.0], higher_is_better=True)
    with pytest.raises(ValueError):
        S.paired([1.0, None], [1.0, 2.0], higher_is_better=True)


# -- holm -----------------------------------------------------------------------------------
def test_holm_hand_computed():
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert S.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])       # capped at 1
    assert S.holm([]) == [] and S.holm([0.2]) == [0.2]


def test_holm_passes_missing_through_and_excludes_them():
    out = S.holm([0.01, None, float("nan"), 0.04])
    assert out[0] == pytest.approx(0.02) and out[3] == pytest.approx(0.04)
    assert out[1] is None and math.isnan(out[2])
    with pytest.raises(ValueError):
        S.holm([1.2])


# -- rank_intervals -------------------------------------------------------------------------
SEP = {"gru": [0.90, 0.91, 0.89, 0.92, 0.90], "lstm": [0.70, 0.72, 0.69, 0.71, 0.70],
       "rnn": [0.30, 0.31, 0.29, 0.33, 0.30]}


def test_rank_intervals_well_separated():
    r = S.rank_intervals(SEP, higher_is_better=True)
    assert list(r) == list(SEP)
    assert [r[c]["rank"] for c in SEP] == [1.0, 2.0, 3.0]
    assert all(r[c]["rank_low"] == r[c]["rank_high"] == r[c]["rank"] for c in SEP)
    assert r["gru"]["leader"] and r["gru"]["tied_with_leader"] and r["gru"]["p_vs_leader"] is None
    assert not r["lstm"]["tied_with_leader"] and not r["rnn"]["tied_with_leader"]
    raw = [r[c]["p_vs_leader_raw"] for c in ("lstm", "rnn")]
    assert raw[0] == pytest.approx(st.ttest_ind(SEP["lstm"], SEP["gru"], equal_var=False).pvalue)
    assert [r[c]["p_vs_leader"] for c in ("lstm", "rnn")] == pytest.approx(S.holm(raw))


def test_rank_intervals_overlapping_cells_are_tied():
    scores = {"a": [0.80, 0.60, 0.75, 0.55, 0.70], "b": [0.78, 0.58, 0.72, 0.66, 0.61],
              "c": [0.20, 0.25, 0.22, 0.21, 0.24]}
    r = S.rank_intervals(scores, higher_is_better=True)
    assert r["a"]["leader"] and r["b"]["tied_with_leader"] and not r["c"]["tied_with_leader"]
    assert r["a"]["rank_low"] == 1.0 and r["b"]["rank_low"] == 1.0 and r["b"]["rank_high"] == 2.0


def test_rank_intervals_direction_flip():
    hi = S.rank_intervals(SEP, higher_is_better=True)
    lo = S.rank_intervals({c: [-v for v in vs] for c, vs in SEP.items()}, higher_is_better=False)
    for c in SEP:
        for k in ("rank", "rank_low", "rank_high", "tied_with_leader", "p_vs_leader"):
            assert lo[c][k] == pytest.approx(hi[c][k]) if hi[c][k] is not None else lo[c][k] is None
    mse = S.rank_intervals({"x": [0.01] * 5, "y": [0.10, 0.11, 0.12, 0.10, 0.09]}, higher_is_better=False)
    assert mse["x"]["rank"] == 1.0 and not mse["y"]["tied_with_leader"]


def test_rank_intervals_unequal_n_single_seed_ties_and_empty():
    scores = {"a": [0.9, 0.91, 0.92, 0.9, 0.93, 0.9, 0.91], "b": [0.5], "c": [0.9, 0.91, 0.92, 0.9, 0.93, 0.9, 0.91],
              "d": []}
    r = S.rank_intervals(scores, higher_is_better=True)
    assert r["a"]["rank"] == r["c"]["rank"] == 1.5 and r["a"]["leader"] and r["c"]["leader"]
    assert r["b"]["rank"] == 3.0 and r["b"]["p_vs_leader"] is None
    assert r["b"]["tied_with_leader"]    # one seed cannot be shown worse: not claimed
    assert r["d"]["n"] == 0 and r["d"]["rank"] is None
    assert S.rank_intervals({"solo": [0.3, 0.4]}, higher_is_better=True)["solo"]["tied_with_leader"]


def test_rank_intervals_paired_mode():
    r = S.rank_intervals({"a": A, "b": B}, higher_is_better=True, paired=True)
    assert r["b"]["p_vs_leader_raw"] == pytest.approx(st.ttest_rel(B, A).pvalue)
    assert r["b"]["test"].startswith("paired")
    with pytest.raises(ValueError):
        S.rank_intervals({"a": A, "b": B[:3]}, higher_is_better=True, paired=True)


def test_rank_intervals_reproducible_and_independent_of_other_cells():
    two = S.rank_intervals({k: SEP[k] for k in ("gru", "lstm")}, higher_is_better=True, seed=3)
    assert two == S.rank_intervals({k: SEP[k] for k in ("gru", "lstm")}, higher_is_better=True, seed=3)


# -- normalise / with_failures -------------------------------------------------------------
def test_normalise_both_directions():
    assert S.normalise(0.0625, chance=0.0625, best=1.0, higher_is_better=True) == 0.0
    assert S.normalise(1.0, chance=0.0625, best=1.0, higher_is_better=True) == 1.0
    assert S.normalise(0.167, chance=0.167, best=0.0, higher_is_better=False) == 0.0
    assert S.normalise(0.0, chance=0.167, best=0.0, higher_is_better=False) == 1.0
    assert S.normalise(0.0835, chance=0.167, best=0.0, higher_is_better=False) == pytest.approx(0.5)
    assert S.normalise(0.3, chance=0.167, best=0.0, higher_is_better=False) < 0   # worse than chance
    with pytest.raises(ValueError):
        S.normalise(0.5, chance=0.5, best=0.5, higher_is_better=True)
    with pytest.raises(ValueError):
        S.normalise(0.5, chance=0.167, best=0.0, higher_is_better=True)


def test_with_failures_counts_failures_at_chance():
    f = S.with_failures([0.9, None, 0.8, float("nan"), None, 0.7],
                        ["done", "failed", "done", "done", "running", "diverged"], chance=0.0625)
    assert f["values"] == [0.9, 0.0625, 0.8, 0.0625, 0.0625]
    assert (f["n"], f["n_done"], f["n_failed"], f["n_diverged"], f["n_excluded"]) == (5, 2, 2, 1, 1)
    assert f["failure_rate"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError):
        S.with_failures([1.0], ["exploded"], chance=0.0)


def test_all_runs_failed():
    f = S.with_failures([None] * 5, ["failed"] * 3 + ["diverged"] * 2, chance=0.167)
    assert f["failure_rate"] == 1.0 and f["values"] == [0.167] * 5
    s = S.summarise(f["values"])
    assert s["mean"] == pytest.approx(0.167) and s["ci_low"] == pytest.approx(s["ci_high"])
    r = S.rank_intervals({"ok": [0.01, 0.02, 0.015, 0.01, 0.012], "dead": f["values"]}, higher_is_better=False)
    assert r["ok"]["leader"] and not r["dead"]["tied_with_leader"]
    empty = S.with_failures([None], ["planned"], chance=0.0)
    assert empty["n"] == 0 and empty["failure_rate"] is None


# -- aggregate ------------------------------------------------------------------------------
def test_aggregate_point_estimates_and_ci():
    m = np.random.default_rng(7).uniform(0, 1, size=(6, 4))
    r = S.aggregate({"x": m}, n_boot=3000)["x"]
    assert r["iqm"] == pytest.approx(st.trim_mean(m.ravel(), 0.25))
    assert r["mean"] == pytest.approx(m.mean())
    assert (r["n_runs"], r["n_tasks"], r["n_scores"]) == (6, 4, 24)
    assert r["iqm_ci_low"] < r["iqm"] < r["iqm_ci_high"] and r["mean_ci_low"] < r["mean"] < r["mean_ci_high"]
    assert S.aggregate({"x": m}, n_boot=3000) == S.aggregate({"x": m}, n_boot=3000)


def test_aggregate_bootstrap_is_stratified_by_task():
    # Every task is constant over runs but tasks differ: resampling runs *within* tasks can
    # never change the aggregate, so the CI has zero width (pooled resampling would not).
    m = np.tile([0.1, 0.5, 0.9, 0.3], (5, 1))
    r = S.aggregate({"x": m}, n_boot=2000)["x"]
    assert r["mean_ci_low"] == pytest.approx(r["mean_ci_high"]) == pytest.approx(0.45)
    assert r["iqm_ci_low"] == pytest.approx(r["iqm_ci_high"])


def test_aggregate_missing_runs_and_single_run():
    m = np.array([[0.2, 0.8], [0.4, np.nan], [0.3, 0.6]])
    r = S.aggregate({"x": m}, n_boot=2000)["x"]
    assert r["runs_per_task"] == [3, 2] and r["n_runs"] == 2 and r["n_scores"] == 5
    assert r["mean"] == pytest.approx((0.3 + 0.7) / 2)
    one = S.aggregate({"x": np.array([[0.2, 0.8]])})["x"]
    assert one["iqm_ci_low"] is None and one["ci_method"].startswith("none")
    with pytest.raises(ValueError):
        S.aggregate({"x": np.array([0.1, 0.2])})
    with pytest.raises(ValueError):
        S.aggregate({"x": np.array([[np.nan, 0.2]])})


# -- friedman_nemenyi -----------------------------------------------------------------------
def _blocks(seed=3, n=12, k=6, spread=2.5):
    return np.random.default_rng(seed).normal(0, 1, (n, k)) + np.linspace(0, spread, k)


def test_friedman_matches_scipy_and_hand_ranks():
    m = _blocks()
    cells = [f"c{i}" for i in range(m.shape[1])]
    r = S.friedman_nemenyi(m, cells)
    ref = st.friedmanchisquare(*m.T)
    assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-12) and r["statistic"] == pytest.approx(ref.statistic)
    ranks = st.rankdata(-m, axis=1).mean(axis=0)
    assert [r["mean_ranks"][c] for c in cells] == pytest.approx(ranks)
    k, n = m.shape[1], m.shape[0]
    q = st.studentized_range.ppf(0.95, k, np.inf)
    assert r["cd"] == pytest.approx(q * math.sqrt(k * (k + 1) / (12 * n)))
    assert r["reject"] and r["order"][0] == "c5"
    for g in r["groups"]:   # every clique spans at most CD, and the text names it
        assert max(r["mean_ranks"][c] for c in g) - min(r["mean_ranks"][c] for c in g) <= r["cd"]
        assert "{" + ", ".join(g) + "}" in r["text"]
    for a, b in r["different_pairs"]:
        assert not any(a in g and b in g for g in r["groups"])


def test_friedman_direction_flip():
    m = _blocks()
    cells = list("abcdef")
    hi = S.friedman_nemenyi(m, cells, higher_is_better=True)
    lo = S.friedman_nemenyi(-m, cells, higher_is_better=False)
    for k in ("p_value", "cd", "mean_ranks", "order", "groups", "different_pairs", "text"):
        assert lo[k] == hi[k]
    assert S.friedman_nemenyi(m, cells, higher_is_better=False)["order"] == hi["order"][::-1]


def test_friedman_not_rejecting_claims_nothing():
    m = np.random.default_rng(0).normal(size=(6, 4))
    r = S.friedman_nemenyi(m, list("abcd"))
    assert not r["reject"] and r["groups"] == [r["order"]] and r["different_pairs"] == []
    assert "no significant differences" in r["text"]


def test_friedman_too_few_cells_or_blocks_and_ties():
    two = S.friedman_nemenyi(np.ones((5, 2)) * [1, 2], ["a", "b"])
    assert two["p_value"] is None and "paired" in two["note"] and two["groups"] == [["b", "a"]]
    one_block = S.friedman_nemenyi([[1, 2, 3]], ["a", "b", "c"])
    assert one_block["p_value"] is None and one_block["cd"] is None and not one_block["reject"]
    tied = S.friedman_nemenyi(np.ones((5, 3)), ["a", "b", "c"])
    assert tied["p_value"] is None and tied["mean_ranks"] == {"a": 2.0, "b": 2.0, "c": 2.0}
    with pytest.raises(ValueError):
        S.friedman_nemenyi(np.ones((5, 3)), ["a", "b"])
    with pytest.raises(ValueError):
        S.friedman_nemenyi([[1, 2, np.nan], [1, 2, 3]], ["a", "b", "c"])


# -- docs/methodology.md --------------------------------------------------------------------
def test_methodology_snippet_runs_on_an_export(tmp_path, monkeypatch, capsys):
    """The reproduction snippet in docs/methodology.md works on an `arena export` file."""
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "methodology.md").read_text()
    code = re.findall(r"```python\n(.+?)\n```", doc, flags=re.S)[0]
    vals = {"gru": [0.221, 0.310, 0.120, 0.255, 0.199], "mogru": [0.350, 0.338, 0.361, 0.347, None]}
    runs = [{"key": f"{c}{i}", "cell": c, "task": "copy", "preset": "standard", "params": {}, "seed": seed,
             "status": "done" if v is not None else "diverged", "main_metric": "accuracy",
             "metrics": {"accuracy": v} if v is not None else {}}
            for c, vs in vals.items() for i, (seed, v) in enumerate(zip([42, 123, 456, 789, 1337], vs))]
    runs.append({**runs[0], "key": "pending", "seed": 7, "status": "running", "metrics": {}})
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "methodology.md", "exec"), {})
    out = capsys.readouterr().out
    assert "failure rate 0.2" in out and "'prob_improvement': 0.8" in out   # the diverged seed loses
