"""Reading runs out of the store: setting labels and exports (the statistics are in leaderboard.py)."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from arena.keys import canonical_json
from arena.store import Store


def _varying(dicts: list[dict[str, Any]]) -> set[str]:
    keys = {k for d in dicts for k in d}
    return {k for k in keys if len({canonical_json(d.get(k)) for d in dicts}) > 1}


def setting_labels(runs: list[dict[str, Any]]) -> dict[str, str]:
    """run key → a short ``k=v`` label of what sets it apart from other runs of its task, preset
    and track (arena.tracks: the track itself is shown apart, never in the label)."""
    from arena.tracks import track_of

    by_tp: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_tp[(r["task"], r["preset"], track_of(r["train"]))].append(r)
    labels = {}
    for group in by_tp.values():
        vary_p = _varying([r["params"] for r in group])
        vary_t = _varying([r["train"] for r in group]) - {"layers", "block"}
        for r in group:
            parts = [f"{k}={r['params'].get(k)}" for k in sorted(vary_p)]
            parts += [f"train.{k}={r['train'].get(k)}" for k in sorted(vary_t)]
            labels[r["key"]] = ", ".join(parts)
    return labels


def cell_labels(runs: list[dict[str, Any]]) -> dict[str, str]:
    """run key → the cell as the board names it: its name, plus ``[k=v, …]`` for the options in
    which the run departs from the cell's registered defaults (``gru`` beside ``gru[init=aru]``).
    For a cell that is not installed, the options in which its runs on the same task, preset and
    track differ. Variants of a cell are rows of one setting, so they pair seed by seed with the
    other cells."""
    from arena.tracks import track_of

    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["task"], r["preset"], track_of(r["train"]), r["cell"])].append(r)
    labels = {}
    for group in groups.values():
        defaults = _registered_options(group[0].get("cell_name", group[0]["cell"]))
        vary = sorted(_varying([r["cell_options"] for r in group]))
        for r in group:
            opts = r["cell_options"]
            if defaults is None:
                parts = [f"{k}={opts[k]}" for k in vary if opts.get(k) is not None]
            else:
                parts = [f"{k}={v}" for k, v in sorted(opts.items()) if k not in defaults or v != defaults[k]]
            labels[r["key"]] = r["cell"] + (f"[{','.join(parts)}]" if parts else "")
    return labels


def _registered_options(name: str) -> dict[str, Any] | None:
    try:
        from arena.host import get_host

        return dict(get_host().cells.get(name).info.options)
    except Exception:  # noqa: BLE001 - not installed: fall back to what varies among the runs
        return None


def natural_key(text: str) -> list[Any]:
    """Sort "n=25" before "n=100"."""
    return [float(p) if p.replace(".", "", 1).isdigit() else p for p in re.split(r"(\d+(?:\.\d+)?)", text)]


def export_runs(store: Store) -> list[dict[str, Any]]:
    """Every run as one object: identity, status, final metrics, environment and timing."""
    from arena.store.board import board_keys

    runs = store.runs()
    metrics = store.metrics()
    envs = store.environments()
    shipped = board_keys(store)
    out = []
    for r in runs:
        m = metrics.get(r["key"], {})
        out.append({
            "key": r["key"], "cell": r["cell"], "task": r["task"], "preset": r["preset"],
            "cell_name": r["cell_name"], "task_name": r["task_name"],
            "cell_dist": r["cell_dist"], "cell_dist_version": r["cell_dist_version"],
            "task_dist": r["task_dist"], "task_dist_version": r["task_dist_version"],
            "params": r["params"], "cell_options": r["cell_options"], "train": r["train"], "seed": r["seed"],
            "status": r["status"], "main_metric": r["main_metric"], "metrics": m.get("test", {}),
            "val_metrics": m.get("val", {}), "cell_version": r["cell_version"], "task_version": r["task_version"],
            "n_params": r["n_params"], "body_params": r["body_params"], "width": r["width"],
            "cell_params": r["cell_params"], "state_size": r["state_size"],
            "weights_sha256": r["weights_sha256"], "impl": r["impl"], "epochs": r["epochs"], "best_epoch": r["best_epoch"], "device": r["device"],
            "started_at": r["started_at"], "finished_at": r["finished_at"], "duration_s": r["duration_s"],
            "environment": envs.get(r["env_id"]) if r["env_id"] else None, "error": r["error"],
            "shipped": r["key"] in shipped,  # shown from the shipped board, beside the user's own runs
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
