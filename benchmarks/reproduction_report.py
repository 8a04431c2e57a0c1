"""docs/reproduction.md from the result of ``reproduction.evaluate``: the summary table, each
claim's settings (values, scores, assertions) and the rules in a footnote."""
from __future__ import annotations

import math
from typing import Any

from reproduction_claims import CLAIMS

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


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    return f"{seconds:,.0f} s" if seconds < 600 else f"{seconds / 60:,.0f} min"


def cost_lines(entry: dict[str, Any], untestable: bool = False) -> list[str]:
    """What each reference-scale setting costs here, from the stored runs' wall times, and what
    is still to run (nothing to say of a setting that cannot run here: ``untestable``)."""
    rows = [st for st in entry.get("settings", []) if st.get("reference")]
    rows += [w for w in entry.get("not_run", []) if w["reference"] and not (untestable and not w["cost"])]
    lines = []
    for st in rows:
        cost = st.get("cost", {})
        if not cost:
            lines.append(f"  - {st['where']}: not run yet; no run of it stored, so its cost is not measured yet.")
            continue
        parts = [f"{cell} {duration(c['median_s'])} ({c['runs']} of 5 seeds stored)" for cell, c in cost.items()]
        # the claim's other cells, not run here: the stored cells' times are the measured cost
        unrun = f"; not run: {', '.join(st['unrun'])}" if st.get("unrun") else ""
        lines.append(f"  - {st['where']}: " + ", ".join(parts) + unrun + ".")
    if not lines:
        return []
    return ["- **Cost at the reference's scale** (median wall time of one stored run; the fill runs two "
            "one-thread runs side by side on this 2-core CPU):", *lines]


def render(result: dict[str, Any], intro: str) -> str:
    by_id = {c.id: c for c in CLAIMS}
    out = [intro.rstrip(), ""]
    out += ["## Summary", "",
            "| claim | source | at the reference's scale | at arena's smaller preset | at matched capacity |",
            "|---|---|---|---|---|"]
    for entry in result["claims"]:
        c = by_id[entry["id"]]
        out.append(f"| [{c.title}](#{c.id}) | {c.source} | {entry.get('reference_verdict', '—')} | "
                   f"{entry.get('standard_verdict', entry['verdict'])} | {entry.get('matched', 'not run yet')} |")
    lm = result.get("language_models")
    if lm is not None:
        out.append(f"| [GRUfinity: a carried state lowers the test bits per character](#grufinity-carried-state) | "
                   f"GRUfinity README | — | {lm['verdict']} | (tested at matched capacity) |")
        out.append("| [MARU: O(1) generation](#maru-generation) | MARU README | — | "
                   f"{'measured' if lm['speed'] else 'not measured yet'} | — |")
    out += ["", ("*Reference's scale*: the reference's own preset (its sequence lengths, data sizes, widths "
                 "and epochs; `benchmarks/fill_reference.py`). *Smaller preset*: arena's `standard` (or "
                 "`small`), which tests the claimed ordering at a lower cost. An assertion is *pending* "
                 "until both cells have 5 matched seeds; pending assertions are shown but not tested."), ""]
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
        out += cost_lines(entry, untestable=bool(c.untested))
        if entry.get("against_standard") and not (c.untested and entry.get("reference_verdict", "").startswith("not testable")):
            out.append(f"- **The reference's scale against the smaller preset:** {entry['against_standard']}.")
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


