"""What the board may claim on each setting, under the rules of docs/methodology.md.

A *setting* is one task with one preset and one set of parameters (a sweep value is its own
setting). Every run is scored on its task's fixed anchors (:mod:`arena.stats.scores`): chance
= 0, solved = 1, on the metric's scale, failed and diverged runs at the floor. The leader has
the best mean score; every other cell is *worse* (shown so by a Holm-corrected t-test against
the leader) or *inconclusive*; ★ marks a leader shown better than chance.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from arena import stats
from arena.results import cell_labels, natural_key, setting_labels
from arena.store import Store

#: Replicates of the bootstraps the board runs (P(A better) in `compare`, IQM and P(X > Y)
#: across tasks); stated beside every bootstrap result.
BOARD_BOOT = 2000
#: The equivalence margin on the score scale: 5 % of the chance-to-solved range.
EQUIVALENCE_MARGIN = 0.05

LEGEND = ("★ leader, shown better than chance · leader: best mean score, not shown better than chance · "
          "worse: shown worse than the leader (paired t-test, Holm over the setting's cells) · "
          "inconclusive: not shown worse, which does not make it equal · failed: every run failed · failed k/n: "
          "runs that failed or diverged, scored at the floor (-1). Score: chance = 0, solved = 1 (log scale for errors).")

MATRIX_LEGEND = ("Each entry: the cell's test value over its finished runs (geometric mean for error metrics). "
                 "★ leader, shown better than chance · L leader, not shown better than chance · "
                 "? inconclusive against the leader (not shown worse, which does not make it equal) · "
                 "no mark: shown worse than the leader (paired t-test, Holm over the setting's cells) · "
                 "†k: k runs failed or diverged (scored at the floor) · failed k/k: every run failed or diverged · "
                 "(n=k): fewer than 5 runs, no interval · 25.5k: the model's parameters, embedding left out · "
                 "s=64: its state size (numbers carried from one step to the next).")


@dataclass
class Setting:
    task: str
    preset: str
    label: str
    metric: str
    anchors: stats.Anchors
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # cell → runs (by seed)
    values: dict[str, dict[int, float | None]] = field(default_factory=dict)  # cell → seed → metric
    track: str = "bare"

    @property
    def higher(self) -> bool:
        return self.anchors.higher_is_better

    @property
    def chance(self) -> float | None:
        return self.anchors.chance

    def sizes(self, cell: str) -> dict[str, Any]:
        """The cell's model size on this setting: parameters without the embedding (``body_params``),
        the model width and the state size (the median over its runs; None when not recorded)."""
        def median(col: str) -> int | None:
            vals = sorted(r[col] for r in self.runs[cell] if r.get(col) is not None)
            return vals[len(vals) // 2] if vals else None

        return {"body_params": median("body_params"), "width": median("width"), "state_size": median("state_size")}

    def scored(self, cell: str) -> dict[str, Any]:
        """The cell's runs as scores (:func:`arena.stats.score_runs`) with their ``seeds``."""
        runs = self.runs[cell]
        out = stats.score_runs([self.values[cell].get(r["seed"]) for r in runs], [r["status"] for r in runs],
                               self.anchors)
        out["seeds"] = [runs[i]["seed"] for i in out["index"]]
        out["by_seed"] = dict(zip(out["seeds"], out["scores"]))
        return out


@lru_cache(maxsize=512)
def plugin_anchors(task: str, params_json: str, metric: str) -> tuple[str, float | None, float | None]:
    """(scale, chance, solved) of a metric from the installed task plugin; ("linear", None,
    None) when the plugin is missing or cannot say."""
    try:
        from arena.host import get_host

        entry = get_host().tasks.get(task)
        scale = entry.info.metric(metric).scale
    except Exception:  # noqa: BLE001 - no plugin: the setting is shown unnormalised
        return "linear", None, None
    try:
        inst = entry.load()(**json.loads(params_json))
        chance, solved = inst.chance().get(metric), inst.solved().get(metric)
    except Exception:  # noqa: BLE001 - parameters this version no longer takes: the metric's own level
        return scale, None, entry.info.metric(metric).solved
    return scale, None if chance is None else float(chance), None if solved is None else float(solved)


def load_settings(store: Store, task: str | None = None, keys: Iterable[str] | None = None,
                  track: str | None = None) -> list[Setting]:
    """The store's settings (of one task, run keys or track when given), track by track."""
    runs = store.runs(task=task, keys=keys)
    metrics = store.metrics(keys=[r["key"] for r in runs] if keys is not None else None, split="test")
    out = settings_of(runs, metrics)
    return [s for s in out if track is None or s.track == track]


def tracks(store: Store, task: str | None = None) -> list[str]:
    """The tracks with runs in the store, in display order (arena.tracks)."""
    from arena.tracks import ordered, track_of

    return ordered(track_of(r["train"]) for r in store.runs(task=task))


def settings_of(runs: list[dict[str, Any]], metrics: dict[str, dict[str, dict[str, float]]]) -> list[Setting]:
    """Group runs into settings. Chance comes from the run (stored when it trained), else from
    the installed task plugin, as do the metric's scale and solved level."""
    from arena.tracks import sort_key, track_of

    labels, cells = setting_labels(runs), cell_labels(runs)
    out: dict[tuple[str, str, str, str], Setting] = {}
    for r in runs:
        ident = (track_of(r["train"]), r["task"], r["preset"], labels[r["key"]])
        main = r["main_metric"]
        if ident not in out:
            scale, chance, solved = plugin_anchors(r.get("task_name", r["task"]), json.dumps(r["params"], sort_keys=True), main)
            stored = (r.get("chance") or {}).get(main)
            out[ident] = Setting(r["task"], r["preset"], labels[r["key"]], main, stats.Anchors(
                bool(r["directions"].get(main, True)), scale, stored if stored is not None else chance, solved),
                track=ident[0])
        s = out[ident]
        cell = cells[r["key"]]
        s.runs.setdefault(cell, []).append(r)
        s.values.setdefault(cell, {})[r["seed"]] = metrics.get(r["key"], {}).get("test", {}).get(main)
    for s in out.values():
        for cell in s.runs:
            s.runs[cell].sort(key=lambda r: r["seed"])
    return sorted(out.values(), key=lambda s: (sort_key(s.track), s.task, s.preset, natural_key(s.label)))


def task_board(store: Store, task: str | None = None, keys: Iterable[str] | None = None,
               track: str | None = None) -> list[dict[str, Any]]:
    """One row per cell and setting, best first: track, value in the metric's units, score with
    its interval (values when n < 5), failures, rank, verdict against the leader, ★, and the
    model's parameters (embedding left out) and state size."""
    rows = []
    for s in load_settings(store, task, keys, track):
        rows.extend(setting_rows(s))
    return rows


def setting_rows(s: Setting) -> list[dict[str, Any]]:
    scored = {c: s.scored(c) for c in s.runs}
    normalised = s.anchors.problem is None
    chance = 0.0 if normalised else (None if s.chance is None else s.anchors.transform(s.chance))
    failures = {c: v["n_failed"] + v["n_diverged"] for c, v in scored.items()}
    # Without anchors failures cannot be scored; a cell with failures is then listed after
    # every cell without (it never outranks a finished result), and cannot lead.
    eligible = {c: v["by_seed"] for c, v in scored.items() if normalised or not failures[c]}
    decisions = stats.leader_decisions(eligible, higher_is_better=normalised or s.higher, chance=chance,
                                       tiebreak=failures)
    block = []
    for cell, sc in scored.items():
        summ = stats.summarise(sc["scores"])
        d = decisions.get(cell) or {}
        all_failed = sc["n"] > 0 and sc["n_done"] == 0
        block.append({
            "track": s.track, "task": s.task, "preset": s.preset, "setting": s.label, "cell": cell, **s.sizes(cell),
            "metric": f"{s.metric} {'↑' if s.higher else '↓'}", "scale": s.anchors.scale,
            "value": stats.centre(sc["finished"], s.anchors.scale), "n_done": sc["n_done"],
            "value_kind": "geometric mean" if s.anchors.scale == "log" else "mean",
            "n": sc["n"], "failed": sc["n_failed"], "diverged": sc["n_diverged"], "failure_rate": sc["failure_rate"],
            "all_failed": all_failed, "scored": sc["scored"], "score_note": sc["note"],
            "score": summ["mean"], "score_std": summ["std"], "score_values": summ["values"],
            "ci_low": summ["ci_low"], "ci_high": summ["ci_high"], "ci_method": summ["ci_method"],
            "rank": d.get("rank"), "leader": d.get("leader", False), "verdict": d.get("verdict"),
            "star": bool(d.get("better_than_chance")), "p_vs_leader": d.get("p_vs_leader"),
            "p_vs_leader_raw": d.get("p_vs_leader_raw"), "test": d.get("test"), "p_vs_chance": d.get("p_vs_chance"),
            "chance": s.chance, "solved": s.anchors.solved,
            "params": s.runs[cell][0]["params"], "cell_options": s.runs[cell][0]["cell_options"],
        })
    for r in block:
        if r["all_failed"]:  # shown as failed, never as the leader of a board where nothing finished
            r.update(verdict="failed", leader=False, star=False)
    ranked = [r for r in block if r["rank"] is not None]
    for i, r in enumerate(sorted((r for r in block if r["rank"] is None and r["n"]),
                                 key=lambda r: (-(r["failure_rate"] or 0), r["cell"]))):
        r["rank"], r["verdict"] = float(len(ranked) + 1 + i), "inconclusive"  # unscored failures, last
    block.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["cell"]))
    for r in block:
        r.update(display(r))
    return block


def score_text(score: float | None, low: float | None, high: float | None, values: list[float],
               digits: int = 3) -> str:
    """``0.812 [0.790, 0.834]``, or ``0.812 (values 0.8, 0.82)`` when no interval is given (n < 5)."""
    if score is None:
        return "—"
    if low is not None:
        return f"{score:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
    return f"{score:.{digits}f} (values " + ", ".join(f"{v:.{digits}g}" for v in values) + ")"


def _num(v: float | None, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}g}"


def display(r: dict[str, Any]) -> dict[str, str]:
    """Human-readable columns of a board row: value, score [95% CI] (values when n < 5),
    failed k/n, verdict in words with ★. (Adds keys; never replaces a number.)"""
    if r["all_failed"]:
        value = f"failed ({r['n']}/{r['n']})"
    elif r["value"] is None:
        value = "—"
    else:
        value = _num(r["value"]) + (" (geo-mean)" if r["scale"] == "log" else "")
    if r["all_failed"] and r["scored"] and r["score"] is not None:
        score = "all failed (floor -1)"
    else:
        score = score_text(r["score"], r["ci_low"], r["ci_high"], r["score_values"])
    failed = f"{r['failed'] + r['diverged']}/{r['n']}" if r["n"] else ""
    verdict = "" if r["verdict"] is None else r["verdict"]
    if r["leader"] and r["star"]:
        verdict = "★ leader"
    return {"result": value, "score [95% CI]": score, "failed k/n": failed, "vs leader": verdict,
            "size": _size(r)}


def _count(p: int) -> str:
    if p >= 1_000_000:
        return f"{p / 1_000_000:.2f}M"
    return f"{p / 1000:.1f}k" if p >= 1000 else str(p)


def _size(r: dict[str, Any]) -> str:
    """``25.5k params · state 64``: the model's parameters without the embedding, and its state."""
    if r.get("body_params") is None:
        return ""
    return f"{_count(r['body_params'])} params" + (f" · state {r['state_size']}" if r.get("state_size") is not None else "")


def compare(store: Store, a: str, b: str, task: str | None = None, n_boot: int = BOARD_BOOT,
            margin: float = EQUIVALENCE_MARGIN, track: str | None = None) -> list[dict[str, Any]]:
    """A against B on every setting both ran, on matched seeds, on the score scale: the paired
    difference with its t-interval, the t-test Holm-corrected over the settings shown, and the
    verdict (better / worse / inconclusive); the equivalence test (TOST, ``margin`` in score
    units, Holm over the settings of the track) and its verdict (equivalent / not shown equivalent /
    different); Wilcoxon, d_z and P(A better) for reference."""
    rows = []
    for s in load_settings(store, task, track=track):
        if a not in s.runs or b not in s.runs:
            continue
        sa, sb = s.scored(a), s.scored(b)
        seeds = sorted(set(sa["by_seed"]) & set(sb["by_seed"]))
        normalised = sa["scored"]
        row: dict[str, Any] = {"track": s.track, "task": s.task, "preset": s.preset, "setting": s.label,
                               "metric": s.metric, "params_a": s.sizes(a)["body_params"],
                               "params_b": s.sizes(b)["body_params"],
                               "higher_is_better": s.higher, "scale": s.anchors.scale, "scored": normalised,
                               "a": a, "b": b, "seeds": seeds,
                               "value_a": stats.centre(sa["finished"], s.anchors.scale),
                               "value_b": stats.centre(sb["finished"], s.anchors.scale),
                               "failed_a": sa["n_failed"] + sa["n_diverged"], "failed_b": sb["n_failed"] + sb["n_diverged"],
                               "n_a": sa["n"], "n_b": sb["n"], "margin": margin if normalised else None, "p_tost": None}
        row.update(stats.paired([sa["by_seed"][k] for k in seeds], [sb["by_seed"][k] for k in seeds],
                                higher_is_better=normalised or s.higher, n_boot=n_boot))
        if normalised and len(seeds) >= 2:
            row["p_tost"] = stats.tost_p(row["diffs"], margin)
        rows.append(row)
    for track in {r["track"] for r in rows}:  # one Holm family per track: tracks are never pooled
        family = [r for r in rows if r["track"] == track]
        for r, p in zip(family, stats.holm([r["p_ttest"] for r in family])):
            r["p_holm"] = p
            r["decision"] = stats.decide(r["mean_diff"], p, higher_is_better=r["scored"] or r["higher_is_better"])
        for r, p in zip(family, stats.holm([r["p_tost"] for r in family])):
            r["p_tost_holm"] = p
            r["equivalence"] = (stats.equivalence(p, r["p_holm"]) if r["scored"]
                                else "not testable (the task declares no anchors)")
    return rows


def compare_display(r: dict[str, Any]) -> dict[str, str]:
    """Human-readable columns of a `compare` row."""
    def side(value: float | None, failed: int, n: int) -> str:
        if n and failed == n:
            return f"failed ({n}/{n})"
        text = _num(value)
        return text + (f" †{failed}" if failed else "")

    if r["mean_diff"] is None:
        diff = "—"
    elif r["diff_ci_low"] is not None:
        diff = f"{r['mean_diff']:+.3f} [{r['diff_ci_low']:+.3f}, {r['diff_ci_high']:+.3f}]"
    else:
        diff = f"{r['mean_diff']:+.3f} (values " + ", ".join(f"{v:+.3g}" for v in r["diffs"]) + ")"
    return {"A": side(r["value_a"], r["failed_a"], r["n_a"]) + (f" · {_count(r['params_a'])}" if r["params_a"] else ""),
            "B": side(r["value_b"], r["failed_b"], r["n_b"]) + (f" · {_count(r['params_b'])}" if r["params_b"] else ""),
            "A - B [95% CI]": diff, "A is": r["decision"]}


def board_matrix(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """The whole board as one setting × cell table (for a README). Each entry is the cell's
    value in the metric's units (geometric mean for log-scale metrics) with its verdict:
    ``★`` leader shown better than chance, ``L`` leader not shown better than chance, ``?``
    inconclusive against the leader, nothing for shown worse; ``†k`` k failed or diverged runs;
    ``failed k/k`` when every run failed; ``(n=k)`` when fewer than 5 runs count; ``· 25.5k``
    the model's parameters without the embedding and ``· s=64`` its state size."""
    cells = sorted({r["cell"] for r in rows}, key=natural_key)
    table: dict[str, dict[str, str]] = {}
    for r in rows:
        setting = r["task"] + ("" if r["preset"] == "standard" else f" ({r['preset']})")
        if r["setting"]:
            setting += f" [{r['setting']}]"
        if len({x["track"] for x in rows}) > 1:
            setting = f"{r['track']}: {setting}"
        row = table.setdefault(setting, {"setting": setting, "metric": r["metric"], **{c: "" for c in cells}})
        if r["all_failed"]:
            text = f"failed {r['n']}/{r['n']}"
        elif r["value"] is None:
            text = "—"
        else:
            text = f"{r['value']:.3g}"
            mark = {"leader": "★" if r["star"] else "L", "inconclusive": "?"}.get(r["verdict"] or "", "")
            text += f" {mark}" if mark else ""
            if r["failed"] + r["diverged"]:
                text += f" †{r['failed'] + r['diverged']}"
        if r.get("body_params") is not None:
            text += f" · {_count(r['body_params'])}"
        if r.get("state_size") is not None:
            text += f" · s={r['state_size']}"
        if r["n"] and r["n"] < stats.MIN_SEEDS_FOR_CI:
            text += f" (n={r['n']})"
        row[r["cell"]] = text
    return ["setting", "metric", *cells], list(table.values())


def aggregate_board(store: Store, task: str | None = None, n_boot: int = BOARD_BOOT,
                    track: str | None = None) -> dict[str, Any]:
    """The across-task view of one track (arena.across_tasks.aggregate_board)."""
    from arena.across_tasks import aggregate_board as across

    return across(store, task=task, n_boot=n_boot, track=track)
