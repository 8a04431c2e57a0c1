"""Built-in executors, registered through ``register_executors`` like any site's own scheduler.

An executor gets the runs to train and three callbacks from the head process, which stays the
only writer to the store:

    executor.run(specs, device=..., claim=claim, finish=finish, progress=progress)

``claim(spec) -> bool`` records the run as running (False: another process has it; skip it);
``finish(spec, record)`` stores a result record (see ``arena.worker.run_one``); ``progress(spec,
event)`` reports. On Ctrl-C an executor stops its workers, finishes every run in flight as
``interrupted`` and re-raises KeyboardInterrupt.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from arena import hookimpl


class Executor(Protocol):
    def run(self, specs: list[Any], *, device: str, claim: Callable[[Any], bool],
            finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None: ...


def claim_all(specs: list[Any], claim: Callable[[Any], bool], progress: Callable[[Any, str], None]) -> list[Any]:
    """Claim every run up front (for executors that submit a whole grid at once)."""
    mine = []
    for spec in specs:
        if claim(spec):
            mine.append(spec)
        else:
            progress(spec, "skipped")
    return mine


def interrupted(spec: Any, device: str) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "key": spec.key, "status": "interrupted", "device": device,
            "error": "interrupted by the user (Ctrl-C)", "metrics": {}, "curves": [], "fields": {}}


def failed(spec: Any, device: str, reason: str) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "key": spec.key, "status": "failed", "device": device, "error": reason,
            "metrics": {}, "curves": [], "fields": {}}


@hookimpl
def register_executors(register: Callable[..., None]) -> None:
    register("local", "arena.executors.local:LocalExecutor",
             summary="This machine: in-process, or --workers N processes (one GPU or cores/N threads each)")
    register("submitit", "arena.executors.slurm:SubmititExecutor",
             summary="Slurm job arrays through submitit (pip install 'rnn-arena[slurm]'); --slurm cluster=local "
                     "runs the same jobs locally")
    register("slurm", "arena.executors.slurm:SubmititExecutor",
             summary="Alias of submitit with cluster=slurm")
    register("ray", "arena.executors.ray_executor:RayExecutor",
             summary="One Ray task per run (pip install 'rnn-arena[ray]'); --executor-opt address=... for a cluster")
