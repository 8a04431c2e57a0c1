"""The same grid through every executor stores the same metrics; workers that die fail one run."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from .conftest import arena_exe, run_arena

GRID = ["run", "-m", "gru,rnn", "-t", "adding", "--preset", "smoke", "--seeds", "0-1", "--threads", "1",
        "--set", "epochs=1", "--set", "task.n_train=64", "--set", "task.n_val=32", "--set", "task.n_test=32"]


def metrics(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT r.cell, r.seed, r.status, m.name, m.value FROM runs r JOIN metrics m "
                       "ON m.run_key = r.key AND m.split = 'test' ORDER BY 1, 2, 4").fetchall()
    con.close()
    return rows


@pytest.mark.slow
def test_every_executor_stores_identical_metrics(tmp_path):
    variants = {"sequential": [], "workers": ["--workers", "2"],
                "submitit": ["--executor", "submitit", "--slurm", "cluster=local", "--slurm", f"folder={tmp_path}/jobs",
                             "--slurm", "poll_s=0.2"]}
    try:
        import ray  # noqa: F401

        variants["ray"] = ["--executor", "ray", "--executor-opt", "max_cpus=2"]
    except ImportError:
        pass
    results = {}
    for name, extra in variants.items():
        res = run_arena(*GRID, *extra, "--db", f"sqlite:///{tmp_path}/{name}.db", cwd=tmp_path, timeout=600)
        assert res.returncode == 0, (name, res.stderr)
        results[name] = metrics(tmp_path / f"{name}.db")
    reference = results["sequential"]
    assert len(reference) == 4 * 3 and all(r[2] == "done" for r in reference)
    for name, rows in results.items():
        assert rows == reference, name
    assert "ray" in results, "ray is a test dependency; it must be importable"
    # Environments are recorded from the workers (one thread each).
    con = sqlite3.connect(tmp_path / "workers.db")
    envs = [json.loads(d) for (d,) in con.execute("SELECT data FROM environments")]
    assert envs and all(e["threads"] == 1 for e in envs)


@pytest.mark.slow
def test_a_killed_worker_fails_only_its_run(tmp_path):
    grid = ["run", "-m", "gru", "-t", "adding", "--preset", "smoke", "--seeds", "0-3", "--workers", "2",
            "--set", "epochs=60", "--set", "patience=60", "--db", f"sqlite:///{tmp_path}/k.db"]
    proc = subprocess.Popen([arena_exe(), *grid], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    victim = None
    end = time.time() + 120
    while victim is None and time.time() < end:  # find a worker process (a child of the head)
        time.sleep(0.5)
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        kids = [int(p) for p in out]
        for pid in kids:
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
                victim = pid
                break
    assert victim, "no worker process found"
    # A worker holds a run from the moment it starts until its last run ends; kill it early, as
    # a busy machine can finish a worker's two short runs within a couple of seconds.
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err  # one run failed, the grid finished
    con = sqlite3.connect(tmp_path / "k.db")
    rows = con.execute("SELECT status, error FROM runs ORDER BY seed").fetchall()
    statuses = [s for s, _ in rows]
    assert statuses.count("failed") == 1 and statuses.count("done") == 3
    assert "worker process died (exit code -9)" in next(e for s, e in rows if s == "failed")


def test_ingest_is_idempotent_and_merges_outboxes(arena, tmp_path, db_url):
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs
    from arena.worker import run_one, write_result

    host = get_host()
    specs = plan_runs(host.cells, host.tasks, ["rnn"], ["adding"], [0, 1], "smoke",
                      parse_overrides(["epochs=1", "task.n_train=32", "task.n_val=16", "task.n_test=16"]))
    outbox = tmp_path / "outbox"
    for s in specs:
        write_result(run_one(s.to_dict(), "cpu", 1), outbox)
    (outbox / ".tmp-half-written.json").write_text("{")  # never read: not a result file
    (outbox / "junk.result.json").write_text('{"spec": {"cell": "x"}}')
    res = arena("ingest", "--unverified", str(outbox), "--db", db_url)
    assert "3 result files: 2 stored, 0 already stored, 1 invalid" in res.stdout
    res = arena("ingest", "--unverified", str(outbox), "--db", db_url)
    assert "0 stored, 2 already stored" in res.stdout
    runs = arena.json("export", "--db", db_url)
    assert sorted(r["seed"] for r in runs) == [0, 1] and all(r["status"] == "done" for r in runs)
    assert all(r["environment"]["threads"] == 1 for r in runs)


@pytest.mark.slow
def test_a_worker_whose_head_is_gone_exits_quietly(tmp_path):
    """A worker left behind by a killed head finds the pipe broken when it sends its result: it
    exits with status 0 and no traceback (kill -9 of a head with --workers N)."""
    script = tmp_path / "orphan.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing as mp

        from arena.executors.local import _worker_main
        from arena.host import get_host
        from arena.plan import parse_overrides, plan_runs

        if __name__ == "__main__":
            host = get_host()
            (spec,) = plan_runs(host.cells, host.tasks, ["rnn"], ["adding"], [0], "smoke",
                                parse_overrides(["epochs=1", "task.n_train=32", "task.n_val=16", "task.n_test=16"]))
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child, {"CUDA_VISIBLE_DEVICES": ""}, 1))
            proc.start()
            child.close()
            parent.send((spec.to_dict(), "cpu"))
            parent.close()  # the head is gone before the worker answers
            proc.join(240)
            print("worker exit code", proc.exitcode)
    """))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert "worker exit code 0" in res.stdout, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "BrokenPipeError" not in res.stderr, res.stderr


def test_ingest_stores_the_valid_files_and_counts_every_malformed_one(arena, tmp_path, db_url):
    """Malformed result files (here: metrics that are a list, a file that is not JSON) are
    counted invalid, never claimed (no `running` row), and --delete leaves them in place."""
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs

    host = get_host()
    a, b = plan_runs(host.cells, host.tasks, ["rnn"], ["adding"], [0, 1], "smoke", parse_overrides([]))
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    good = {"spec": a.to_dict(), "key": a.key, "status": "done", "main_metric": "mse", "directions": {"mse": False},
            "metrics": {"test": {"mse": 0.1}}, "curves": [{"epoch": 1, "train_loss": 0.2}], "fields": {"epochs": 1}}
    (outbox / "good.result.json").write_text(json.dumps(good))
    (outbox / "list.result.json").write_text(json.dumps({**good, "spec": b.to_dict(), "key": b.key, "metrics": [1]}))
    (outbox / "text.result.json").write_text("not json")
    res = arena("ingest", "--unverified", str(outbox), "--delete", "--db", db_url)
    assert "3 result files: 1 stored, 0 already stored, 2 invalid" in res.stdout
    assert "Traceback" not in res.output
    runs = arena.json("export", "--db", db_url)
    assert [(r["key"], r["status"]) for r in runs] == [(a.key, "done")]  # no `running` row for b
    assert sorted(p.name for p in outbox.iterdir()) == ["list.result.json", "text.result.json"]


class _InterruptedAfterClaim:
    """An executor hit by Ctrl-C right after its first claim, before it could mark the run:
    where a signal landing in the progress output or a store write leaves it."""

    def run(self, specs, *, device, claim, finish, progress):
        assert claim(specs[0])
        raise KeyboardInterrupt


def _interrupted_grid(db_url, make_executor):
    """Two smoke runs through ``execute`` with an executor that Ctrl-C hits; returns the specs,
    the report, the stored statuses and how long ``execute`` took."""
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs
    from arena.runner import GridReport, execute
    from arena.store import open_store

    host = get_host()
    specs = plan_runs(host.cells, host.tasks, ["gru"], ["adding"], [0, 1], "smoke", parse_overrides([]))
    store = open_store(db_url, write=True)
    try:
        start = time.monotonic()
        report = execute(host, store, specs, GridReport(planned=specs), device_name="cpu",
                         executor=make_executor(store))
        took = time.monotonic() - start
        statuses = store.statuses(s.key for s in specs)
    finally:
        store.close()
    return specs, report, statuses, took


def test_ctrl_c_between_claim_and_guard_marks_the_run_interrupted(db_url):
    specs, report, statuses, _ = _interrupted_grid(db_url, lambda store: _InterruptedAfterClaim())
    assert report.interrupted
    assert statuses == {specs[0].key: ("interrupted", None)}  # the unclaimed run was never written


class _InterruptedInsideATransaction:
    """Claims a run, then the signal lands inside a store write: its BEGIN ran (SQLite's write
    lock is held) but its ``with`` never took hold, so nothing rolls it back on the way out."""

    def __init__(self, store):
        self.store = store

    def run(self, specs, *, device, claim, finish, progress):
        assert claim(specs[0])
        txn = self.store.engine.begin()
        txn.__enter__()  # noqa: F841 - held by this frame, as a cut-off transaction is
        raise KeyboardInterrupt


def test_ctrl_c_inside_a_store_write_still_marks_the_run_interrupted(db_url):
    specs, report, statuses, took = _interrupted_grid(db_url, _InterruptedInsideATransaction)
    assert report.interrupted
    assert statuses == {specs[0].key: ("interrupted", None)}
    assert took < 10, f"marking waited {took:.0f} s on the process's own write lock"
