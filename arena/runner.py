"""Plan → skip what is stored → hand the rest to an executor → store each result as it comes.

The head process (this one) is the only writer to the store. Each run is first claimed
(``running``, with the owner process), then replaced in one transaction by its outcome: ``done``
or ``diverged`` with metrics and curves, ``failed`` with the traceback, or ``interrupted`` on
Ctrl-C. A process killed with -9 leaves at most its in-flight runs ``running`` under a dead
owner; the next ``arena run`` redoes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from arena.errors import ArenaError
from arena.executors import interrupted
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
    for spec in specs:
        status, owner = stored.get(spec.key, (None, None))
        if status is None or force:
            report.todo.append(spec)
        elif status in FINISHED_STATUSES:
            report.skipped.append(spec)
        elif status == "failed" and not retry_failed:
            report.skipped.append(spec)
        elif status == "running" and owner_alive(owner):
            report.busy.append(spec)
        else:  # planned, interrupted, failed with --retry-failed, or running by a dead process
            report.todo.append(spec)
    return report


def store_record(store: Store, spec: RunSpec, record: dict[str, Any]) -> None:
    """Store a worker's result record for a run this process has claimed."""
    env = record.get("environment")
    fields = dict(record.get("fields") or {})
    if record.get("device"):
        fields["device"] = record["device"]
    if env:
        fields["env_id"] = store.save_environment(env)
        # The versions of the distributions that actually trained the run, as its worker saw them.
        plugins = env.get("plugins") or {}
        fields["cell_dist_version"] = plugins.get(spec.cell_dist)
        fields["task_dist_version"] = plugins.get(spec.task_dist)
    if record.get("chance"):
        fields["chance"] = record["chance"]
    store.finish_run(spec.key, status=record["status"], metrics=record.get("metrics"), curves=record.get("curves"),
                     error=record.get("error"), duration_s=record.get("duration_s"), **fields)


def make_executor(host: PluginHost, name: str, options: dict[str, Any] | None = None) -> Any:
    """The named executor built with ``options``; options it refuses are an ArenaError, raised
    before anything is claimed or stored."""
    cls = host.executors.get(name).load()
    try:
        return cls(**(options or {}))
    except (TypeError, ValueError) as exc:
        raise ArenaError(f"executor {name!r}: {exc}") from None


def execute(host: PluginHost, store: Store, todo: list[RunSpec], report: GridReport, *, device_name: str,
            executor: str | Any = "local", executor_options: dict[str, Any] | None = None,
            progress: Callable[[RunSpec, str], None] | None = None, force: bool = False,
            retry_failed: bool = False) -> GridReport:
    """Train every run of ``todo`` with the named executor (or an executor built by
    ``make_executor``); returns when all ended or on Ctrl-C."""
    from arena.store import owner_id
    from arena.worker import chance_of

    ex = make_executor(host, executor, executor_options) if isinstance(executor, str) else executor
    claimed: dict[str, RunSpec] = {}

    def claim(spec: RunSpec) -> bool:
        info = host.tasks.get(spec.task).info
        claimed[spec.key] = spec  # before the claim: Ctrl-C may land between its commit and its return
        return store.start_run(spec, env_id=None, device=device_name, main_metric=info.main_metric,
                               directions={m.name: m.higher_is_better for m in info.metrics},
                               chance=chance_of(host.tasks.get(spec.task).load(), spec.params),
                               force=force, retry_failed=retry_failed)

    def finish(spec: RunSpec, record: dict[str, Any]) -> None:
        store_record(store, spec, record)
        report.ran[spec.key] = record["status"]

    def on_progress(spec: RunSpec, event: str) -> None:
        if event == "skipped":
            report.busy.append(spec)
        if progress:
            progress(spec, event)

    try:
        ex.run(todo, device=device_name, claim=claim, finish=finish, progress=on_progress)
    except KeyboardInterrupt:
        report.interrupted = True
    if report.interrupted:
        # Outside the except block: a signal that cut a store transaction off after its BEGIN
        # leaves that connection (and SQLite's write lock) referenced by the traceback's frames
        # until the exception is gone; collecting them rolls it back, or the writes below would
        # wait on this process's own lock until the busy timeout.
        import gc

        gc.collect()
        # The executors mark the run they were training; a signal that lands in the few lines
        # between a claim and that guard (progress output, a store write) would leave it
        # ``running`` under this live process, so every run this process still holds is marked.
        open_keys = [k for k in claimed if k not in report.ran]
        mine = {k for k, (st, owner) in store.statuses(open_keys).items() if st == "running" and owner == owner_id()}
        for key in open_keys:
            if key in mine:
                finish(claimed[key], interrupted(claimed[key], device_name))
    return report


def ingest(store: Store, records: list[dict[str, Any]]) -> dict[str, int]:
    """Store result records made elsewhere (an outbox, a colleague's machine), idempotently.

    A record whose run is already stored as done or diverged is skipped; anything else (absent,
    failed, interrupted, or running under a dead owner) is replaced by the record. Each record
    is checked in full (``arena.validate.record_problem``; ``None`` stands for an unreadable
    file) before its run is claimed: a malformed one is counted invalid and never leaves a
    ``running`` row behind.
    """
    from arena.plan import RunSpec
    from arena.validate import record_problem

    valid = [rec for rec in records if record_problem(rec) is None]
    counts = {"ingested": 0, "skipped": 0, "invalid": len(records) - len(valid)}
    stored = store.statuses(r["key"] for r in valid)
    for rec in valid:
        spec = RunSpec.from_dict(rec["spec"])
        status, owner = stored.get(spec.key, (None, None))
        if status in FINISHED_STATUSES or (status == "running" and owner_alive(owner)):
            counts["skipped"] += 1
            continue
        if not store.start_run(spec, env_id=None, device=rec.get("device", ""), main_metric=rec.get("main_metric", ""),
                               directions=rec.get("directions", {}), chance=rec.get("chance"), retry_failed=True):
            counts["skipped"] += 1
            continue
        store_record(store, spec, rec)
        counts["ingested"] += 1
    return counts
