"""Check the reference repositories' published claims against the runs in a store.

Each claim (from ../shared/specs/cells-and-tasks.md) is a list of assertions about two cells on
one task — ``A > B`` (A is better) or ``A ~ B`` (A and B are equivalent) — checked on every
stored setting that matches it: the reference preset where it was run, and ``standard``.

Scores. Every run is scored on its task's fixed anchors (arena.stats.scores): score =
(g(v) − g(chance)) / (g(solved) − g(chance)), g = log10 for error metrics and the identity
otherwise, so chance = 0 and solved = 1 and larger is better. Failed and diverged runs score
the floor −1, and finished runs are floored at −1: a failure never counts as a chance-level
result. Every test runs on the per-seed scores of matched seeds.

Tests. Each claim is one family. The paired t-test p-values of all its assertions (``>`` and
``~``) on all its settings are Holm-corrected together; separately, the TOST p-values of its
``~`` assertions (equivalence margin ±EQUIVALENCE_MARGIN = 0.05 score units, 5 % of the
chance-to-solved range) are Holm-corrected together. With 5 seeds the Wilcoxon test cannot go
below p = 0.0625, so the t-test is the one that can decide.

- ``A > B`` is *yes* when the Holm-adjusted t-test shows A better (p < 0.05) and A learned
  something: its mean score is at least MIN_LEARNED = 0.05 (5 % of the way from chance to
  solved); *at chance* when shown better but A's mean score is below that; *reversed* when A
  is shown worse; *no* otherwise (inconclusive: not shown better, which is not "tied").
- ``A ~ B`` is *yes* (equivalent) when the Holm-adjusted TOST p < 0.05, i.e. the difference
  is shown to lie within ±0.05; *differs* when it is not and the Holm-adjusted t-test rejects;
  *not shown* otherwise (a difference that is not significant is not evidence of equality).
  More assertions in the family make equivalence harder to show, never easier. It never holds
  when on some matched seed one cell's run failed and the other's finished.
- P(A better) is the share of matched seeds on which A scores higher (ties count ½); its 95 %
  CI is a percentile bootstrap over the seed pairs with N_BOOT = 2,000 resamples.

Verdict per setting:
- *reproduced*: every assertion holds.
- *partly reproduced*: the first (headline) assertion holds, some other does not.
- *not reproduced (…)*: the headline does not hold; the parenthesis says how (right direction
  but not significant, wrong direction, reversed, at chance, equivalence not shown, differs).
- *not testable here*: no stored setting has the cells; the claim says why.

    python benchmarks/reproduction.py            # reads leaderboard.db, writes docs/reproduction.md
    python benchmarks/reproduction.py --check    # exit 1 if docs/reproduction.md is out of date
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena import stats
from arena.leaderboard import EQUIVALENCE_MARGIN

ROOT = Path(__file__).resolve().parent.parent

DOC = ROOT / "docs" / "reproduction.md"
JSON_OUT = Path(__file__).parent / "results" / "reproduction.json"
DEFAULT_DB = f"sqlite:///{ROOT / 'leaderboard.db'}"
ALPHA = 0.05
#: A cell "beats" another only if it also learned something: its mean score is at least this
#: far from chance (0) towards solved (1). Without it, two cells at chance (say 0.2507 against
#: 0.2484 on four classes) can differ "significantly" over 5 seeds.
MIN_LEARNED = 0.05
#: Bootstrap resamples of the P(A better) intervals.
N_BOOT = 2000
MARGIN = EQUIVALENCE_MARGIN


@dataclass(frozen=True)
class Where:
    """A stored setting: task, preset, the parameters that must match (sweep values) and the
    track (arena.tracks: how the models were built; the bare track unless said otherwise)."""
    task: str
    preset: str
    params: tuple[tuple[str, Any], ...] = ()
    track: str = "bare"

    def label(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params)
        return (f"`{self.task}` `{self.preset}`" + (f" ({extra})" if extra else "")
                + ("" if self.track == "bare" else f" [{self.track} track]"))


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    source: str
    published: str
    assertions: tuple[str, ...]  # "aru > gru", "gru ~ aru"; the first is the headline
    where: tuple[Where, ...]
    untested: str = ""  # reference presets not run here, and why
    notes: str = ""
    cells: tuple[str, ...] = field(default=())
    #: The reference's own variant of a cell (its options, as the board names it), used in the
    #: assertions on every setting that stores it; the plain cell stands in elsewhere.
    variants: tuple[tuple[str, str], ...] = ()


#: The ARU repository's own baselines (aru/baselines.py): arena's gru, lstm, rnn with init="aru".
ARU_BASELINES = (("gru", "gru[init=aru]"), ("lstm", "lstm[init=aru]"), ("rnn", "rnn[init=aru]"))


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "aru-counting", "ARU counts far better than GRU (counting)", "ARU phase 3, one seed (42)",
        "test MSE: ARU 0.0014 · GRU 0.1405 · LSTM 0.4061 · RNN 1.6678 (T=100, p=0.1)",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("counting", "aru"), Where("counting", "standard")),
        cells=("aru", "gru", "lstm", "rnn"), variants=ARU_BASELINES,
        notes="Preset `aru` is the reference's setting (8,000 sequences, hidden 64, Adam 1e-3, batch 128, "
              "30 epochs, patience 8). `standard` is shorter (4,000 sequences, 20 epochs, lr 3e-3).",
    ),
    Claim(
        "aru-copy", "ARU copies, GRU does not (copy, T=10, D=50)", "ARU phase 2, one seed (42)",
        "sequence / symbol accuracy: ARU 74.2 % / 96.9 % · GRU 0 / 50.5 % · LSTM 0 / 34.3 % · RNN 0 / 12.9 %",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("copy", "aru"), Where("copy", "standard")),
        cells=("aru", "gru", "lstm", "rnn"), variants=ARU_BASELINES,
        untested="Preset `aru` (14,000 sequences of length 71, hidden 128, up to 100 epochs) was not run: "
                 "about 8 CPU-minutes per run and cell here, 40 runs for 5 seeds of the four cells.",
        notes="`standard` copies L=5 symbols over D=20 blanks: a much easier copy than the reference's "
              "L=10, D=50, so it tests the ordering, not the published gap.",
    ),
    Claim(
        "aru-sparse-events", "ARU counts sparse events better than GRU; LSTM and RNN fail",
        "ARU phase 4, one seed (42)",
        "MAE: ARU 0.16 (exact 94.9 %) · GRU 0.43 (71.7 %) · RNN 3.00 · LSTM 3.06 (T=500, q=0.03)",
        ("aru > gru", "gru > lstm", "gru > rnn"),
        (Where("sparse-events", "aru"), Where("sparse-events", "standard")),
        cells=("aru", "gru", "lstm", "rnn"),
        variants=ARU_BASELINES + (("aru", "aru[gate_preset=sparse-events]"),),
        untested="Preset `aru` (T=500, 3,500 sequences, 25 epochs) was not run: about 5 CPU-minutes per run.",
        notes="`standard` has T=100, q=0.05 (5 events on average) and 12 epochs.",
    ),
    Claim(
        "aru-adding", "GRU and ARU solve the adding problem; LSTM and RNN do not", "ARU phase 5, one seed (42)",
        "test MSE: GRU 0.0009 · ARU 0.0013 · LSTM 0.1631 · RNN 0.1661 (T=200; solved below 0.01)",
        ("aru > lstm", "gru > lstm", "aru > rnn", "gru ~ aru"),
        (Where("adding", "aru"), Where("adding", "standard")),
        cells=("gru", "aru", "lstm", "rnn"), variants=ARU_BASELINES,
        untested="Preset `aru` (T=200, 10,000 sequences, hidden 128, 50 epochs) was not run: about 15 "
                 "CPU-minutes per run here.",
        notes="`standard` has T=50, 3,000 sequences and 12 epochs.",
    ),
    Claim(
        "aru-ag-news", "On AG News GRU ≥ ARU ≥ LSTM, far above RNN", "ARU phase 1, one seed (42)",
        "test accuracy: GRU 89.29 % · ARU 88.46 % · LSTM 87.61 % · RNN 26.51 %",
        ("gru > rnn", "aru > rnn", "gru ~ aru"),
        (Where("ag-news", "standard"), Where("ag-news", "small")),
        cells=("gru", "aru", "lstm", "rnn"), variants=ARU_BASELINES,
        untested="Preset `standard` needs the official 120,000-row train file, which is not in "
                 "../shared/data and cannot be downloaded from this machine.",
        notes="Preset `small` re-splits the official *test* file (5,320 training texts): it checks the "
              "ordering only and is not comparable to the published accuracies.",
    ),
    Claim(
        "mogru-copy", "MoGRU beats GRU, MomGRU and LSTM on copy", "MoGRU benchmark, 5 seeds",
        "token accuracy: MoGRU 0.350±0.010 · GRU 0.221±0.090 · MomGRU 0.243±0.012 · LSTM 0.063±0.001 "
        "(paired t: vs GRU p=0.038, vs LSTM 4.6e-7, vs MomGRU 1.9e-4)",
        ("mogru > gru", "mogru > lstm", "mogru > momgru"),
        (Where("copy", "mogru"), Where("copy", "standard")),
        cells=("mogru", "gru", "momgru", "lstm"),
        untested="Preset `mogru` (length 151, 10,000 fresh sequences per epoch, hidden 128, 30 epochs) "
                 "was not run: the reference itself reports 45 s per epoch for MoGRU on a CPU, about "
                 "25 minutes per run.",
    ),
    Claim(
        "mogru-adding", "GRU beats MoGRU on adding", "MoGRU benchmark, 5 seeds",
        "MSE: MoGRU 0.0028±0.0012 · GRU 0.0004±0.0003 · LSTM 0.0030 · MomGRU 0.0027 (vs GRU p=0.0092)",
        ("gru > mogru", "mogru ~ lstm", "mogru ~ momgru"),
        (Where("adding", "mogru"), Where("adding", "standard")),
        cells=("gru", "mogru", "lstm", "momgru"),
        untested="Preset `mogru` (T=100, 10,000 fresh sequences, 30 epochs) was not run: about 10 "
                 "CPU-minutes per run.",
        notes="`standard` places one marker in each half (ARU's variant); MoGRU places both anywhere.",
    ),
    Claim(
        "mogru-trend", "No cell differs on the noisy trend", "MoGRU benchmark, 5 seeds",
        "sum-of-squares MSE: MoGRU 0.775±0.041 · GRU 0.792±0.031 · LSTM 0.833±0.031 · MomGRU 0.777±0.017 "
        "(all n.s.)",
        ("mogru ~ gru", "mogru ~ lstm", "mogru ~ momgru"),
        (Where("trend", "mogru"), Where("trend", "standard")),
        cells=("mogru", "gru", "lstm", "momgru"),
        untested="Preset `mogru` (10,000 fresh sequences, hidden 128, 30 epochs) was not run: about 8 "
                 "CPU-minutes per run.",
    ),
    Claim(
        "mogru-selective-copy", "MoGRU ≈ GRU ≈ LSTM ≈ 1.0 on selective copy; MomGRU fails",
        "MoGRU benchmark, 5 seeds",
        "token accuracy: MoGRU 0.99988 · GRU 0.99998 · LSTM 0.99984 · MomGRU 0.415±0.062 (vs MomGRU p=3.0e-5)",
        ("mogru > momgru", "mogru ~ gru", "mogru ~ lstm"),
        (Where("selective-copy", "mogru"), Where("selective-copy", "standard")),
        cells=("mogru", "gru", "lstm", "momgru"),
        untested="Preset `mogru` (T=55, 10,000 fresh sequences, hidden 128, 30 epochs) was not run: about "
                 "6 CPU-minutes per run.",
    ),
    Claim(
        "mogru-interference", "MoGRU resists few distractors better than GRU; LSTM stays at chance",
        "MoGRU interference deep dive, one seed (42)",
        "accuracy at K=5: N=10 MoGRU 1.000 · GRU 0.765 · LSTM 0.065; N=50 0.938 · 0.816 · 0.068; "
        "N=100 0.553 · 0.729 · 0.067; N=200 0.063 · 0.293 · 0.067",
        ("mogru > gru", "gru > lstm"),
        (*(Where("interference", "mogru", (("n_distractors", n),)) for n in (10, 20, 50, 100, 200)),
         Where("interference", "standard", (("n_distractors", 5),)),
         Where("interference", "standard", (("n_distractors", 10),)),
         Where("interference", "standard", (("n_distractors", 20),)),
         Where("interference", "standard", (("n_distractors", 40),))),
        cells=("mogru", "gru", "lstm", "momgru", "aru"),
        untested="Preset `mogru` (K=5, N=50, 5,000 fresh samples, hidden 96, 25 epochs) and its N sweep "
                 "up to 200 were not run: 2–10 CPU-minutes per run.",
        notes="`standard` has K=3 pairs and vocabulary 16; the sweep n_distractors ∈ {5, 10, 20, 40} is "
              "stored as its own settings.",
    ),
    Claim(
        "mogru-cwru", "GRU beats LSTM and MoGRU on CWRU at every noise level",
        "MoGRU bearing benchmark, one seed (42)",
        "best val accuracy (GRU / LSTM / MoGRU): σ=0 .474/.411/.355 · 0.5 .493/.465/.313 · 1.0 .495/.486/.299 "
        "· 2.0 .468/.449/.298",
        ("gru > mogru", "gru > lstm"),
        (*(Where("cwru", "mogru", (("noise", sigma),)) for sigma in (0.0, 0.5, 1.0, 2.0)),
         Where("cwru", "mogru-reference"),
         Where("cwru", "standard", (("noise", 0.0),)),
         Where("cwru", "standard", (("noise", 0.5),)),
         Where("cwru", "standard", (("noise", 1.0),)),
         Where("cwru", "standard", (("noise", 2.0),))),
        cells=("gru", "lstm", "mogru", "momgru", "aru"),
        untested="Presets `mogru` (windows of 1,024 steps, 15 epochs, a leak-free time split) and "
                 "`mogru-reference` (the reference's reading and random 80/20 split, in which 95 % of the test "
                 "windows overlap a training window) were not run yet: about 4 CPU-minutes per run.",
        notes="`standard` uses windows of 256 steps and a time-contiguous split (no leakage); the noise "
              "sweep σ ∈ {0, 0.5, 1, 2} is added after z-scoring, as in the reference.",
    ),
    Claim(
        "hsru-parity", "HSRU solves temporal parity; LSTM stays at chance", "HSRU report (docs/HSRU-LIF-RNN.pdf)",
        "best accuracy: HSRU 100 / 100 / 100 % · LSTM 53.75 / 51.88 / 51.02 % at T=10/30/60",
        ("hsru > lstm",),
        (Where("parity", "hsru"), Where("parity", "standard")),
        cells=("hsru", "hsru-bptt", "lstm", "gru"),
        notes="Preset `hsru` is the fixed-length variant of the reference (T=50, hidden 128, 12,800 "
              "samples, AdamW 1e-3, batch 256, 40 epochs); the curriculum variant is not implemented. "
              "`standard` has T=30.",
    ),
)


def parse(assertion: str) -> tuple[str, str, str]:
    a, op, b = assertion.split()
    if op not in (">", "~"):
        raise ValueError(f"bad assertion {assertion!r}")
    return a, op, b


def find_setting(settings: list[Any], where: Where) -> Any | None:
    for s in settings:
        if s.task != where.task or s.preset != where.preset or s.track != where.track:
            continue
        params = next(iter(s.runs.values()))[0]["params"]
        if all(params.get(k) == v for k, v in where.params):
            return s
    return None


def failed_seeds(s: Any, cell: str) -> set[int]:
    """Seeds whose run is a result but no finished value (failed, diverged, or done without a
    finite value): the runs that score the floor because they failed."""
    out = set()
    for r in s.runs[cell]:
        v = s.values[cell].get(r["seed"])
        finished = r["status"] == "done" and v is not None and math.isfinite(float(v))
        if r["status"] in stats.RESULT_STATUSES and not finished:
            out.add(r["seed"])
    return out


def cell_summary(s: Any, sc: dict[str, Any]) -> dict[str, Any]:
    """One cell on one setting: its value in the metric's units (geometric mean of the finished
    runs on a log scale), its mean score with the t-interval (values when n < 5), its failures."""
    summ = stats.summarise(sc["scores"])
    return {"value": stats.centre(sc["finished"], s.anchors.scale),
            "value_kind": "geometric mean" if s.anchors.scale == "log" else "mean",
            "score": summ["mean"], "ci_low": summ["ci_low"], "ci_high": summ["ci_high"],
            "ci_method": summ["ci_method"], "scores": summ["values"], "scored": sc["scored"],
            "n": sc["n"], "n_done": sc["n_done"], "failed": sc["n_failed"], "diverged": sc["n_diverged"],
            "all_failed": sc["n"] > 0 and sc["n_done"] == 0}


def compare_pair(text: str, a_scores: dict[int, float], b_scores: dict[int, float], *, scored: bool = True,
                 higher_is_better: bool = True, a_failed: set[int] | frozenset[int] = frozenset(),
                 b_failed: set[int] | frozenset[int] = frozenset()) -> dict[str, Any] | None:
    """One assertion on one setting before the claim's Holm corrections: the paired t-test on
    the matched seeds' scores (``{seed: score}``), the difference with its t-interval, d_z,
    P(A better) with its bootstrap CI, and for ``~`` the TOST p-value (margin MARGIN). None
    when no seed is matched (runs still pending). ``a_failed``/``b_failed``: the seeds whose
    run failed or diverged. Without anchors (``scored`` False) the scores are the metric's
    values on its analysis scale, compared in ``higher_is_better``'s direction, with no
    learned-something check and no equivalence test."""
    a, op, b = parse(text)
    seeds = sorted(set(a_scores) & set(b_scores))
    if not seeds:
        return None
    higher = True if scored else bool(higher_is_better)
    res = stats.paired([a_scores[k] for k in seeds], [b_scores[k] for k in seeds], higher_is_better=higher,
                       n_boot=N_BOOT)
    p_tost = None
    if op == "~" and scored and res["n"] >= 2:
        p_tost = stats.tost_p(res["diffs"], MARGIN)
    # A failure is not a result: on a seed where one run failed and the other finished the two
    # are not "the same", even when the finished run scored at the floor too.
    mixed = sorted(k for k in seeds if (k in a_failed) != (k in b_failed))
    return {"assertion": text, "a": a, "op": op, "b": b, "scored": scored, "higher_is_better": higher,
            "n": res["n"], "seeds": seeds, "score_a": res["mean_a"], "score_b": res["mean_b"],
            "mean_diff": res["mean_diff"], "diff_ci": [res["diff_ci_low"], res["diff_ci_high"]],
            "diffs": res["diffs"], "p_ttest": res["p_ttest"], "p_tost": p_tost,
            "effect_size": res["effect_size"], "prob_improvement": res["prob_improvement"],
            "pi_ci": [res["ci_low"], res["ci_high"]], "pi_ci_method": res["ci_method"],
            "failure_vs_result_seeds": mixed}


def adjust_family(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One claim's family: Holm over the t-test p-values of all its assertions, and separately
    over the TOST p-values of its ``~`` assertions; then each assertion's decision (better /
    worse / inconclusive, from A's side) and whether it holds."""
    for ch, p in zip(checks, stats.holm([c["p_ttest"] for c in checks])):
        ch["p_holm"] = p
        ch["decision"] = stats.decide(ch["mean_diff"], p, higher_is_better=ch["higher_is_better"])
    eq = [c for c in checks if c["op"] == "~"]
    for ch, p in zip(eq, stats.holm([c["p_tost"] for c in eq])):
        ch["p_tost_holm"] = p
    for ch in checks:
        if ch["op"] == ">":
            ch["p_tost_holm"] = None
        ch["holds"] = holds(ch)
    return checks


def holds(check: dict[str, Any]) -> str:
    """Whether one assertion holds, from its Holm-adjusted tests.

    ``>``: 'yes' (shown better and A's mean score >= MIN_LEARNED), 'at chance' (shown better,
    but A is within MIN_LEARNED of chance, so "better" means nothing), 'reversed' (shown
    worse), 'no' (inconclusive). ``~``: 'yes' (shown equivalent by TOST), 'differs' (not
    equivalent and the difference test rejects), 'not shown' (neither), 'not testable' (the
    task declares no anchors, so there is no margin)."""
    if check["op"] == "~":
        if not check.get("scored", True):
            return "not testable"
        eq = stats.equivalence(check.get("p_tost_holm"), check.get("p_holm"))
        if eq == "equivalent" and check.get("failure_vs_result_seeds"):
            eq = "different" if check.get("p_holm") is not None and check["p_holm"] < ALPHA else "not shown"
        return {"equivalent": "yes", "different": "differs"}.get(eq, "not shown")
    decision = stats.decide(check.get("mean_diff"), check.get("p_holm"),
                            higher_is_better=check.get("higher_is_better", True))
    if decision == "worse":
        return "reversed"
    if decision != "better":
        return "no"
    if check.get("scored", True) and (check.get("score_a") is None or check["score_a"] < MIN_LEARNED):
        return "at chance"
    return "yes"


def leans_claimed_way(check: dict[str, Any]) -> bool:
    d = check.get("mean_diff")
    return d is not None and d != 0 and (d > 0) == bool(check.get("higher_is_better", True))


def verdict(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "not testable here"
    head = checks[0]
    h = head["holds"]
    if h == "yes":
        return "reproduced" if all(c["holds"] == "yes" for c in checks) else "partly reproduced"
    why = {"reversed": "reversed", "at chance": "better, but at chance", "differs": "differs",
           "not shown": "equivalence not shown", "not testable": "no anchors, equivalence not testable"}.get(h)
    if why is None:  # '>' not shown
        why = ("right direction, not significant" if leans_claimed_way(head)
               else "not significant" if not head.get("mean_diff") else "wrong direction, not significant")
    return f"not reproduced ({why})"


def claim_verdict(entry: dict[str, Any]) -> str:
    """The verdicts on every stored setting of the claim, in the claim's order of settings."""
    if not entry["settings"]:
        return "not testable here"
    return ", ".join(f"{s['verdict']} ({s['where']})" for s in entry["settings"])


def resolve(s: Any, assertion: str, variants: Any = ()) -> str:
    """The assertion with each cell replaced by the reference's variant where the setting has it."""
    a, op, b = parse(assertion)
    names = dict(variants)

    def name(c: str) -> str:
        return names[c] if c in names and names[c] in s.runs else c

    return f"{name(a)} {op} {name(b)}"


def check_setting(s: Any, assertions: tuple[str, ...] | list[str], variants: Any = ()) -> list[dict[str, Any]]:
    """The assertions that can be tested on one stored setting (both cells present, some seed
    matched), before the claim's Holm corrections (:func:`adjust_family`); each cell is the
    reference's variant where the setting stores it (``variants``)."""
    scored = {c: s.scored(c) for c in s.runs}
    checks = []
    for text in (resolve(s, t, variants) for t in assertions):
        a, _, b = parse(text)
        if a not in scored or b not in scored:
            continue
        ch = compare_pair(text, scored[a]["by_seed"], scored[b]["by_seed"], scored=scored[a]["scored"],
                          higher_is_better=s.higher, a_failed=failed_seeds(s, a), b_failed=failed_seeds(s, b))
        if ch is not None:
            checks.append(ch)
    return checks


def setting_entry(label: str, s: Any, cells: tuple[str, ...], checks: list[dict[str, Any]]) -> dict[str, Any]:
    """One setting of a claim in the report: its anchors, the claim's cells summarised, its checks."""
    summary = {}
    for c in cells:
        if c in s.runs:
            sc = s.scored(c)
            if sc["n"]:
                summary[c] = cell_summary(s, sc)
    return {"where": label, "metric": s.metric, "higher_is_better": s.higher, "scale": s.anchors.scale,
            "chance": s.chance, "solved": s.anchors.solved, "scored": s.anchors.problem is None,
            "summary": summary, "checks": checks}


def claim_settings(claim: Claim, settings: list[Any], wheres: Any) -> list[dict[str, Any]]:
    """The claim's testable stored settings among ``wheres``, with their (unadjusted) checks."""
    out = []
    for where in wheres:
        s = find_setting(settings, where)
        if s is None:
            continue
        checks = check_setting(s, claim.assertions, claim.variants)
        if checks:
            cells = tuple(c for pair in ((c, dict(claim.variants).get(c, c)) for c in claim.cells) for c in pair)
            entry = setting_entry(where.label(), s, tuple(dict.fromkeys(cells)), checks)
            entry["base"] = dataclasses.replace(where, track="bare").label()
            out.append(entry)
    return out


def matched_wheres(claim: Claim) -> list[Where]:
    """The claim's settings at the task's board preset, on the matched track (docs/tracks.md):
    every cell at GRU's bare parameter count."""
    from arena.host import get_host

    host = get_host()
    return [dataclasses.replace(w, track="matched") for w in claim.where
            if w.task in host.tasks and w.preset == host.tasks.get(w.task).info.default_preset]


def matched_change(bare: list[dict[str, Any]], matched: list[dict[str, Any]]) -> str:
    """Whether the verdict changes when capacity is matched, setting by setting."""
    if not matched:
        return "not run yet"
    before = {st["where"]: st["verdict"] for st in bare}
    parts = []
    for st in matched:
        old = before.get(st["base"])
        parts.append(f"same: {st['verdict']}" if old == st["verdict"] else
                     f"{old or 'not tested'} → {st['verdict']}")
    return "; ".join(parts)


def evaluate(db: str) -> dict[str, Any]:
    """Every claim's assertions on every matching stored setting, each claim one Holm family."""
    from arena.leaderboard import load_settings
    from arena.store import open_store

    store = open_store(db, write=False)
    settings = load_settings(store)
    report: list[dict[str, Any]] = []
    n_tests = n_equiv = 0
    for claim in CLAIMS:
        entry: dict[str, Any] = {"id": claim.id}
        # The claim as published (bare track), then at matched capacity: two Holm families.
        bare = claim_settings(claim, settings, claim.where)
        matched = claim_settings(claim, settings, matched_wheres(claim))
        entry["settings"] = bare + matched
        for family in (bare, matched):
            checks = [c for st in family for c in st["checks"]]
            adjust_family(checks)
            n_tests += len(checks)
            n_equiv += sum(c["op"] == "~" for c in checks)
        for st in entry["settings"]:
            st["verdict"] = verdict(st["checks"])
        entry["verdict"] = claim_verdict({"settings": bare})
        entry["matched"] = matched_change(bare, matched)
        report.append(entry)
    sys.path.insert(0, str(Path(__file__).parent))
    import carried_state

    return {"n_tests": n_tests, "n_equivalence_tests": n_equiv, "alpha": ALPHA, "margin": MARGIN,
            "min_learned": MIN_LEARNED, "n_boot": N_BOOT, "claims": report,
            "language_models": carried_state.evaluate(store)}


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
            return f"{v:.2e}"
        return f"{v:.{digits}g}"
    return str(v)


def signed(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3f}"


def score_text(sm: dict[str, Any]) -> str:
    if sm["all_failed"] and sm["scored"]:
        return "floor (all failed)"
    from arena.leaderboard import score_text as text

    return text(sm["score"], sm["ci_low"], sm["ci_high"], sm["scores"])


def diff_text(ch: dict[str, Any]) -> str:
    if ch["mean_diff"] is None:
        return "—"
    if ch["diff_ci"][0] is not None:
        return f"{signed(ch['mean_diff'])} [{signed(ch['diff_ci'][0])}, {signed(ch['diff_ci'][1])}]"
    return f"{signed(ch['mean_diff'])} (values " + ", ".join(f"{v:+.3g}" for v in ch["diffs"]) + ")"


def anchors_text(st: dict[str, Any]) -> str:
    arrow = "↑" if st["higher_is_better"] else "↓"
    if not st["scored"]:
        return (f"Test `{st['metric']}` {arrow}: the task declares no usable anchors, so the values are "
                "compared unnormalised and failed runs are left out of the tests")
    scale = "log scale, " if st["scale"] == "log" else ""
    return f"Test `{st['metric']}` {arrow} ({scale}chance {fmt(st['chance'])} → score 0, solved {fmt(st['solved'])} → score 1)"


def render(result: dict[str, Any], intro: str) -> str:
    by_id = {c.id: c for c in CLAIMS}
    out = [intro.rstrip(), ""]
    out += ["## Summary", "", "| claim | source | verdict | at matched capacity |", "|---|---|---|---|"]
    for entry in result["claims"]:
        c = by_id[entry["id"]]
        out.append(f"| [{c.title}](#{c.id}) | {c.source} | {entry['verdict']} | {entry.get('matched', 'not run yet')} |")
    lm = result.get("language_models")
    if lm is not None:
        out.append(f"| [GRUfinity: a carried state lowers the test bits per character](#grufinity-carried-state) | "
                   f"GRUfinity README | {lm['verdict']} | (tested at matched capacity) |")
        out.append("| [MARU: O(1) generation](#maru-generation) | MARU README | "
                   f"{'measured' if lm['speed'] else 'not measured yet'} | — |")
    out.append("")
    margin, n_boot = fmt(result["margin"]), f"{result['n_boot']:,}"
    for entry in result["claims"]:
        c = by_id[entry["id"]]
        out += [f"<a id=\"{c.id}\"></a>", f"## {c.title}", "", f"- **Source:** {c.source}.",
                f"- **Published:** {c.published}.",
                f"- **Assertions checked:** {', '.join('`' + a + '`' for a in c.assertions)} (first = headline)."]
        if c.notes:
            out.append(f"- **Settings:** {c.notes}")
        if c.untested:
            out.append(f"- **Not run here:** {c.untested}")
        out.append("")
        if not entry["settings"]:
            out += ["**Verdict: not testable here** — no stored setting has these cells.", ""]
            continue
        for st in entry["settings"]:
            value_kind = "geometric mean" if st["scale"] == "log" else "mean"
            out += [f"### {st['where']}: {st['verdict']}", "",
                    (f"{anchors_text(st)}. Value: {value_kind} of the finished runs; score: mean over seeds "
                     "with its 95 % t-interval (the values when n < 5); failed or diverged runs score −1."), "",
                    f"| cell | value ({value_kind}) | score [95 % CI] | n | failed/diverged |", "|---|---|---|---|---|"]
            for cell, sm in st["summary"].items():
                k = sm["failed"] + sm["diverged"]
                value = f"failed ({k}/{sm['n']})" if sm["all_failed"] else fmt(sm["value"], 4)
                out.append(f"| {cell} | {value} | {score_text(sm)} | {sm['n']} | {k} |")
            out += ["", ("| assertion | n | score A − B [95 % CI] | p (paired t) | p (Holm) | p TOST (Holm) | d_z | "
                         f"P(A better) [95 % CI, {n_boot} resamples] | holds |"),
                    "|---|---|---|---|---|---|---|---|---|"]
            for ch in st["checks"]:
                pi = fmt(ch["prob_improvement"], 2)
                if ch["pi_ci"][0] is not None:
                    pi += f" [{fmt(ch['pi_ci'][0], 2)}, {fmt(ch['pi_ci'][1], 2)}]"
                tost = fmt(ch["p_tost_holm"]) if ch["op"] == "~" else ""
                out.append(f"| `{ch['assertion']}` | {ch['n']} | {diff_text(ch)} | {fmt(ch['p_ttest'])} | "
                           f"{fmt(ch['p_holm'])} | {tost} | {fmt(ch['effect_size'], 2)} | {pi} | {ch['holds']} |")
            out.append("")
    if lm is not None:
        import carried_state

        out += carried_state.render(lm)
    out += [(f"*{result['n_tests']} assertions in all, {result['n_equivalence_tests']} of them `~`. "
            "Scores: chance = 0, solved = 1 on the metric's scale (log10 for errors); failed and diverged "
            "runs, and finished runs below it, score the floor −1, so a failure never counts as a "
            "chance-level result. Each claim is one family: the paired t-test p-values of all its "
            "assertions on all its settings are Holm-corrected together, and separately the TOST p-values "
            f"of its `~` assertions, at α = {result['alpha']}. `A > B` holds (yes) when A is shown better and "
            f"A's mean score is at least {fmt(result['min_learned'])} (5 % of the way from chance to solved); "
            "*at chance* when shown better below that; *reversed* when shown worse; *no* when inconclusive "
            "(not shown better, which is not the same as tied). `A ~ B` holds (yes, equivalent) when TOST "
            f"shows the mean score difference within ±{margin} (5 % of the chance-to-solved range); "
            "*differs* when it does not and the t-test shows a difference; *not shown* otherwise — a "
            "difference that is not significant is not evidence of equality, and more `~` assertions in "
            "a claim make equivalence harder to show. A difference smaller than the margin can be both "
            "significant and equivalent: `~` then holds. `~` never holds where one cell's run failed and the "
            "other's finished on the same seed. d_z: mean difference over its standard deviation, positive "
            "when A is better. P(A better): share of matched seeds on which A scores higher (ties ½), its "
            f"CI a percentile bootstrap over the seed pairs with n_boot = {n_boot} resamples. "
            "Generated by `python benchmarks/reproduction.py` from `leaderboard.db`; "
            "`tests/test_reproduction.py` checks that this file matches the store.*"), ""]
    return "\n".join(out)


def intro_text() -> str:
    """The hand-written part of the report: everything above the generated marker."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    marker = "<!-- generated below by benchmarks/reproduction.py -->"
    head = text.split(marker)[0] if marker in text else "# Reproduction report\n"
    return head.rstrip() + "\n\n" + marker + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=DEFAULT_DB)
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/reproduction.md is out of date")
    args = ap.parse_args(argv)
    result = {"db": "leaderboard.db" if args.db == DEFAULT_DB else args.db, **evaluate(args.db)}
    text = render(result, intro_text())
    if args.check:
        if DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python benchmarks/reproduction.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    JSON_OUT.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {DOC} and {JSON_OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
