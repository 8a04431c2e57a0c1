"""Runs on this machine: in the head process, or in a pool of worker processes.

With ``workers > 1`` each worker is a spawned process that owns one GPU (CUDA_VISIBLE_DEVICES)
or cores/N CPU threads. Workers only train; the head claims each run before sending it and
stores each result as it arrives. A worker that dies (crash, OOM kill, kill -9) fails only the
run it held, stored as failed with the reason, and is replaced; the grid goes on.
"""
from __future__ import annotations

# Hand-written pool: concurrent.futures' pool breaks as a whole when one worker dies
# (BrokenProcessPool) and cannot pin a GPU per worker; here a dead worker fails one run and is replaced.
import os
import signal
from multiprocessing import connection
from typing import Any, Callable

from arena.executors import failed, interrupted


def _worker_main(conn: Any, env: dict[str, str], threads: int | None) -> None:
    os.environ.update(env)  # before torch is imported in this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the head handles Ctrl-C and stops us
    from arena.worker import run_one

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        spec_dict, device = msg
        record = run_one(spec_dict, device, threads)
        try:
            conn.send(record)
        except OSError:  # BrokenPipeError, ConnectionResetError: the head is gone (killed); so are we
            return


class LocalExecutor:
    def __init__(self, workers: int = 1, threads: int | None = None) -> None:
        self.workers = int(workers)
        if self.workers < 1:
            raise ValueError("workers must be ≥ 1")
        self.threads = threads

    def run(self, specs: list[Any], *, device: str, claim: Callable[[Any], bool],
            finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None:
        if self.workers == 1:
            self._run_here(specs, device, claim, finish, progress)
        else:
            self._run_pool(specs, device, claim, finish, progress)

    def _run_here(self, specs: list[Any], device: str, claim: Callable[[Any], bool],
                  finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None:
        from arena.worker import run_one

        for spec in specs:
            if not claim(spec):
                progress(spec, "skipped")
                continue
            progress(spec, "start")
            try:
                record = run_one(spec.to_dict(), device, self.threads)
            except KeyboardInterrupt:
                finish(spec, interrupted(spec, device))
                progress(spec, "interrupted")
                raise
            finish(spec, record)
            progress(spec, record["status"])

    def _slots(self, device: str) -> list[tuple[dict[str, str], int | None]]:
        """Environment and thread count of each worker."""
        n = self.workers
        gpus = 0
        if device in ("auto", "cuda"):
            import torch

            gpus = torch.cuda.device_count()
            if device == "cuda" and not gpus:
                raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
        if gpus:
            return [({"CUDA_VISIBLE_DEVICES": str(i % gpus)}, self.threads) for i in range(n)]
        per = self.threads or max(1, (os.cpu_count() or 1) // n)
        return [({"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(per)}, per) for _ in range(n)]

    def _run_pool(self, specs: list[Any], device: str, claim: Callable[[Any], bool],
                  finish: Callable[[Any, dict[str, Any]], None], progress: Callable[[Any, str], None]) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # fork after torch has started threads is unsafe
        slots = self._slots(device)
        pending = list(specs)
        workers: dict[int, dict[str, Any]] = {}

        def start(i: int) -> None:
            parent, child = ctx.Pipe()
            env, threads = slots[i]
            proc = ctx.Process(target=_worker_main, args=(child, env, threads), daemon=True)
            proc.start()
            child.close()
            workers[i] = {"proc": proc, "conn": parent, "spec": None}

        def dispatch(i: int) -> None:
            while pending:
                spec = pending.pop(0)
                if not claim(spec):
                    progress(spec, "skipped")
                    continue
                workers[i]["spec"] = spec
                workers[i]["conn"].send((spec.to_dict(), device))
                progress(spec, "start")
                return

        try:
            for i in range(min(self.workers, len(pending))):
                start(i)
                dispatch(i)
            while any(w["spec"] is not None for w in workers.values()):
                busy = {w["conn"]: (i, w) for i, w in workers.items() if w["spec"] is not None}
                sentinels = {w["proc"].sentinel: (i, w) for i, w in workers.items() if w["spec"] is not None}
                for ready in connection.wait(list(busy) + list(sentinels)):
                    i, w = busy.get(ready) or sentinels[ready]  # type: ignore[index]
                    spec = w["spec"]
                    if workers[i] is not w or spec is None:
                        continue  # a handle of a worker already handled (pipe and sentinel both fired)
                    try:
                        record = w["conn"].recv() if ready in busy else None
                    except (EOFError, OSError):
                        record = None
                    if record is None:  # the worker died holding this run
                        w["proc"].join(timeout=5)
                        code = w["proc"].exitcode
                        record = failed(spec, device, f"worker process died (exit code {code}) while training")
                        finish(spec, record)
                        progress(spec, "failed")
                        w["spec"] = None
                        if pending:
                            start(i)
                    else:
                        finish(spec, record)
                        progress(spec, record["status"])
                        w["spec"] = None
                    if pending and workers[i]["spec"] is None:
                        dispatch(i)
        except KeyboardInterrupt:
            for w in workers.values():
                w["proc"].terminate()
                if w["spec"] is not None:
                    finish(w["spec"], interrupted(w["spec"], device))
                    progress(w["spec"], "interrupted")
                    w["spec"] = None
            raise
        finally:
            for w in workers.values():
                try:
                    w["conn"].send(None)
                except (OSError, BrokenPipeError):
                    pass
                w["proc"].join(timeout=5)
                if w["proc"].is_alive():
                    w["proc"].terminate()
