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
import statistics
import sys
from pathlib import Path
from typing import Any

from arena import stats
from arena.leaderboard import EQUIVALENCE_MARGIN

sys.path.insert(0, str(Path(__file__).parent))  # the sibling modules below
from reproduction_claims import ARU_BASELINES, CLAIMS, Claim, Where  # noqa: E402
from reproduction_report import render  # noqa: E402

__all__ = ["ARU_BASELINES", "CLAIMS", "Claim", "Where", "evaluate", "main", "render"]

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
#: Seeds a pair needs before its assertion is tested: fewer are shown, marked pending, and left
#: out of the claim's Holm family (a verdict from one seed would be noise presented as a result).
MIN_SEEDS = 5



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
    worse / inconclusive, from A's side) and whether it holds. An assertion with fewer than
    MIN_SEEDS matched seeds is pending: shown, but left out of the family and undecided."""
    pending = [c for c in checks if c["n"] < MIN_SEEDS]
    tested = [c for c in checks if c["n"] >= MIN_SEEDS]
    for ch in pending:
        ch.update(p_holm=None, p_tost_holm=None, decision=None, holds=f"pending ({ch['n']}/{MIN_SEEDS} seeds)")
    for ch, p in zip(tested, stats.holm([c["p_ttest"] for c in tested])):
        ch["p_holm"] = p
        ch["decision"] = stats.decide(ch["mean_diff"], p, higher_is_better=ch["higher_is_better"])
    eq = [c for c in tested if c["op"] == "~"]
    for ch, p in zip(eq, stats.holm([c["p_tost"] for c in eq])):
        ch["p_tost_holm"] = p
    for ch in tested:
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
    if h.startswith("pending"):
        lean = ""
        if head.get("op") == ">" and head.get("mean_diff"):
            lean = f"; {head['a'] if leans_claimed_way(head) else head['b']} ahead so far"
        return f"pending ({head['n']} of {MIN_SEEDS} seeds{lean})"
    waiting = sum(c["holds"].startswith("pending") for c in checks)
    if h == "yes":
        if any(c["holds"] not in ("yes",) and not c["holds"].startswith("pending") for c in checks):
            return "partly reproduced"
        if waiting:
            return f"headline reproduced, {waiting} assertion{'s' * (waiting > 1)} pending"
        return "reproduced"
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
    for claimed in assertions:
        text = resolve(s, claimed, variants)
        a, _, b = parse(text)
        if a not in scored or b not in scored:
            continue
        ch = compare_pair(text, scored[a]["by_seed"], scored[b]["by_seed"], scored=scored[a]["scored"],
                          higher_is_better=s.higher, a_failed=failed_seeds(s, a), b_failed=failed_seeds(s, b))
        if ch is not None:
            checks.append({**ch, "claimed": claimed})  # the claim's wording, before the variants
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


def claim_cells(claim: Claim) -> tuple[str, ...]:
    """The claim's cells, each followed by the reference's own variant of it where it has one."""
    return tuple(dict.fromkeys(c for pair in ((c, dict(claim.variants).get(c, c)) for c in claim.cells)
                               for c in pair))


def run_cost(s: Any, cells: tuple[str, ...], statuses: tuple[str, ...] = stats.RESULT_STATUSES) -> dict[str, dict[str, Any]]:
    """Per stored cell: its runs on the setting with one of ``statuses`` (how many, their seeds),
    the median wall time of one run and their total, as stored (``duration_s``)."""
    out = {}
    for c in cells:
        runs = [r for r in s.runs.get(c, []) if r["status"] in statuses]
        if runs:
            times = [float(r["duration_s"]) for r in runs if r.get("duration_s")]
            out[c] = {"runs": len(runs), "seeds": sorted(r["seed"] for r in runs),
                      "median_s": statistics.median(times) if times else None, "total_s": sum(times)}
    return out


def unrun_cells(claim: Claim, cost: dict[str, Any]) -> list[str]:
    """The claim's cells with no stored run on a setting (neither the cell nor the reference's
    variant of it), named as the reference scale runs them (the variant where there is one)."""
    variants = dict(claim.variants)
    return [variants.get(c, c) for c in claim.cells if c not in cost and variants.get(c, c) not in cost]


def claim_settings(claim: Claim, settings: list[Any], wheres: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The claim's testable stored settings among ``wheres``, with their (unadjusted) checks and
    costs; and the settings not testable yet (not stored, or without a pair), with what is stored."""
    out, waiting = [], []
    for where in wheres:
        s = find_setting(settings, where)
        checks = check_setting(s, claim.assertions, claim.variants) if s is not None else []
        cost = run_cost(s, claim_cells(claim)) if s is not None else {}
        stored = {"reference": where.reference, "cost": cost, "unrun": unrun_cells(claim, cost)}
        if checks:
            entry = setting_entry(where.label(), s, claim_cells(claim), checks)
            entry.update(base=dataclasses.replace(where, track="bare").label(), **stored)
            out.append(entry)
        else:
            waiting.append({"where": where.label(), **stored})
    return out, waiting


def coverage(checks: list[dict[str, Any]], claim: Claim) -> str:
    """A note when a setting tests only some of the claim's assertions (the other cells were not
    run there): its verdict is then about those alone."""
    if len(checks) >= len(claim.assertions):
        return ""
    return f" [{len(checks)} of {len(claim.assertions)} assertions testable]"


NO_HEADLINE = "headline not run yet"  # a setting's verdict prefix when the headline's cells are missing


def setting_verdict(checks: list[dict[str, Any]], claim: Claim) -> str:
    """The setting's verdict. Without the headline's cells it gives no verdict on the claim, only
    what each tested assertion showed: a side assertion must not pass for the claim's fate."""
    if any(c["claimed"] == claim.assertions[0] for c in checks):
        return verdict(checks) + coverage(checks, claim)
    shown = "; ".join(f"`{c['assertion']}`: {c['holds']}" for c in checks)
    return f"{NO_HEADLINE} ({shown}){coverage(checks, claim)}"


def scale_verdict(tested: list[dict[str, Any]], waiting: list[dict[str, Any]], untestable: bool = False) -> str:
    """The verdicts at one scale (the reference's, or arena's smaller presets), setting by
    setting; settings with nothing to test yet say so, or that they cannot be run here
    (``untestable``: the claim states why)."""
    parts = [f"{st['verdict']} ({st['where']})" for st in tested]
    parts += [f"{'not testable here' if untestable and not w['cost'] else 'not run yet'} ({w['where']})"
              for w in waiting]
    return ", ".join(parts) if parts else "—"


def reference_change(reference: list[dict[str, Any]], smaller: list[dict[str, Any]]) -> str:
    """Whether the verdict at the reference's scale differs from the one at arena's smaller preset."""
    done = [st for st in reference if not st["verdict"].startswith(("pending", NO_HEADLINE))]
    if not done or not smaller:
        return ("no verdict at the reference's scale yet" if smaller else
                "the claim has no smaller setting here" if done else "—")
    small = {st["verdict"] for st in smaller}
    ref = {st["verdict"] for st in done}
    if ref == small:
        return f"same verdict ({', '.join(sorted(ref))})"
    return f"{' / '.join(sorted(small))} at the smaller preset → {' / '.join(sorted(ref))} at the reference's scale"


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
        bare, entry["not_run"] = claim_settings(claim, settings, claim.where)
        at_board = matched_wheres(claim)
        matched, _ = claim_settings(claim, settings, at_board)
        entry["settings"] = bare + matched
        for family in (bare, matched):
            checks = [c for st in family for c in st["checks"]]
            adjust_family(checks)
            n_tests += sum(not c["holds"].startswith("pending") for c in checks)
            n_equiv += sum(c["op"] == "~" and not c["holds"].startswith("pending") for c in checks)
        for st in entry["settings"]:
            st["verdict"] = setting_verdict(st["checks"], claim)
        reference = [st for st in bare if st["reference"]]
        smaller = [st for st in bare if not st["reference"]]
        entry["verdict"] = claim_verdict({"settings": bare})
        entry["reference_verdict"] = scale_verdict(reference, [w for w in entry["not_run"] if w["reference"]],
                                                   untestable=bool(claim.untested))
        entry["standard_verdict"] = scale_verdict(smaller, [w for w in entry["not_run"] if not w["reference"]])
        entry["against_standard"] = reference_change(reference, smaller)
        entry["matched"] = matched_change(bare, matched) if at_board else "—"
        report.append(entry)
    import carried_state

    return {"n_tests": n_tests, "n_equivalence_tests": n_equiv, "alpha": ALPHA, "margin": MARGIN,
            "min_learned": MIN_LEARNED, "n_boot": N_BOOT, "claims": report,
            "language_models": carried_state.evaluate(store)}


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
