"""Slurm through submitit: one job array per grid; results come back as files in an outbox.

Workers never write to the store (SQLite over a shared filesystem corrupts): each job writes its
result record atomically into ``<folder>/outbox/`` and the head ingests it by run key, the
moment it appears, exactly as `arena ingest DIR` does by hand. Ctrl-C or an error in the head
cancels the whole array. ``--slurm key=value`` options go to submitit: ``partition``, ``gpus``
(per node), ``time`` (minutes), ``mem`` (GB), ``cpus``, or any ``slurm_*`` parameter;
``cluster=local`` runs the same jobs as local processes (how CI tests this path).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from arena.errors import ArenaError
from arena.executors import claim_all, failed, interrupted

ALIASES = {"partition": "slurm_partition", "gpus": "gpus_per_node", "time": "timeout_min", "mem": "mem_gb",
           "cpus": "cpus_per_task"}


def check_parameters(params: dict[str, Any]) -> None:
    """Refuse what submitit would refuse (unknown names, wrong types) before any run is claimed."""
    import tempfile

    import submitit

    with tempfile.TemporaryDirectory() as tmp:  # the in-process debug cluster writes nothing there
        try:
            submitit.AutoExecutor(folder=tmp, cluster="debug").update_parameters(**params)
        except (ValueError, TypeError, NameError, AssertionError) as exc:  # how submitit refuses
            raise ArenaError(f"bad --slurm option: {str(exc).strip().splitlines()[0]}") from None


class SubmititExecutor:
    def __init__(self, folder: str = "arena-jobs", cluster: str = "slurm", poll_s: float = 1.0,
                 threads: int | None = None, **options: Any) -> None:
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise ArenaError("the slurm executor needs submitit: pip install 'rnn-arena[slurm]'") from None
        self.folder = Path(folder)
        self.cluster = cluster
        self.poll_s = float(poll_s)
        self.threads = threads
        self.params = {ALIASES.get(k, k): v for k, v in options.items()}
        self.params.setdefault("timeout_min", 60)
        from submitit.core.plugins import get_executors

        if cluster not in get_executors():
            raise ArenaError(f"bad --slurm cluster={cluster!r}: use {', '.join(get_executors())}")
        check_parameters(self.params)

    def run(self, specs: list[Any], *, device: str, claim: Callable[[Any], bool],
            finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None:
        import submitit

        from arena.worker import read_results, run_to_outbox

        mine = claim_all(specs, claim, progress)
        if not mine:
            return
        outbox = self.folder / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        executor = submitit.AutoExecutor(folder=self.folder / "logs", cluster=None if self.cluster == "slurm"
                                          else self.cluster)
        try:
            executor.update_parameters(**self.params)
        except (ValueError, TypeError, NameError, AssertionError) as exc:
            raise ArenaError(f"bad --slurm option: {exc}") from None
        jobs = executor.map_array(run_to_outbox, [s.to_dict() for s in mine], [str(outbox)] * len(mine),
                                  [device] * len(mine), [self.threads] * len(mine))
        open_ = {s.key: (s, job) for s, job in zip(mine, jobs)}
        for s in mine:
            progress(s, "start")
        try:
            # By hand, not job.result(): a result is its outbox file, stored on arrival and kept if this head dies.
            while open_:
                arrived = {rec["key"]: (path, rec) for path, rec in read_results(outbox)}
                for key in list(open_):
                    spec, job = open_[key]
                    if key in arrived:
                        path, rec = arrived[key]
                        finish(spec, rec)
                        progress(spec, rec["status"])
                        path.unlink(missing_ok=True)
                        del open_[key]
                    elif job.done():
                        time.sleep(0.2)  # the file rename may trail the job's end by a moment
                        if any(r["key"] == key for _, r in read_results(outbox)):
                            continue
                        try:
                            job.result()
                            reason = "the job ended without writing a result"
                        except Exception as exc:  # noqa: BLE001 - the job's own failure
                            reason = f"job {job.job_id} failed: {str(exc)[-2000:]}"
                        finish(spec, failed(spec, device, reason))
                        progress(spec, "failed")
                        del open_[key]
                if open_:
                    time.sleep(self.poll_s)
        except BaseException:
            for spec, job in open_.values():
                job.cancel(check=False)
                finish(spec, interrupted(spec, device))
                progress(spec, "interrupted")
            raise
