"""docs/reproduction.md is generated from the shipped store, and its verdict rules say what they mean."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from arena import stats
from arena.leaderboard import EQUIVALENCE_MARGIN, Setting

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "reproduction.py"
SEEDS = [0, 1, 2, 3, 4]


def load():
    if "arena_reproduction" not in sys.modules:
        spec = importlib.util.spec_from_file_location("arena_reproduction", SCRIPT)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up here
        spec.loader.exec_module(mod)
    return sys.modules["arena_reproduction"]


def family(*items):
    """Assertions ``(text, scores_a, scores_b)`` (lists over SEEDS) checked as one claim's family."""
    rep = load()
    checks = [rep.compare_pair(text, dict(zip(SEEDS, a)), dict(zip(SEEDS, b))) for text, a, b in items]
    return rep.adjust_family(checks)


def test_report_matches_the_shipped_store():
    """Every number and verdict in docs/reproduction.md comes from leaderboard.db as committed."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_every_claim_has_a_verdict_in_the_report():
    rep = load()
    text = (REPO / "docs" / "reproduction.md").read_text()
    summary = text.split("## Summary", 1)[1].split("\n<a id=", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| [")]
    lm_rows = rows[len(rep.CLAIMS):]  # the language-model claims (benchmarks/carried_state.py) come last
    rows = rows[:len(rep.CLAIMS)]
    assert len(rows) == len(rep.CLAIMS) and len(lm_rows) == 2
    assert "(#grufinity-carried-state)" in lm_rows[0] and "(#maru-generation)" in lm_rows[1]
    assert any(v in lm_rows[0] for v in ("reproduced", "not run yet", "not testable"))
    verdicts = ("reproduced", "not testable here", "pending", "not run yet")
    for claim, row in zip(rep.CLAIMS, rows):
        assert f"(#{claim.id})" in row
        # claim, source, at the reference's scale, at the smaller preset, at matched capacity
        reference, smaller, matched = (c.strip() for c in row.strip().strip("|").split(" | ")[2:5])
        has_reference = any(w.reference for w in claim.where)
        has_smaller = any(not w.reference for w in claim.where)
        assert (reference == "—") != has_reference and any(v in reference for v in verdicts + ("—",)), row
        assert (smaller == "—") != has_smaller and any(v in smaller for v in verdicts + ("—",)), row
        assert matched in ("not run yet", "—") or "reproduced" in matched or "not testable" in matched, row


def test_the_report_states_its_rules():
    """The footnote says what the scores, families, margin and bootstrap are."""
    text = (REPO / "docs" / "reproduction.md").read_text()
    foot = text.rstrip().rsplit("\n", 1)[1]
    for words in ("floor −1", "Holm", "TOST", f"±{EQUIVALENCE_MARGIN:g}", "not shown", "inconclusive",
                  "n_boot = 2,000"):
        assert words in foot, words
    doc = load().__doc__
    for words in ("floor −1", "Holm", "TOST", "not shown", "inconclusive", "2,000 resamples"):
        assert words in doc, words


def check(op, p_holm, mean_diff, score_a=0.5, p_tost_holm=None):
    return {"op": op, "p_holm": p_holm, "mean_diff": mean_diff, "score_a": score_a, "p_tost_holm": p_tost_holm,
            "higher_is_better": True, "scored": True, "failure_vs_result_seeds": []}


@pytest.mark.parametrize("op,p,diff,p_tost,expected", [
    (">", 0.01, 0.3, None, "yes"),            # shown better, A learned something
    (">", 0.01, -0.3, None, "reversed"),      # shown worse
    (">", 0.20, 0.3, None, "no"),             # inconclusive
    (">", None, 0.0, None, "no"),             # every difference zero
    ("~", 0.20, 0.01, 0.01, "yes"),           # TOST shows the difference inside the margin
    ("~", 0.01, 0.01, 0.01, "yes"),           # significant, yet smaller than the margin
    ("~", 0.20, 0.01, 0.20, "not shown"),     # no difference shown is not equivalence
    ("~", 0.01, 0.30, 0.90, "differs"),
    ("~", None, 0.0, 0.0, "yes"),             # identical on every seed
])
def test_assertion_rules(op, p, diff, p_tost, expected):
    assert load().holds(check(op, p, diff, p_tost_holm=p_tost)) == expected


def test_beating_a_cell_at_chance_needs_learning_something():
    rep = load()
    # Four classes, chance 0.25: 0.2507 is "significantly" above 0.2484 yet learned nothing.
    at_chance = stats.normalise(0.2507, chance=0.25, solved=1.0, higher_is_better=True)
    assert at_chance == pytest.approx(0.0007 / 0.75)
    assert rep.holds(check(">", 0.001, 0.003, score_a=at_chance)) == "at chance"
    assert rep.holds(check(">", 0.001, 0.5, score_a=rep.MIN_LEARNED)) == "yes"
    # Counting MSE on its log scale: chance 9, solved 0.01; 0.09 is two thirds of the way.
    assert stats.normalise(0.09, chance=9, solved=0.01, higher_is_better=False, scale="log") == pytest.approx(
        2 / 2.954, rel=1e-3)


def test_equivalence_fails_when_one_cell_wins_every_seed_by_a_lot():
    """The bug: 'A ~ B' held because the t-test did not reject, though A won on all 5 seeds."""
    a = [0.9, 0.85, 0.92, 0.88, 0.95]
    big = family(("a ~ b", a, [x - d for x, d in zip(a, [0.3, 0.25, 0.4, 0.35, 0.3])]))[0]
    assert big["prob_improvement"] == 1.0
    assert big["holds"] == "differs"
    # Ahead on every seed, by a lot, but noisily: the t-test does not reject (the old rule said
    # "yes"); equivalence is not shown either.
    noisy = family(("a ~ b", a, [x - d for x, d in zip(a, [0.05, 0.9, 0.1, 0.6, 0.02])]))[0]
    assert noisy["prob_improvement"] == 1.0
    assert noisy["p_holm"] > 0.05
    assert noisy["holds"] == "not shown"


def test_equivalence_gets_harder_with_more_assertions():
    """Holm over a claim's TOST p-values: each added `~` assertion raises the bar."""
    a = [0.8] * 5
    b = [x - d for x, d in zip(a, [0.02, -0.02, 0.04, -0.01, 0.03])]  # TOST p ≈ 0.015 alone
    p_alone = stats.tost_p([x - y for x, y in zip(a, b)], EQUIVALENCE_MARGIN)
    assert 0.01 < p_alone < 0.02
    results = {k: family(*[("a ~ b", a, b)] * k) for k in (1, 2, 4)}
    p_adj = {k: r[0]["p_tost_holm"] for k, r in results.items()}
    assert p_adj[1] == pytest.approx(p_alone) and p_adj[2] == pytest.approx(2 * p_alone)
    assert p_adj[1] < p_adj[2] < p_adj[4]
    assert [r[0]["holds"] for r in results.values()] == ["yes", "yes", "not shown"]
    # `>` assertions join the difference family only: they leave the TOST p-values alone.
    mixed = family(("a ~ b", a, b), ("a > c", a, [0.1] * 5), ("c > b", [0.1] * 5, b))
    assert mixed[0]["p_tost_holm"] == pytest.approx(p_alone) and mixed[0]["holds"] == "yes"


def setting_with_a_diverged_cell(finished_mse):
    """Counting (log-scale MSE, chance 9, solved 0.01): 'mogru' diverged on every seed, 'aru'
    finished with ``finished_mse`` per seed."""
    anchors = stats.Anchors(False, "log", 9.0, 0.01)
    runs = {"mogru": [{"seed": k, "status": "diverged"} for k in SEEDS],
            "aru": [{"seed": k, "status": "done"} for k in SEEDS]}
    values = {"mogru": {k: None for k in SEEDS}, "aru": dict(zip(SEEDS, finished_mse))}
    return Setting("counting", "standard", "", "mse", anchors, runs, values)


@pytest.mark.parametrize("mse", [
    [1e6] * 5,                          # far worse than chance: floored at −1, the failures' score
    [8.0, 9.0, 10.0, 9.5, 8.5],         # at chance
    [0.01, 0.02, 0.015, 0.01, 0.012],   # solved
])
def test_a_failed_cell_never_beats_or_equals_a_finished_one(mse):
    rep = load()
    s = setting_with_a_diverged_cell(mse)
    assert s.scored("mogru")["scores"] == [stats.FLOOR] * 5
    checks = rep.adjust_family(rep.check_setting(s, ("mogru > aru", "mogru ~ aru", "aru ~ mogru")))
    assert all(c["holds"] != "yes" for c in checks), [c["holds"] for c in checks]
    assert all(c["failure_vs_result_seeds"] == SEEDS for c in checks)


def test_a_result_beats_a_failure_and_the_report_shows_failures_as_such():
    rep = load()
    s = setting_with_a_diverged_cell([0.01, 0.02, 0.015, 0.01, 0.012])
    checks = rep.adjust_family(rep.check_setting(s, ("aru > mogru",)))
    assert checks[0]["holds"] == "yes"
    entry = rep.setting_entry("`counting` `standard`", s, ("aru", "mogru"), checks)
    assert entry["summary"]["mogru"]["all_failed"] and entry["summary"]["mogru"]["value"] is None
    entry["verdict"] = rep.verdict(checks)
    result = {"n_tests": 1, "n_equivalence_tests": 0, "alpha": 0.05, "margin": EQUIVALENCE_MARGIN,
              "min_learned": rep.MIN_LEARNED, "n_boot": rep.N_BOOT,
              "claims": [{"id": "aru-counting", "verdict": "reproduced", "settings": [entry]}]}
    text = rep.render(result, "# test")
    row = next(line for line in text.splitlines() if line.startswith("| mogru |"))
    assert row == "| mogru | failed (5/5) | floor (all failed) | 5 | 5 |"
    aru = next(line for line in text.splitlines() if line.startswith("| aru |"))
    assert "value (geometric mean)" in text
    assert aru.split(" | ")[1] == f"{stats.centre(list(s.values['aru'].values()), 'log'):.4g}"


def test_verdict_rules():
    rep = load()

    def checks(*rows):
        return [dict(check(op, 0.5, diff), holds=h) for op, diff, h in rows]

    assert rep.verdict([]) == "not testable here"
    assert rep.verdict(checks((">", 0.3, "yes"), ("~", 0.0, "yes"))) == "reproduced"
    assert rep.verdict(checks((">", 0.3, "yes"), (">", 0.3, "no"))) == "partly reproduced"
    assert rep.verdict(checks(("~", 0.0, "yes"), (">", 0.3, "no"))) == "partly reproduced"
    assert rep.verdict(checks((">", 0.3, "no"))) == "not reproduced (right direction, not significant)"
    assert rep.verdict(checks((">", -0.3, "no"))) == "not reproduced (wrong direction, not significant)"
    assert rep.verdict(checks((">", -0.3, "reversed"))) == "not reproduced (reversed)"
    assert rep.verdict(checks((">", 0.003, "at chance"))) == "not reproduced (better, but at chance)"
    assert rep.verdict(checks(("~", 0.01, "not shown"), (">", 0.3, "yes"))) == \
        "not reproduced (equivalence not shown)"
    assert rep.verdict(checks(("~", 0.3, "differs"))) == "not reproduced (differs)"


def test_claims_use_the_references_own_variant_where_it_is_stored():
    rep = load()
    s = setting_with_a_diverged_cell([0.01, 0.02, 0.015, 0.01, 0.012])
    assert rep.resolve(s, "aru > gru", rep.ARU_BASELINES) == "aru > gru"  # only plain cells stored
    s.runs["gru[init=aru]"] = [{"seed": k, "status": "done"} for k in SEEDS]
    s.values["gru[init=aru]"] = dict(zip(SEEDS, [0.5, 0.4, 0.6, 0.5, 0.45]))
    assert rep.resolve(s, "aru > gru", rep.ARU_BASELINES) == "aru > gru[init=aru]"
    (check,) = rep.check_setting(s, ("aru > gru",), rep.ARU_BASELINES)
    assert check["assertion"] == "aru > gru[init=aru]" and check["b"] == "gru[init=aru]"
    sparse = next(c for c in rep.CLAIMS if c.id == "aru-sparse-events")
    assert ("aru", "aru[gate_preset=sparse-events]") in sparse.variants


def test_pairs_below_five_seeds_are_pending_and_left_out_of_the_family():
    """One seed of a reference-scale pair is shown, never decided, and does not weaken the Holm
    correction of the assertions that have their five seeds."""
    rep = load()
    full = ("aru > gru", [0.9, 0.8, 0.85, 0.95, 0.9], [0.5, 0.45, 0.55, 0.5, 0.4])
    alone = rep.adjust_family([rep.compare_pair(full[0], dict(zip(SEEDS, full[1])), dict(zip(SEEDS, full[2])))])
    with_pending = rep.adjust_family([
        rep.compare_pair(full[0], dict(zip(SEEDS, full[1])), dict(zip(SEEDS, full[2]))),
        rep.compare_pair("gru > lstm", {0: 0.5}, {0: 0.1})])
    assert with_pending[0]["p_holm"] == alone[0]["p_holm"] and with_pending[0]["holds"] == "yes"
    assert with_pending[1]["holds"] == "pending (1/5 seeds)" and with_pending[1]["p_holm"] is None
    assert rep.verdict(with_pending) == "headline reproduced, 1 assertion pending"
    head_pending = rep.adjust_family([rep.compare_pair("aru > gru", {0: 0.9, 1: 0.8}, {0: 0.1, 1: 0.2})])
    assert rep.verdict(head_pending) == "pending (2 of 5 seeds; aru ahead so far)"
    behind = rep.adjust_family([rep.compare_pair("aru > gru", {0: 0.1}, {0: 0.9})])
    assert rep.verdict(behind) == "pending (1 of 5 seeds; gru ahead so far)"


def test_the_reference_scale_is_compared_with_the_smaller_preset():
    rep = load()
    ref = [{"verdict": "reproduced", "where": "`counting` `aru`"}]
    small = [{"verdict": "partly reproduced", "where": "`counting` `standard`"}]
    assert rep.reference_change(ref, small) == \
        "partly reproduced at the smaller preset → reproduced at the reference's scale"
    assert rep.reference_change(small, small).startswith("same verdict")
    assert rep.reference_change([{"verdict": "pending (1 of 5 seeds)"}], small) == \
        "no verdict at the reference's scale yet"


def test_the_cost_of_the_reference_scale_comes_from_the_stored_runs():
    rep = load()
    s = setting_with_a_diverged_cell([0.01, 0.02, 0.015, 0.01, 0.012])
    for k, r in enumerate(s.runs["aru"]):
        r["duration_s"] = 100.0 + 10 * k
    cost = rep.run_cost(s, ("aru", "gru", "mogru"))
    assert cost["aru"] == {"runs": 5, "seeds": SEEDS, "median_s": 120.0, "total_s": 600.0}
    assert "gru" not in cost and cost["mogru"]["median_s"] is None  # diverged runs without a stored time
    import reproduction_report as report

    lines = report.cost_lines({"settings": [{"where": "`counting` `aru`", "reference": True, "cost": cost}],
                               "not_run": [{"where": "`copy` `aru`", "reference": True, "cost": {}}]})
    assert "aru 120 s (5 of 5 seeds stored)" in lines[1] and "not measured" in lines[1]
    assert "not run yet" in lines[2]
    lines = report.cost_lines({"settings": [{"where": "`counting` `aru`", "reference": True, "cost": cost,
                                             "unrun": ["lstm[init=aru]"]}]})
    assert lines[1].endswith("; not run: lstm[init=aru].")


def test_the_claims_cells_not_run_on_a_setting_are_named_as_the_reference_runs_them():
    rep = load()
    claim = next(c for c in rep.CLAIMS if c.id == "aru-adding")
    stored = {"aru": {}, "gru[init=aru]": {}}
    assert rep.unrun_cells(claim, stored) == ["lstm[init=aru]", "rnn[init=aru]"]
    assert rep.unrun_cells(claim, {**stored, "lstm": {}, "rnn[init=aru]": {}}) == []  # either name counts


def test_a_setting_that_tests_some_assertions_says_so():
    rep = load()
    claim = next(c for c in rep.CLAIMS if c.id == "mogru-selective-copy")  # mogru > momgru first
    only_gru = [{"claimed": "mogru ~ gru"}]
    assert rep.coverage(only_gru, claim) == " [1 of 3 assertions testable]"
    with_head = [{"claimed": "mogru > momgru"}, {"claimed": "mogru ~ gru"}]
    assert rep.coverage(with_head, claim) == " [2 of 3 assertions testable]"
    assert rep.coverage(with_head + [{"claimed": "mogru ~ lstm"}], claim) == ""


def test_a_setting_without_the_headline_gives_no_verdict_on_the_claim():
    """A side assertion that holds (or fails) must not read as the claim reproduced (or not)."""
    rep = load()
    claim = next(c for c in rep.CLAIMS if c.id == "aru-adding")  # aru > lstm first; gru ~ aru last
    side = rep.adjust_family([rep.compare_pair("gru ~ aru", dict(zip(SEEDS, [2.2, 2.1, 2.3, 2.2, 2.25])),
                                               dict(zip(SEEDS, [1.7, 1.6, 1.75, 1.65, 1.7])))])
    side[0]["claimed"] = "gru ~ aru"
    assert side[0]["holds"] == "differs" and rep.verdict(side) == "not reproduced (differs)"
    assert rep.setting_verdict(side, claim) == \
        "headline not run yet (`gru ~ aru`: differs) [1 of 4 assertions testable]"
    ref = [{"verdict": rep.setting_verdict(side, claim), "where": "`adding` `aru`"}]
    assert rep.reference_change(ref, [{"verdict": "partly reproduced"}]) == "no verdict at the reference's scale yet"
    head = rep.adjust_family([rep.compare_pair("aru > lstm", dict(zip(SEEDS, [2.0, 1.9, 2.1, 2.0, 1.95])),
                                               dict(zip(SEEDS, [0.0, 0.1, -0.05, 0.02, 0.0])))])
    head[0]["claimed"] = "aru > lstm"
    assert rep.setting_verdict(head + side, claim) == "partly reproduced [2 of 4 assertions testable]"
