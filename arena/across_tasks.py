"""The board across tasks: cross-task scores (fixed anchors, failures at the floor, clipped to
[-1, 1]), mean with its t-interval, IQM with a stratified bootstrap, Friedman/Nemenyi mean
ranks with the rank intervals they support, and P(X > Y) for every pair (docs/methodology.md).

No score depends on which other cells are on the board; only the ranks do.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from arena import stats
from arena.leaderboard import BOARD_BOOT, load_settings
from arena.store import Store

#: Score thresholds of the performance profiles: -1 to 1 in steps of 0.05.
PROFILE_TAUS = [round(-1 + 0.05 * i, 2) for i in range(41)]


def setting_column(s: Any) -> str:
    return f"{s.task}[{s.preset}]" + (f"{{{s.label}}}" if s.label else "")


def score_table(store: Store, task: str | None = None, track: str | None = None) -> dict[str, Any]:
    """cell → setting → its runs' cross-task scores on one track (default: the first stored);
    settings that cannot be normalised listed apart."""
    from arena.tracks import pick

    settings = load_settings(store, task)  # one read of the store; the track is picked from it
    track = pick((s.track for s in settings), track)
    per_cell: dict[str, dict[str, list[float]]] = {}
    failures: dict[str, int] = {}
    columns, unscored = [], []
    for s in (s for s in settings if s.track == track):
        col = setting_column(s)
        if s.anchors.problem:
            unscored.append(f"{col} ({s.anchors.problem})")
            continue
        columns.append(col)
        for cell in s.runs:
            sc = s.scored(cell)
            if sc["n"]:
                per_cell.setdefault(cell, {})[col] = [float(v) for v in stats.cross_task(sc["scores"])]
                failures[cell] = failures.get(cell, 0) + sc["n_failed"] + sc["n_diverged"]
    return {"per_cell": per_cell, "columns": columns, "unscored": unscored, "failures": failures, "track": track}


def complete_block(per_cell: dict[str, dict[str, list[float]]], columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(cells, columns, left-out columns) of the largest complete cell × setting block: either
    the cells that miss a setting are left out, or the settings some cell did not run."""
    full = [c for c in per_cell if len(per_cell[c]) == len(columns)]
    common = [col for col in columns if all(col in per_cell[c] for c in per_cell)]
    if len(common) * len(per_cell) > len(full) * len(columns):
        return list(per_cell), common, [col for col in columns if col not in common]
    return full, list(columns), []


def aggregate_board(store: Store, task: str | None = None, n_boot: int = BOARD_BOOT,
                    track: str | None = None) -> dict[str, Any]:
    """Rows (best mean score first) with mean [t CI], IQM [bootstrap CI], mean rank and the rank
    interval Friedman/Nemenyi supports; the Friedman result; P(row cell > column cell); each
    cell's performance profile (share of runs above each score in ``taus``, tasks weighing equally)."""
    table = score_table(store, task, track)
    per_cell, columns = table["per_cell"], table["columns"]
    cells, columns, left_out = complete_block(per_cell, columns)
    partial = sorted(set(per_cell) - set(cells))
    out: dict[str, Any] = {"rows": [], "settings": columns, "partial": partial, "left_out_settings": left_out,
                           "unscored_settings": table["unscored"], "friedman": None, "improvement": {},
                           "n_boot": n_boot, "profiles": {}, "taus": PROFILE_TAUS, "track": table["track"]}
    if not columns or not cells:
        return out
    mats = {}
    for cell in cells:
        depth = max(len(per_cell[cell][col]) for col in columns)
        m = np.full((depth, len(columns)), np.nan)
        for j, col in enumerate(columns):
            vals = per_cell[cell][col]
            m[: len(vals), j] = vals
        mats[cell] = m
    agg = stats.aggregate(mats, n_boot=n_boot)
    block = np.array([[np.nanmean(mats[c][:, j]) for c in cells] for j in range(len(columns))])
    fn = stats.friedman_nemenyi(block, cells, higher_is_better=True) if len(cells) >= 3 and len(columns) >= 2 else None
    if fn:
        intervals = stats.cd_rank_intervals(fn["mean_ranks"], fn["cd"], fn["reject"])
    else:
        intervals = {c: (1, len(cells)) for c in cells}
    rows = []
    for cell in cells:
        a = agg[cell]
        lo, hi = intervals[cell]
        rows.append({"cell": cell, "mean": a["mean"], "mean_ci_low": a["mean_ci_low"], "mean_ci_high": a["mean_ci_high"],
                     "mean_ci_method": a["mean_ci_method"], "iqm": a["iqm"], "iqm_ci_low": a["iqm_ci_low"],
                     "iqm_ci_high": a["iqm_ci_high"], "iqm_ci_method": a["iqm_ci_method"], "n_tasks": a["n_tasks"],
                     "n_runs": a["n_runs"], "failed": table["failures"].get(cell, 0), "n_scores": a["n_scores"],
                     "mean_rank": fn["mean_ranks"][cell] if fn else None, "rank_low": lo, "rank_high": hi})
    rows.sort(key=lambda r: (-r["mean"], r["cell"]))
    for r in rows:
        r.update(display(r))
    out.update(rows=rows, friedman=fn,
               profiles={c: stats.performance_profile(mats[c], PROFILE_TAUS) for c in cells},
               improvement={x: {y: stats.probability_of_improvement(mats[x], mats[y], n_boot=n_boot)
                                for y in cells if y != x} for x in cells})
    return out


def display(r: dict[str, Any]) -> dict[str, str]:
    def ci(lo: float | None, hi: float | None) -> str:
        return "" if lo is None else f" [{lo:.3f}, {hi:.3f}]"

    return {"mean score [95% CI]": f"{r['mean']:.3f}{ci(r['mean_ci_low'], r['mean_ci_high'])}",
            "IQM [95% CI]": f"{r['iqm']:.3f}{ci(r['iqm_ci_low'], r['iqm_ci_high'])}",
            "mean rank": "" if r["mean_rank"] is None else f"{r['mean_rank']:.2f}",
            "rank [CD]": f"{r['rank_low']}–{r['rank_high']}",
            "failed k/n": f"{r['failed']}/{r['n_scores']}"}


def improvement_matrix(result: dict[str, Any]) -> list[dict[str, str]]:
    """P(row cell > column cell) across tasks as table rows (cells in board order)."""
    cells = [r["cell"] for r in result["rows"]]
    imp = result["improvement"]
    return [{"P(row > column)": x, **{y: "" if x == y else f"{imp[x][y]['p']:.2f}" for y in cells}} for x in cells]


def aggregate_text(store: Store, task: str | None, fmt: str, track: str | None = None) -> tuple[str, bool]:
    """What `arena leaderboard --aggregate` prints in ``fmt``, and whether there was anything."""
    import json

    from arena.tables import render

    agg = aggregate_board(store, task=task, track=track)
    if fmt == "json":
        return json.dumps(agg, indent=2, default=str, ensure_ascii=False), True
    if not agg["rows"]:
        return (f"Nothing to aggregate in {store.url}: no cell has results on every setting"
                + (f" (cells missing some: {', '.join(agg['partial'])})" if agg["partial"] else "") + "."), False
    if fmt == "csv":
        return render(agg["rows"], ["cell", "mean", "mean_ci_low", "mean_ci_high", "iqm", "iqm_ci_low", "iqm_ci_high",
                                    "mean_rank", "rank_low", "rank_high", "n_tasks", "n_runs", "failed"], fmt), True
    cols = ["cell", "mean score [95% CI]", "IQM [95% CI]", "mean rank", "rank [CD]", "failed k/n", "n_tasks", "n_runs"]
    lines = [f"Track: {agg['track']} (one track at a time; --track picks another)", render(agg["rows"], cols, fmt), ""]
    lines.append(f"{len(agg['settings'])} settings: {', '.join(agg['settings'])}")
    if agg["partial"]:
        lines.append(f"Left out (results missing on some settings): {', '.join(agg['partial'])}")
    if agg["left_out_settings"]:
        lines.append(f"Settings left out (not run by every cell): {', '.join(agg['left_out_settings'])}")
    if agg["unscored_settings"]:
        lines.append(f"Settings without anchors (not normalised): {', '.join(agg['unscored_settings'])}")
    row = agg["rows"][0]
    lines.append(f"Scores: chance 0, solved 1, clipped to [-1, 1], failures at -1. Mean: {row['mean_ci_method']}. "
                 f"IQM: {row['iqm_ci_method']}.")
    if agg["friedman"]:
        lines.append(agg["friedman"]["text"])
        lines.append("rank [CD]: the ranks each cell can hold given the Nemenyi critical difference "
                     "(1–k for every cell when Friedman does not reject).")
    lines += ["", "Probability of improvement across tasks, P(row cell scores above column cell) "
              f"(rliable; stratified bootstrap CIs with n_boot={agg['n_boot']} in --format json):",
              render(improvement_matrix(agg), None, fmt)]
    return "\n".join(lines), True
