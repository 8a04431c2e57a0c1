"""One run, start to finish, in whatever process an executor chose; plus result files.

``run_one`` never touches the store: it returns a JSON-able record that the head process (the
only store writer) stores. Executors that run far away (Slurm) write the record into an outbox
with ``write_result`` (temporary file + atomic rename), and the head ingests it by run key.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path
from typing import Any

from arena.files import write_atomic

RESULT_SUFFIX = ".result.json"


def run_one(spec_dict: dict[str, Any], device: str = "auto", threads: int | None = None) -> dict[str, Any]:
    """Train the run described by ``spec_dict`` here; failures come back as a "failed" record."""
    import torch

    from arena.checkpoints import ENV, path_for
    from arena.envinfo import environment
    from arena.host import get_host
    from arena.plan import RunSpec
    from arena.training import resolve_device, train_run

    if threads:
        torch.set_num_threads(threads)
    spec = RunSpec.from_dict(spec_dict)
    host = get_host()
    t0 = time.perf_counter()
    record: dict[str, Any] = {"spec": spec_dict, "key": spec.key}
    try:
        task_entry, cell_entry = host.tasks.get(spec.task), host.cells.get(spec.cell)
        check_provider(spec, cell_entry, task_entry)
        info = task_entry.info
        record.update(main_metric=info.main_metric, directions={m.name: m.higher_is_better for m in info.metrics},
                      chance=chance_of(task_entry.load(), spec.params))
        dev = resolve_device(device)
        record.update(device=str(dev), environment=environment(str(dev), host.versions()))
        keep = os.environ.get(ENV)
        out = train_run(spec, task_entry.load(), cell_entry.load(), dev, cell_defaults=cell_entry.info.options,
                        weights_path=path_for(keep, spec.key) if keep else None)
        record.update(status=out.status, metrics=out.metrics, curves=out.curves, error=out.error,
                      fields={"epochs": out.epochs, "best_epoch": out.best_epoch, "n_params": out.n_params,
                              "body_params": out.body_params, "width": out.width,
                              "cell_params": out.cell_params, "state_size": out.state_size, "impl": out.impl})
        if out.weights_sha256:
            record["fields"]["weights_sha256"] = out.weights_sha256
    except Exception:  # noqa: BLE001 - a failing run is a result, the grid goes on
        record.update(status="failed", error=traceback.format_exc(), metrics={}, curves=[], fields={})
        record.setdefault("main_metric", "")
        record.setdefault("directions", {})
        record.setdefault("chance", {})
    record["duration_s"] = time.perf_counter() - t0
    record.setdefault("device", device)
    return record


def check_provider(spec: Any, cell_entry: Any, task_entry: Any) -> None:
    """Refuse to train a run here if another distribution provides its cell or task (a worker
    on a machine with a different install would store one implementation's result under the
    other's identity)."""
    for kind, want, entry in (("cell", spec.cell_dist, cell_entry), ("task", spec.task_dist, task_entry)):
        if want and entry.dist != want:
            raise RuntimeError(f"{kind} {entry.name!r} is provided by {entry.dist or 'no distribution'} here, but the "
                               f"run was planned for {want}'s; install the same plugins where runs train")


def chance_of(task_cls: Any, params: dict[str, Any]) -> dict[str, float]:
    """The task's chance levels for these parameters (empty if the task cannot say)."""
    try:
        return {k: float(v) for k, v in task_cls(**params).chance().items()}
    except Exception:  # noqa: BLE001 - a missing chance level must not stop a run
        return {}


def write_result(record: dict[str, Any], outbox: str | Path) -> Path:
    """Write a result record atomically: readers never see a half-written file."""
    final = Path(outbox) / (record["key"].replace(":", "_") + RESULT_SUFFIX)
    text = json.dumps(record)
    write_atomic(final, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=True)
    return final


def run_to_outbox(spec_dict: dict[str, Any], outbox: str, device: str = "auto", threads: int | None = None) -> str:
    """What a remote job runs: train, then leave the record in the outbox."""
    return str(write_result(run_one(spec_dict, device, threads), outbox))


def read_results(outbox: str | Path, unreadable: bool = False) -> list[tuple[Path, Any]]:
    """Every complete result file in a folder (temporary files are ignored).

    A file that cannot be read or is not JSON is left out, or with ``unreadable=True`` comes
    back with ``None`` as its record (`arena ingest` counts it invalid).
    """
    out: list[tuple[Path, Any]] = []
    for path in sorted(Path(outbox).glob("*" + RESULT_SUFFIX)):
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            if unreadable:
                out.append((path, None))
    return out
