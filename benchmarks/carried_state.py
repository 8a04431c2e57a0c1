"""Two language-modelling claims for docs/reproduction.md (imported by reproduction.py).

GRUfinity: passing the hidden state from chunk to chunk gives unbounded context, so a stacked
minGRU's test bits per character are lower with the state carried through the whole test split
than with it reset every chunk. char-lm stores that difference per run as ``reset_gap`` =
bpc_reset − bpc (bits per character, test split). For every cell and track on char-lm
`standard`: the mean gap over seeds with its 95 % t-interval and a two-sided one-sample t-test
of gap = 0, Holm-corrected over all rows. The claim holds when the stacked minGRU's gap is
shown above 0 (adjusted p < 0.05); it is *reversed* when shown below 0.

MARU: O(1) autoregressive generation. benchmarks/generation_speed.py times generation through
step() for every cell at char-lm's matched budget; the report quotes its file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ALPHA = 0.05
HEADLINE = ("mingru", "matched 2×residual-mlp")
SPEED = Path(__file__).parent / "results" / "generation_speed.json"


def evaluate(store: Any) -> dict[str, Any]:
    import numpy as np

    from arena.stats.bootstrap import t_interval
    from arena.stats.pairwise import holm, one_sample_p
    from arena.tracks import sort_key, track_of

    runs = [r for r in store.runs(task="char-lm", statuses=["done"]) if r["preset"] == "standard"]
    metrics = store.metrics(keys=[r["key"] for r in runs], split="test")
    groups: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        gap = metrics.get(r["key"], {}).get("test", {}).get("reset_gap")
        if gap is not None:
            groups.setdefault((r["cell"], track_of(r["train"])), []).append(gap)
    rows = []
    for (cell, track), gaps in sorted(groups.items(), key=lambda kv: (sort_key(kv[0][1]), kv[0][0])):
        lo, hi = t_interval(np.array(gaps)) if len(gaps) >= 2 else (None, None)
        rows.append({"cell": cell, "track": track, "n": len(gaps), "mean_gap": float(np.mean(gaps)),
                     "ci": [lo, hi], "p": one_sample_p(gaps, 0.0)})
    for row, adjusted in zip(rows, holm([r["p"] for r in rows])):
        row["p_holm"] = adjusted
    head = next((r for r in rows if (r["cell"], r["track"]) == HEADLINE), None)
    if head is None or head["p_holm"] is None:
        verdict = "not run yet" if head is None else "not testable (fewer than 2 seeds)"
    elif head["p_holm"] < ALPHA:
        verdict = "reproduced" if head["mean_gap"] > 0 else "not reproduced (reversed)"
    else:
        verdict = "not reproduced (not significant)"
    speed = json.loads(SPEED.read_text()) if SPEED.exists() else None
    return {"verdict": verdict, "rows": rows, "speed": speed}


def render(result: dict[str, Any]) -> list[str]:
    def num(v: Any, fmt: str = "{:+.4f}") -> str:
        return "—" if v is None else fmt.format(v)

    out = ['<a id="grufinity-carried-state"></a>',
           "## GRUfinity: a carried state lowers the test bits per character (char-lm)", "",
           "- **Source:** GRUfinity README (ekg/grufinity): TBPTT with hidden-state passing gives "
           "\"unlimited context length with fixed memory\"; it reports no numbers.",
           "- **Checked:** `reset_gap` = bpc with the state reset every 128 characters − bpc with it carried "
           "through the whole test split (55,770 characters), per run; headline: minGRU in two residual-mlp "
           "blocks at char-lm's matched budget (track `matched 2×residual-mlp`). Two-sided one-sample t-test "
           "of gap = 0, Holm over every row below, α = 0.05.", "",
           f"**Verdict: {result['verdict']}**", ""]
    if result["rows"]:
        out += ["| cell | track | n | mean gap (bits/char) [95 % CI] | p | p (Holm) |", "|---|---|---|---|---|---|"]
        for r in result["rows"]:
            ci = "" if r["ci"][0] is None else f" [{num(r['ci'][0])}, {num(r['ci'][1])}]"
            out.append(f"| {r['cell']} | {r['track']} | {r['n']} | {num(r['mean_gap'])}{ci} | "
                       f"{num(r['p'], '{:.2g}')} | {num(r['p_holm'], '{:.2g}')} |")
        out.append("")
    out += ['<a id="maru-generation"></a>', "## MARU: O(1) generation, beside GRU's", "",
            "- **Source:** MARU README: a character-level language model whose headline is O(1) "
            "autoregressive generation.", "- **Checked:** `python benchmarks/generation_speed.py` — every "
            "cell at char-lm's matched budget, one character per `step()` call, batch 1, one thread; the "
            "ratio to GRU is the median over interleaved rounds of t(cell) / t(GRU) in the same round; "
            "*long / short* is the time per character after a 4,000-character prompt over that after 16 "
            "(1 = the step cost does not grow with the context).", ""]
    speed = result["speed"]
    if speed is None:
        return out + ["**Not measured yet.**", ""]
    rows = {r["cell"]: r for r in speed["rows"]}
    if "maru" in rows:
        m = rows["maru"]
        out += [f"**MARU: {m['tokens_per_s']:,.0f} characters/s, {m['ratio_to_gru']:.2f}× GRU's time per "
                f"character; long / short {m['long_over_short']:.2f}.**", ""]
    out += ["| cell | width | characters/s | × GRU (time) | long / short |", "|---|---|---|---|---|"]
    out += [f"| {r['cell']} | {r['width']} | {r['tokens_per_s']:,.0f} | {r['ratio_to_gru']:.2f} | "
            f"{r['long_over_short']:.2f} |" for r in speed["rows"]]
    return out + ["", f"*From benchmarks/results/generation_speed.json ({speed['rounds']} rounds, "
                      f"{speed['tokens']} characters per call, {speed['threads']} thread).*", ""]
