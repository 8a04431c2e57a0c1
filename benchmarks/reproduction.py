"""Check the reference repositories' published claims against the runs in a store.

Each claim (from ../shared/specs/cells-and-tasks.md) is a list of assertions about two cells on
one task — ``A > B`` (A is better, in the metric's direction) or ``A ~ B`` (no difference shown)
— checked on every stored setting that matches it: the reference preset where it was run, and
``standard``. Every assertion is a paired t-test over matched seeds (failed and diverged runs
count at the task's chance level), Holm-corrected over the claim's assertions on all its
settings (each claim is one family of hypotheses); with 5 seeds
the Wilcoxon test cannot go below p = 0.0625, so the t-test is the one that can decide.

Verdict per setting:
- *reproduced*: every assertion holds (``>``: p_holm < 0.05 in the claimed direction and A at
  least 5 % of the way from chance to a perfect score; ``~``: p_holm ≥ 0.05).
- *partly reproduced*: the first (headline) assertion holds, some other does not.
- *not reproduced*: the headline assertion does not hold (not shown, or significantly reversed);
  "right direction, not significant" says the means lean the claimed way.
- *not testable here*: no stored setting has the cells; the claim says why.

    python benchmarks/reproduction.py            # reads leaderboard.db, writes docs/reproduction.md
    python benchmarks/reproduction.py --check    # exit 1 if docs/reproduction.md is out of date
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reproduction.md"
JSON_OUT = Path(__file__).parent / "results" / "reproduction.json"
DEFAULT_DB = f"sqlite:///{ROOT / 'leaderboard.db'}"
ALPHA = 0.05
#: A cell "beats" another only if it also learned something: its mean is at least this far from
#: chance towards a perfect score. Without it, two cells at chance (say 0.2507 against 0.2484 on
#: four classes) can differ "significantly" over 5 seeds.
MIN_LEARNED = 0.05


@dataclass(frozen=True)
class Where:
    """A stored setting: task, preset and the parameters that must match (sweep values)."""
    task: str
    preset: str
    params: tuple[tuple[str, Any], ...] = ()

    def label(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"`{self.task}` `{self.preset}`" + (f" ({extra})" if extra else "")


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


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "aru-counting", "ARU counts far better than GRU (counting)", "ARU phase 3, one seed (42)",
        "test MSE: ARU 0.0014 · GRU 0.1405 · LSTM 0.4061 · RNN 1.6678 (T=100, p=0.1)",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("counting", "aru"), Where("counting", "standard")),
        cells=("aru", "gru", "lstm", "rnn"),
        notes="Preset `aru` is the reference's setting (8,000 sequences, hidden 64, Adam 1e-3, batch 128, "
              "30 epochs, patience 8). `standard` is shorter (4,000 sequences, 20 epochs, lr 3e-3).",
    ),
    Claim(
        "aru-copy", "ARU copies, GRU does not (copy, T=10, D=50)", "ARU phase 2, one seed (42)",
        "sequence / symbol accuracy: ARU 74.2 % / 96.9 % · GRU 0 / 50.5 % · LSTM 0 / 34.3 % · RNN 0 / 12.9 %",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("copy", "aru"), Where("copy", "standard")),
        cells=("aru", "gru", "lstm", "rnn"),
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
        untested="Preset `aru` (T=500, 3,500 sequences, 25 epochs) was not run: about 5 CPU-minutes per run.",
        notes="`standard` has T=100, q=0.05 (5 events on average) and 12 epochs.",
    ),
    Claim(
        "aru-adding", "GRU and ARU solve the adding problem; LSTM and RNN do not", "ARU phase 5, one seed (42)",
        "test MSE: GRU 0.0009 · ARU 0.0013 · LSTM 0.1631 · RNN 0.1661 (T=200; solved below 0.01)",
        ("aru > lstm", "gru > lstm", "aru > rnn", "gru ~ aru"),
        (Where("adding", "aru"), Where("adding", "standard")),
        cells=("gru", "aru", "lstm", "rnn"),
        untested="Preset `aru` (T=200, 10,000 sequences, hidden 128, 50 epochs) was not run: about 15 "
                 "CPU-minutes per run here.",
        notes="`standard` has T=50, 3,000 sequences and 12 epochs.",
    ),
    Claim(
        "aru-ag-news", "On AG News GRU ≥ ARU ≥ LSTM, far above RNN", "ARU phase 1, one seed (42)",
        "test accuracy: GRU 89.29 % · ARU 88.46 % · LSTM 87.61 % · RNN 26.51 %",
        ("gru > rnn", "aru > rnn", "gru ~ aru"),
        (Where("ag-news", "standard"), Where("ag-news", "small")),
        cells=("gru", "aru", "lstm", "rnn"),
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
        (Where("interference", "mogru"),
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
        (Where("cwru", "mogru"),
         Where("cwru", "standard", (("noise", 0.0),)),
         Where("cwru", "standard", (("noise", 0.5),)),
         Where("cwru", "standard", (("noise", 1.0),)),
         Where("cwru", "standard", (("noise", 2.0),))),
        cells=("gru", "lstm", "mogru", "momgru", "aru"),
        untested="Preset `mogru` (windows of 1,024 steps, 15 epochs) was not run: about 4 CPU-minutes per "
                 "run. Its random window split leaks overlapping windows into the test set anyway.",
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
        if s.task != where.task or s.preset != where.preset:
            continue
        params = next(iter(s.runs.values()))[0]["params"]
        if all(params.get(k) == v for k, v in where.params):
            return s
    return None


def evaluate(db: str) -> dict[str, Any]:
    """Every claim's assertions on every matching stored setting, Holm-corrected over the report."""
    from arena import stats
    from arena.leaderboard import load_settings
    from arena.store import open_store

    store = open_store(db, write=False)
    settings = load_settings(store)
    report: list[dict[str, Any]] = []
    n_tests = 0
    for claim in CLAIMS:
        tests: list[dict[str, Any]] = []
        entry: dict[str, Any] = {"id": claim.id, "settings": []}
        for where in claim.where:
            s = find_setting(settings, where)
            if s is None:
                continue
            scored = {c: s.scored(c) for c in s.runs}
            summary = {}
            for c in claim.cells:
                if c in scored and scored[c]["n"]:
                    summ = stats.summarise(scored[c]["values"], n_boot=2000)
                    summary[c] = {"mean": summ["mean"], "ci_low": summ["ci_low"], "ci_high": summ["ci_high"],
                                  "ci_method": summ["ci_method"], "n": summ["n"],
                                  "failed_or_diverged": scored[c]["n_failed"] + scored[c]["n_diverged"]}
            checks = []
            for text in claim.assertions:
                a, op, b = parse(text)
                if a not in scored or b not in scored:
                    continue
                va = dict(zip(scored[a]["seeds"], scored[a]["values"]))
                vb = dict(zip(scored[b]["seeds"], scored[b]["values"]))
                seeds = sorted(set(va) & set(vb))
                if not seeds:
                    continue  # runs still pending: nothing to test yet
                res = stats.paired([va[k] for k in seeds], [vb[k] for k in seeds], higher_is_better=s.higher,
                                   n_boot=2000)
                check = {"assertion": text, "a": a, "op": op, "b": b, "n": res["n"], "mean_a": res["mean_a"],
                         "mean_b": res["mean_b"], "p_ttest": res["p_ttest"], "effect_size": res["effect_size"],
                         "prob_improvement": res["prob_improvement"], "pi_ci": [res["ci_low"], res["ci_high"]],
                         "learned_a": learned(res["mean_a"], s.chance, s.higher)}
                checks.append(check)
                tests.append(check)
            if checks:
                entry["settings"].append({"where": where.label(), "metric": s.metric, "higher_is_better": s.higher,
                                          "chance": s.chance, "summary": summary, "checks": checks})
        # Each claim is its own family: Holm over its assertions on all its settings.
        for check, p in zip(tests, stats.holm([t["p_ttest"] for t in tests])):
            check["p_holm"] = p
            check["holds"] = holds(check)
        n_tests += len(tests)
        report.append(entry)
    for entry in report:
        for st in entry["settings"]:
            st["verdict"] = verdict(st["checks"])
        entry["verdict"] = claim_verdict(entry)
    return {"n_tests": n_tests, "alpha": ALPHA, "claims": report}


def learned(mean: float | None, chance: float | None, higher: bool) -> float | None:
    """How far a mean is from chance towards a perfect score (1 for accuracies, 0 for errors):
    0 at chance, 1 perfect."""
    from arena.stats import normalise

    best = 1.0 if higher else 0.0
    if mean is None or chance is None or best == chance:
        return None
    return normalise(mean, chance=chance, best=best, higher_is_better=higher)


def holds(check: dict[str, Any]) -> str:
    """'yes'; for ``>``: 'reversed' (significant the other way), 'no' (not shown) or 'at chance'
    (significant, but A is within MIN_LEARNED of chance, so "better" means nothing); for ``~``:
    'differs'."""
    p = check["p_holm"]
    significant = p is not None and p < ALPHA
    if check["op"] == "~":
        # Every difference zero (p undefined) means no difference.
        return "differs" if significant else "yes"
    if not significant:
        return "no"
    if (check["effect_size"] or 0) <= 0:
        return "reversed"
    la = check.get("learned_a")
    return "at chance" if la is not None and la < MIN_LEARNED else "yes"


def verdict(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "not testable here"
    head = checks[0]["holds"]
    if head == "no":
        right_way = (checks[0]["effect_size"] or 0) > 0 if checks[0]["op"] == ">" else False
        return "not reproduced" + (" (right direction, not significant)" if right_way else "")
    if head != "yes":
        return "not reproduced"
    return "reproduced" if all(c["holds"] == "yes" for c in checks) else "partly reproduced"


def claim_verdict(entry: dict[str, Any]) -> str:
    """The verdict under the reference preset when it ran, else under the settings that did."""
    if not entry["settings"]:
        return "not testable here"
    verdicts = [s["verdict"] for s in entry["settings"]]
    return ", ".join(f"{v} ({s['where']})" for v, s in zip(verdicts, entry["settings"]))


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
            return f"{v:.2e}"
        return f"{v:.{digits}g}"
    return str(v)


def render(result: dict[str, Any], intro: str) -> str:
    by_id = {c.id: c for c in CLAIMS}
    out = [intro.rstrip(), ""]
    out += ["## Summary", "", "| claim | source | verdict |", "|---|---|---|"]
    for entry in result["claims"]:
        c = by_id[entry["id"]]
        out.append(f"| [{c.title}](#{c.id}) | {c.source} | {entry['verdict']} |")
    out.append("")
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
            arrow = "↑" if st["higher_is_better"] else "↓"
            out += [f"### {st['where']}: {st['verdict']}", "",
                    f"Test `{st['metric']}` {arrow} (chance {fmt(st['chance'])}), mean over seeds with 95 % CI "
                    "(min–max when n < 5); failed or diverged runs count at chance:", "",
                    "| cell | mean | 95 % CI | n | failed/diverged |", "|---|---|---|---|---|"]
            for cell, sm in st["summary"].items():
                out.append(f"| {cell} | {fmt(sm['mean'], 4)} | [{fmt(sm['ci_low'], 4)}, {fmt(sm['ci_high'], 4)}] | "
                           f"{sm['n']} | {sm['failed_or_diverged']} |")
            out += ["", "| assertion | n | p (paired t) | p (Holm) | d_z | P(A better) [95 % CI] | holds |",
                    "|---|---|---|---|---|---|---|"]
            for ch in st["checks"]:
                pi = fmt(ch["prob_improvement"], 2)
                if ch["pi_ci"][0] is not None:
                    pi += f" [{fmt(ch['pi_ci'][0], 2)}, {fmt(ch['pi_ci'][1], 2)}]"
                out.append(f"| `{ch['assertion']}` | {ch['n']} | {fmt(ch['p_ttest'])} | {fmt(ch['p_holm'])} | "
                           f"{fmt(ch['effect_size'], 2)} | {pi} | {ch['holds']} |")
            out.append("")
    out += [f"*{result['n_tests']} assertions in all, Holm-corrected within each claim at α = {result['alpha']}; "
            "`~` holds when no difference is shown, which is not proof of equality. "
            "Generated by `python benchmarks/reproduction.py` from `leaderboard.db`; "
            "`tests/test_reproduction.py` checks that this file matches the store.*", ""]
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
