"""What the leaderboard may claim: per-setting summaries with CIs and rank intervals, pairwise
comparisons on matched seeds, and the cross-task aggregate (see docs/methodology.md).

A *setting* is one task with one preset and one set of parameters (a sweep value is its own
setting). Failed and diverged runs count as results at the task's chance level (stored with
each run); runs still planned, running or interrupted are left out.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from arena import stats
from arena.stats.aggregate import PENDING_STATUSES
from arena.results import natural_key, setting_labels
from arena.store import Store

#: Replicates for the leaderboard's bootstraps (the stats functions' default is 10,000; the
#: leaderboard uses fewer so that large stores stay fast; `arena compare` uses the default).
BOARD_BOOT = 2000


@dataclass
class Setting:
    task: str
    preset: str
    label: str
    metric: str
    higher: bool
    chance: float | None
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # cell → runs (by seed)
    values: dict[str, dict[int, float | None]] = field(default_factory=dict)  # cell → seed → metric

    def scored(self, cell: str) -> dict[str, Any]:
        """The cell's per-seed scores under the failure convention, with counts."""
        runs = self.runs[cell]
        vals = [self.values[cell].get(r["seed"]) for r in runs]
        statuses = [r["status"] for r in runs]
        if self.chance is None:
            # Without a chance level failures cannot be scored: leave them out and say so.
            keep = [(v, r) for v, r in zip(vals, runs) if r["status"] == "done" and v is not None]
            out = {"values": [v for v, _ in keep], "seeds": [r["seed"] for _, r in keep],
                   "n_failed": statuses.count("failed"), "n_diverged": statuses.count("diverged")}
            out["n"] = len(out["values"])
            out["failure_rate"] = None
            return out
        wf = stats.with_failures(vals, statuses, self.chance)
        wf["seeds"] = [r["seed"] for r in runs if r["status"] not in PENDING_STATUSES]
        return wf


def load_settings(store: Store, task: str | None = None, keys: Iterable[str] | None = None) -> list[Setting]:
    runs = store.runs(task=task, keys=keys)
    metrics = store.metrics(keys=[r["key"] for r in runs] if keys is not None else None, split="test")
    labels = setting_labels(runs)
    out: dict[tuple[str, str, str], Setting] = {}
    for r in runs:
        ident = (r["task"], r["preset"], labels[r["key"]])
        main = r["main_metric"]
        if ident not in out:
            chance = (r.get("chance") or {}).get(main)
            out[ident] = Setting(r["task"], r["preset"], labels[r["key"]], main,
                                 bool(r["directions"].get(main, True)), chance)
        s = out[ident]
        if s.chance is None and (r.get("chance") or {}).get(main) is not None:
            s.chance = r["chance"][main]
        s.runs.setdefault(r["cell"], []).append(r)
        s.values.setdefault(r["cell"], {})[r["seed"]] = metrics.get(r["key"], {}).get("test", {}).get(main)
    for s in out.values():
        for cell in s.runs:
            s.runs[cell].sort(key=lambda r: r["seed"])
        if s.chance is None:
            s.chance = _plugin_chance(s)
    return sorted(out.values(), key=lambda s: (s.task, s.preset, natural_key(s.label)))


def _plugin_chance(s: Setting) -> float | None:
    """Chance level from the installed task plugin, for runs stored before chance was recorded."""
    try:
        from arena.host import get_host

        run = next(iter(s.runs.values()))[0]
        value = get_host().tasks.get(s.task).load()(**run["params"]).chance().get(s.metric)
        return None if value is None else float(value)
    except Exception:  # noqa: BLE001 - no plugin, or it cannot say: failures stay unscored
        return None


def task_board(store: Store, task: str | None = None, keys: Iterable[str] | None = None,
               n_boot: int = BOARD_BOOT) -> list[dict[str, Any]]:
    """One row per cell and setting: mean ± std, n, 95% CI (min–max when n < 5), rank with its
    bootstrap interval, tied-with-leader mark and failure counts; best first per setting."""
    rows = []
    for s in load_settings(store, task, keys):
        scored = {c: s.scored(c) for c in s.runs}
        present = {c: v for c, v in scored.items() if v["n"]}
        seed_sets = {tuple(v["seeds"]) for v in present.values()}
        ranks = stats.rank_intervals({c: v["values"] for c, v in present.items()}, higher_is_better=s.higher,
                                     n_boot=n_boot, paired=len(seed_sets) == 1) if present else {}
        block = []
        for cell, sc in scored.items():
            summ = stats.summarise(sc["values"], n_boot=n_boot)
            rk = ranks.get(cell, {})
            block.append({
                "task": s.task, "preset": s.preset, "setting": s.label, "cell": cell,
                "metric": f"{s.metric} {'↑' if s.higher else '↓'}", "mean": summ["mean"], "std": summ["std"],
                "n": summ["n"], "median": summ["median"], "ci_low": summ["ci_low"], "ci_high": summ["ci_high"], "ci_method": summ["ci_method"],
                "rank": rk.get("rank"), "rank_low": rk.get("rank_low"), "rank_high": rk.get("rank_high"),
                "leader": rk.get("leader", False), "tied_with_leader": rk.get("tied_with_leader"),
                "p_vs_leader": rk.get("p_vs_leader"), "failed": sc["n_failed"], "diverged": sc["n_diverged"],
                "failure_rate": sc["failure_rate"], "chance": s.chance,
                "params": s.runs[cell][0]["params"], "cell_options": s.runs[cell][0]["cell_options"],
            })
        block.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["cell"]))
        rows.extend(block)
    for r in rows:
        r.update(display(r))
    return rows


def display(r: dict[str, Any]) -> dict[str, str]:
    """Human-readable columns of a board row."""
    mean = "—" if r["mean"] is None else f"{r['mean']:.4g}" + (f" ± {r['std']:.2g}" if r["std"] is not None else "")
    if r["ci_low"] is None:
        ci = ""
    elif r["ci_method"] and r["ci_method"].startswith("min-max"):
        ci = f"min–max [{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
    else:
        ci = f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
    rank = "" if r["rank"] is None else f"{r['rank']:g} [{r['rank_low']:g}–{r['rank_high']:g}]"
    mark = "★" if r["leader"] else ("=" if r["tied_with_leader"] else "")
    return {"mean ± std": mean, "95% CI": ci, "rank [95%]": rank, "tied": mark}


def aggregate_board(store: Store, task: str | None = None, n_boot: int = BOARD_BOOT) -> dict[str, Any]:
    """Normalised scores across settings (chance = 0, best observed cell mean = 1): IQM and mean
    with stratified bootstrap CIs, IQM rank intervals, and Friedman then Nemenyi over settings."""
    settings = [s for s in load_settings(store, task) if s.chance is not None]
    columns, per_cell_scores = [], defaultdict(dict)
    for s in settings:
        scored = {c: s.scored(c) for c in s.runs}
        means = [float(np.mean(v["values"])) for v in scored.values() if v["n"]]
        if not means:
            continue
        best = max(means) if s.higher else min(means)
        if (best <= s.chance) if s.higher else (best >= s.chance):
            continue  # no cell beats chance: the setting cannot be normalised (listed as skipped)
        col = f"{s.task}[{s.preset}]" + (f"{{{s.label}}}" if s.label else "")
        columns.append(col)
        for cell, v in scored.items():
            if v["n"]:
                per_cell_scores[cell][col] = [stats.normalise(x, chance=s.chance, best=best, higher_is_better=s.higher)
                                              for x in v["values"]]
    full = [c for c in per_cell_scores if len(per_cell_scores[c]) == len(columns)]
    # The aggregate needs a complete cell × setting block. Two ways to get one: leave out the
    # cells that miss a setting, or leave out the settings that some cell did not run (sweeps,
    # reference presets run for a few cells). Keep whichever block is larger.
    common = [col for col in columns if all(col in per_cell_scores[c] for c in per_cell_scores)]
    left_out: list[str] = []
    if len(common) * len(per_cell_scores) > len(full) * len(columns):
        left_out = [col for col in columns if col not in common]
        columns, full = common, list(per_cell_scores)
    partial = sorted(set(per_cell_scores) - set(full))
    if not columns or not full:
        return {"rows": [], "settings": columns, "partial": partial, "left_out_settings": left_out,
                "friedman": None}
    mats = {}
    for cell in full:
        depth = max(len(v) for v in per_cell_scores[cell].values())
        m = np.full((depth, len(columns)), np.nan)
        for j, col in enumerate(columns):
            vals = per_cell_scores[cell][col]
            m[: len(vals), j] = vals
        mats[cell] = m
    agg = stats.aggregate(mats, n_boot=n_boot)
    ranks = iqm_rank_intervals(mats, n_boot=n_boot)
    block = np.array([[np.nanmean(mats[c][:, j]) for c in full] for j in range(len(columns))])
    fn = stats.friedman_nemenyi(block, full, higher_is_better=True) if len(full) >= 3 and len(columns) >= 2 else None
    rows = []
    for cell in full:
        a, rk = agg[cell], ranks[cell]
        rows.append({"cell": cell, "iqm": a["iqm"], "iqm_ci_low": a["iqm_ci_low"], "iqm_ci_high": a["iqm_ci_high"],
                     "mean": a["mean"], "mean_ci_low": a["mean_ci_low"], "mean_ci_high": a["mean_ci_high"],
                     "n_tasks": a["n_tasks"], "n_runs": a["n_runs"], "rank": rk["rank"], "rank_low": rk["rank_low"],
                     "rank_high": rk["rank_high"], "ci_method": a["ci_method"],
                     "mean_rank": fn["mean_ranks"][cell] if fn else None})
    rows.sort(key=lambda r: r["rank"])
    for r in rows:
        ci = "" if r["iqm_ci_low"] is None else f" [{r['iqm_ci_low']:.3f}, {r['iqm_ci_high']:.3f}]"
        mci = "" if r["mean_ci_low"] is None else f" [{r['mean_ci_low']:.3f}, {r['mean_ci_high']:.3f}]"
        r["IQM [95% CI]"] = f"{r['iqm']:.3f}{ci}"
        r["mean [95% CI]"] = f"{r['mean']:.3f}{mci}"
        r["rank [95%]"] = f"{r['rank']:g} [{r['rank_low']:g}–{r['rank_high']:g}]"
    return {"rows": rows, "settings": columns, "partial": partial, "left_out_settings": left_out, "friedman": fn}


def iqm_rank_intervals(mats: dict[str, np.ndarray], *, n_boot: int = BOARD_BOOT, seed: int = 0,
                       alpha: float = stats.ALPHA) -> dict[str, dict[str, float]]:
    """Rank (1 = best IQM) with a stratified-bootstrap interval: runs resampled within each task."""
    import scipy.stats as st

    cells = list(mats)
    obs = np.array([stats.iqm(mats[c]) for c in cells])
    boot = np.empty((n_boot, len(cells)))
    for j, c in enumerate(cells):
        rng = stats.make_rng(seed, "rank", c)
        cols = [col[~np.isnan(col)] for col in mats[c].T]
        sample = np.concatenate([col[rng.integers(0, len(col), size=(n_boot, len(col)))] for col in cols], axis=1)
        boot[:, j] = st.trim_mean(sample, 0.25, axis=1)
    ranks = st.rankdata(-boot, axis=1)
    low = np.quantile(ranks, alpha / 2, axis=0, method="lower")
    high = np.quantile(ranks, 1 - alpha / 2, axis=0, method="higher")
    obs_rank = st.rankdata(-obs)
    return {c: {"rank": float(obs_rank[j]), "rank_low": float(low[j]), "rank_high": float(high[j])}
            for j, c in enumerate(cells)}


def compare(store: Store, a: str, b: str, task: str | None = None, n_boot: int = stats.N_BOOT) -> list[dict[str, Any]]:
    """A against B on every setting both ran, on matched seeds: paired t-test and Wilcoxon, Holm
    over the comparisons shown (on the Wilcoxon p-values), effect size d_z, P(A better than B)
    with a bootstrap CI. Failures count at chance level."""
    rows = []
    for s in load_settings(store, task):
        if a not in s.runs or b not in s.runs:
            continue
        sa, sb = s.scored(a), s.scored(b)
        va, vb = dict(zip(sa["seeds"], sa["values"])), dict(zip(sb["seeds"], sb["values"]))
        seeds = sorted(set(va) & set(vb))
        row: dict[str, Any] = {"task": s.task, "preset": s.preset, "setting": s.label,
                               "metric": s.metric, "higher_is_better": s.higher, "a": a, "b": b, "seeds": seeds}
        if seeds:
            row.update(stats.paired([va[k] for k in seeds], [vb[k] for k in seeds], higher_is_better=s.higher,
                                    n_boot=n_boot))
        else:
            row.update({"n": 0, "mean_a": None, "mean_b": None, "p_ttest": None, "p_wilcoxon": None,
                        "effect_size": None, "prob_improvement": None, "ci_low": None, "ci_high": None})
        row["failure_rate_a"], row["failure_rate_b"] = sa.get("failure_rate"), sb.get("failure_rate")
        rows.append(row)
    for r, p in zip(rows, stats.holm([r.get("p_wilcoxon") for r in rows])):
        r["p_holm"] = p
    for r, p in zip(rows, stats.holm([r.get("p_ttest") for r in rows])):
        r["p_ttest_holm"] = p
    return rows


def board_matrix(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """The whole board as one setting × cell table (for a README): each entry is the mean of the
    setting's main test metric, ``★`` for the leader, ``=`` for cells not shown worse than it,
    and ``(n=k)`` when fewer than 5 seeds count. Returns (columns, rows): one row per setting,
    one column per cell in name order."""
    cells = sorted({r["cell"] for r in rows}, key=natural_key)
    table: dict[str, dict[str, str]] = {}
    for r in rows:
        setting = r["task"] + ("" if r["preset"] == "standard" else f" ({r['preset']})")
        if r["setting"]:
            setting += f" [{r['setting']}]"
        row = table.setdefault(setting, {"setting": setting, "metric": r["metric"], **{c: "" for c in cells}})
        if r["mean"] is None:
            text = "—"
        else:
            text = f"{r['mean']:.3g}"
            text += " ★" if r["leader"] else (" =" if r["tied_with_leader"] else "")
            if r["n"] < 5:
                text += f" (n={r['n']})"
        row[r["cell"]] = text
    return ["setting", "metric", *cells], list(table.values())
