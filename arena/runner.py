"""Plan → skip what is stored → train → commit each run the moment it ends.

The runner is the only writer to the store. A run is first stored as ``running`` (with its
owner process), then replaced in one transaction by its outcome: ``done`` or ``diverged`` with
metrics and curves, ``failed`` with the traceback, or ``interrupted`` on Ctrl-C. A process killed
with -9 leaves at most one ``running`` row whose owner is gone; the next ``arena run`` redoes it.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from arena.host import PluginHost
from arena.plan import RunSpec
from arena.store import FINISHED_STATUSES, Store, owner_alive


@dataclass
class GridReport:
    planned: list[RunSpec]
    todo: list[RunSpec] = field(default_factory=list)  # to be trained now
    skipped: list[RunSpec] = field(default_factory=list)  # already stored
    busy: list[RunSpec] = field(default_factory=list)  # being run by another live process
    ran: dict[str, str] = field(default_factory=dict)  # key → status
    interrupted: bool = False


def select_runs(store: Store, specs: list[RunSpec], *, force: bool, retry_failed: bool) -> GridReport:
    report = GridReport(planned=specs)
    stored = store.statuses(s.key for s in specs)
    todo = report.todo
    for spec in specs:
        status, owner = stored.get(spec.key, (None, None))
        if status is None or force:
            todo.append(spec)
        elif status in FINISHED_STATUSES:
            report.skipped.append(spec)
        elif status == "failed" and not retry_failed:
            report.skipped.append(spec)
        elif status == "running" and owner_alive(owner):
            report.busy.append(spec)
        else:  # planned, interrupted, failed with --retry-failed, or running by a dead process
            todo.append(spec)
    return report


def chance_of(task_entry: Any, spec: RunSpec) -> dict[str, float]:
    """The task's chance levels for this run's parameters (empty if the task cannot say)."""
    try:
        return {k: float(v) for k, v in task_entry.load()(**spec.params).chance().items()}
    except Exception:  # noqa: BLE001 - a missing chance level must not stop a run
        return {}


def execute(host: PluginHost, store: Store, todo: list[RunSpec], report: GridReport, *, device_name: str,
            progress: Callable[[RunSpec, str], None] | None = None, force: bool = False,
            retry_failed: bool = False) -> GridReport:
    """Train every run of ``todo`` in order; returns when all ended or on Ctrl-C."""
    import torch

    from arena.envinfo import environment
    from arena.training import resolve_device, train_run

    device = resolve_device(device_name)
    env_id = store.save_environment(environment(str(device), host.versions()))
    for spec in todo:
        task_entry = host.tasks.get(spec.task)
        cell_entry = host.cells.get(spec.cell)
        info = task_entry.info
        if not store.start_run(spec, env_id=env_id, device=str(device), main_metric=info.main_metric,
                               directions={m.name: m.higher_is_better for m in info.metrics},
                               chance=chance_of(task_entry, spec), force=force, retry_failed=retry_failed):
            report.busy.append(spec)  # another process finished it or is running it
            if progress:
                progress(spec, "skipped")
            continue
        if progress:
            progress(spec, "start")
        t0 = time.perf_counter()
        try:
            outcome = train_run(spec, task_entry.load(), cell_entry.load(), device)
        except KeyboardInterrupt:
            store.finish_run(spec.key, status="interrupted", error="interrupted by the user (Ctrl-C)",
                             duration_s=time.perf_counter() - t0)
            report.ran[spec.key] = "interrupted"
            report.interrupted = True
            if progress:
                progress(spec, "interrupted")
            break
        except Exception:  # noqa: BLE001 - a failing run is stored, the grid goes on
            store.finish_run(spec.key, status="failed", error=traceback.format_exc(),
                             duration_s=time.perf_counter() - t0)
            report.ran[spec.key] = "failed"
            if progress:
                progress(spec, "failed")
            continue
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        store.finish_run(
            spec.key, status=outcome.status, metrics=outcome.metrics, curves=outcome.curves, error=outcome.error,
            duration_s=time.perf_counter() - t0, epochs=outcome.epochs, best_epoch=outcome.best_epoch,
            n_params=outcome.n_params, cell_params=outcome.cell_params, state_size=outcome.state_size,
            impl=outcome.impl,
        )
        report.ran[spec.key] = outcome.status
        if progress:
            progress(spec, outcome.status)
    return report
