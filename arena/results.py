"""Reading results out of the store: per-setting summaries (the leaderboard) and run exports."""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from typing import Any, Iterable

from arena.keys import canonical_json
from arena.store import Store


def _varying(dicts: list[dict[str, Any]]) -> set[str]:
    keys = {k for d in dicts for k in d}
    return {k for k in keys if len({canonical_json(d.get(k)) for d in dicts}) > 1}


def setting_labels(runs: list[dict[str, Any]]) -> dict[str, str]:
    """run key → a short ``k=v`` label of what sets it apart from other runs of its task/preset."""
    by_tp: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_tp[(r["task"], r["preset"])].append(r)
    labels = {}
    for group in by_tp.values():
        vary_p = _varying([r["params"] for r in group])
        vary_t = _varying([r["train"] for r in group])
        by_cell: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in group:
            by_cell[r["cell"]].append(r)
        vary_c = {c: _varying([r["cell_options"] for r in rs]) for c, rs in by_cell.items()}
        for r in group:
            parts = [f"{k}={r['params'].get(k)}" for k in sorted(vary_p)]
            parts += [f"train.{k}={r['train'].get(k)}" for k in sorted(vary_t)]
            parts += [f"cell.{k}={r['cell_options'].get(k)}" for k in sorted(vary_c[r["cell"]])]
            labels[r["key"]] = ", ".join(parts)
    return labels


def natural_key(text: str) -> list[Any]:
    """Sort "n=25" before "n=100"."""
    return [float(p) if p.replace(".", "", 1).isdigit() else p for p in re.split(r"(\d+(?:\.\d+)?)", text)]


def leaderboard(store: Store, task: str | None = None, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Mean ± std and n of the main test metric per cell × task setting, best first per setting."""
    runs = store.runs(task=task, keys=keys)
    metrics = store.metrics(split="test")
    labels = setting_labels(runs)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["task"], r["preset"], labels[r["key"]], r["cell"])].append(r)
    rows = []
    for (task_name, preset, setting, cell), rs in groups.items():
        main = rs[0]["main_metric"]
        higher = bool(rs[0]["directions"].get(main, True))
        values = [metrics[r["key"]]["test"][main] for r in rs
                  if r["status"] == "done" and metrics.get(r["key"], {}).get("test", {}).get(main) is not None]
        counts = Counter(r["status"] for r in rs)
        rows.append({
            "task": task_name, "preset": preset, "setting": setting, "cell": cell,
            "params": rs[0]["params"], "cell_options": rs[0]["cell_options"],
            "metric": f"{main} {'↑' if higher else '↓'}",
            "mean": statistics.fmean(values) if values else None,
            "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values),
            "failed": counts.get("failed", 0), "diverged": counts.get("diverged", 0),
            "_higher": higher,
        })
    rows.sort(key=lambda r: (r["task"], r["preset"], natural_key(r["setting"]),
                             r["mean"] is None, -(r["mean"] or 0) if r["_higher"] else (r["mean"] or 0)))
    for r in rows:
        r["mean ± std"] = (f"{r['mean']:.4g} ± {r['std']:.2g}" if r["std"] is not None
                           else (f"{r['mean']:.4g}" if r["mean"] is not None else "—"))
        del r["_higher"]
    return rows


def export_runs(store: Store) -> list[dict[str, Any]]:
    """Every run as one object: identity, status, final metrics, environment and timing."""
    runs = store.runs()
    metrics = store.metrics()
    envs = store.environments()
    out = []
    for r in runs:
        m = metrics.get(r["key"], {})
        out.append({
            "key": r["key"], "cell": r["cell"], "task": r["task"], "preset": r["preset"],
            "params": r["params"], "cell_options": r["cell_options"], "train": r["train"], "seed": r["seed"],
            "status": r["status"], "main_metric": r["main_metric"], "metrics": m.get("test", {}),
            "val_metrics": m.get("val", {}), "cell_version": r["cell_version"], "task_version": r["task_version"],
            "n_params": r["n_params"], "cell_params": r["cell_params"], "state_size": r["state_size"],
            "impl": r["impl"], "epochs": r["epochs"], "best_epoch": r["best_epoch"], "device": r["device"],
            "started_at": r["started_at"], "finished_at": r["finished_at"], "duration_s": r["duration_s"],
            "environment": envs.get(r["env_id"]) if r["env_id"] else None, "error": r["error"],
        })
    return out


def flatten(run: dict[str, Any]) -> dict[str, Any]:
    """One export object as flat CSV columns (nested dicts as JSON, metrics as test_<name>)."""
    flat = {k: v for k, v in run.items() if k not in ("metrics", "val_metrics", "environment")}
    for k, v in sorted(run["metrics"].items()):
        flat[f"test_{k}"] = v
    env = run.get("environment") or {}
    for k in ("arena", "torch", "python", "cpu", "gpu", "threads", "git_sha"):
        flat[f"env_{k}"] = env.get(k)
    for k in ("params", "cell_options", "train"):
        flat[k] = canonical_json(run[k])
    return flat
