"""Submitting runs to a board and checking them: result files out, sampled re-runs, gated merge.

- ``export_results``: the user's runs as result files (the record a worker returns: run
  identity, status, metrics, curves, sizes, environment with the plugin distributions and
  versions that trained them), one file per run, written atomically.
- ``verify``: re-runs K of them chosen at random (a fresh seed unless given, recorded) here and
  compares the stored metrics with the new ones: bitwise when the torch version, thread count
  and device type are those of the run, else within ``rel_tol``. A file whose record is
  malformed, or whose key is not the hash of its configuration, fails at once. The report
  (``VERIFICATION``, in the folder) lists every file's sha256 and whether the sample passed.
- ``verified_files``: the files a passing report covers, unchanged since (same sha256):
  what `arena ingest` merges unless told ``--unverified``.
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

VERIFICATION = "verification.json"
REL_TOL = 1e-4


def record_of(run: dict[str, Any], metrics: dict[str, Any], curves: list[dict[str, Any]],
              environment: dict[str, Any] | None) -> dict[str, Any]:
    """A stored run as the result record `arena ingest` reads (arena/worker.py's format)."""
    from arena.plan import RunSpec
    from arena.validate import RECORD_FIELDS

    spec = RunSpec(cell=run["cell_name"], cell_version=run["cell_version"], cell_options=run["cell_options"],
                   task=run["task_name"], task_version=run["task_version"], preset=run["preset"],
                   params=run["params"], train=run["train"], seed=run["seed"], cell_dist=run["cell_dist"] or "",
                   task_dist=run["task_dist"] or "")
    fields = {k: run[k] for k in RECORD_FIELDS if run.get(k) is not None}
    rec = {"spec": spec.to_dict(), "key": spec.key, "status": run["status"], "metrics": metrics, "curves": curves,
           "error": run["error"], "fields": fields, "device": run["device"] or "cpu",
           "duration_s": run["duration_s"], "main_metric": run["main_metric"], "directions": run["directions"],
           "chance": run["chance"] or {}}
    if environment:
        rec["environment"] = environment
    return rec


def export_results(store: Any, folder: str | Path, *, include_shipped: bool = False) -> list[Path]:
    """Write each finished run of ``store`` (not the shipped board's, unless asked) to ``folder``."""
    from arena.store.board import board_keys
    from arena.worker import write_result

    shipped = set() if include_shipped else board_keys(store)
    runs = [r for r in store.runs(statuses=["done", "diverged"]) if r["key"] not in shipped]
    metrics = store.metrics(keys=[r["key"] for r in runs])
    envs = store.environments()
    return [write_result(record_of(r, metrics.get(r["key"], {}), store.curves(r["key"]),
                                   envs.get(r["env_id"]) if r["env_id"] else None), folder) for r in runs]


def sha256(path: Path) -> str:
    from arena.checkpoints import sha256_of

    return sha256_of(path)


def compare_metrics(stored: dict[str, dict[str, float]], fresh: dict[str, dict[str, float]], *,
                    bitwise: bool, rel_tol: float = REL_TOL) -> list[str]:
    """Every stored metric that the fresh run does not reproduce, as text (empty: reproduced)."""
    out = []
    for split, values in stored.items():
        for name, value in values.items():
            got = fresh.get(split, {}).get(name)
            if got is None:
                out.append(f"{split} {name}: stored {value!r}, not produced")
            elif bitwise and not (got == value or (math.isnan(got) and math.isnan(value))):
                out.append(f"{split} {name}: stored {value!r}, re-run {got!r}")
            elif not bitwise and not math.isclose(got, value, rel_tol=rel_tol, abs_tol=1e-12):
                out.append(f"{split} {name}: stored {value:.6g}, re-run {got:.6g} (beyond {rel_tol:g} relative)")
    return out


def verify(folder: str | Path, *, sample: int, seed: int | None = None, rel_tol: float = REL_TOL,
           device: str = "cpu") -> dict[str, Any]:
    """Re-run ``sample`` randomly chosen result files of ``folder``; write and return the report.

    ``seed`` None draws a fresh seed (recorded in the report): a fixed default would let whoever
    writes the files know in advance which ones are re-run."""
    import torch

    from arena.validate import record_problem
    from arena.worker import read_results, run_one

    folder = Path(folder)
    found = read_results(folder, unreadable=True)
    if not found:
        raise ValueError(f"no result files (*.result.json) in {folder}")
    checks: list[dict[str, Any]] = []
    valid = []
    for path, rec in found:
        problem = record_problem(rec)
        if problem:
            checks.append({"file": path.name, "key": (rec or {}).get("key") if isinstance(rec, dict) else None,
                           "outcome": "invalid", "detail": problem})
        elif rec["status"] == "done":
            valid.append((path, rec))
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    chosen = random.Random(seed).sample(valid, min(sample, len(valid)))
    for path, rec in chosen:
        env = rec.get("environment") or {}
        threads = int(env.get("threads") or 1)
        # The re-run uses the run's own thread count; bitwise needs the same torch and device type.
        bitwise = env.get("torch") == torch.__version__ and (rec.get("device") or "cpu") == device
        fresh = run_one(rec["spec"], device=device, threads=threads)
        if fresh["status"] != rec["status"]:
            diffs = [f"status: stored {rec['status']}, re-run {fresh['status']}"]
        else:
            diffs = compare_metrics(rec["metrics"], fresh["metrics"], bitwise=bitwise, rel_tol=rel_tol)
        checks.append({"file": path.name, "key": rec["key"], "cell": rec["spec"]["cell"], "task": rec["spec"]["task"],
                       "seed": rec["spec"]["seed"], "threads": threads,
                       "compared": "bitwise" if bitwise else f"within {rel_tol:g} relative",
                       "outcome": "differs" if diffs else "reproduced", "detail": "; ".join(diffs)})
    passed = bool(chosen) and all(c["outcome"] == "reproduced" for c in checks)
    report = {"passed": passed, "sample": len(chosen), "seed": seed, "torch": torch.__version__,
              "files": {path.name: sha256(path) for path, _ in found if path.is_file()}, "checks": checks}
    (folder / VERIFICATION).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def verified_files(folder: str | Path) -> dict[str, str]:
    """File name → sha256 of the files a passing verification report in ``folder`` covers."""
    path = Path(folder) / VERIFICATION
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(report.get("files") or {}) if report.get("passed") else {}
