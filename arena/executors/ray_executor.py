"""Ray: one remote task per run with the CPUs/GPUs it asks for; results return to the head.

``--executor-opt address=ray://host:10001`` joins a cluster; without it a local Ray instance
is started (and stopped at the end). ``num_cpus`` / ``num_gpus`` per run default to 1 / 0
(1 GPU when the device is cuda).
"""
from __future__ import annotations

from typing import Any, Callable

from arena.errors import ArenaError
from arena.executors import claim_all, failed, interrupted


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float | None = None,
                 max_cpus: int | None = None, threads: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ArenaError("the ray executor needs ray: pip install 'rnn-arena[ray]'") from None
        self.address, self.num_cpus, self.num_gpus, self.max_cpus = address, float(num_cpus), num_gpus, max_cpus
        self.threads = threads

    def run(self, specs: list[Any], *, device: str, claim: Callable[[Any], bool],
            finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None:
        import ray

        from arena.worker import run_one

        mine = claim_all(specs, claim, progress)
        if not mine:
            return
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, num_cpus=self.max_cpus, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
        gpus = self.num_gpus if self.num_gpus is not None else (1 if device == "cuda" else 0)
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=gpus)(run_one)
        threads = self.threads or max(1, int(self.num_cpus))
        refs = {remote.remote(s.to_dict(), device, threads): s for s in mine}
        for s in mine:
            progress(s, "start")
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    spec = refs.pop(ref)
                    try:
                        record = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the task's worker died
                        record = failed(spec, device, f"ray task failed: {str(exc)[-2000:]}")
                    finish(spec, record)
                    progress(spec, record["status"])
        except BaseException:
            for ref, spec in refs.items():
                ray.cancel(ref, force=True)
                finish(spec, interrupted(spec, device))
                progress(spec, "interrupted")
            raise
        finally:
            if started:
                ray.shutdown()
