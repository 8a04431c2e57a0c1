"""Issue 15: a mistake costs one clear line on stderr, exit status 2, no traceback, nothing stored.

Every bad input is one entry of ``CASES`` (extend it: one ``Case`` per line), run in-process
through the real CLI. A case may set environment variables, prepare a store (``store``), drop
files under the test's directory (``files``: a result record is a function of a valid one), and
install a plugin distribution with broken presets (``plugin``). Placeholders in ``cmd``:
``{tmp}`` the test's directory (also the working directory), ``{db}`` the URL of
``{tmp}/store.db``, ``{outbox}`` the folder ``{tmp}/outbox``.

"Nothing stored": the runs of every store in ``{tmp}`` are the same after the command as before
(none, unless the case prepared a store with runs).
"""
from __future__ import annotations

import json
import shlex
import sqlite3
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

Record = Callable[[dict[str, Any]], Any]  # a valid result record → what the file holds


@dataclass(frozen=True)
class Case:
    id: str
    cmd: str
    env: dict[str, str] = field(default_factory=dict)
    store: str | None = None  # "empty", "one-run", "newer" or "corrupt": {tmp}/store.db before the command
    files: dict[str, str | bytes | Record] = field(default_factory=dict)  # path under {tmp} → content
    plugin: bool = False  # put arena-badpresets (below) on sys.path


def rec(**changes: Any) -> Record:
    """A result file: the valid record with top-level fields replaced."""
    return lambda r: {**r, **changes}


def spec(**changes: Any) -> Record:
    """A result file whose spec has fields replaced (None: removed)."""
    def make(r: dict[str, Any]) -> dict[str, Any]:
        s = {k: v for k, v in {**r["spec"], **changes}.items() if v is not None}
        return {**r, "spec": s}
    return make


def ingest(name: str, content: str | bytes | Record) -> Case:
    return Case(f"ingest-{name}", "ingest --unverified {outbox} --db {db}", files={"outbox/x.result.json": content})


RUN = "run -m gru -t adding --preset smoke --seeds 0 --db {db}"

CASES: list[Case] = [
    # -- names ---------------------------------------------------------------------------
    Case("run-unknown-cell", "run -m gruu -t copy --db {db}"),
    Case("run-unknown-task", "run -m gru -t coppy --db {db}"),
    Case("run-unknown-preset", "run -m gru -t copy --preset huge --db {db}"),
    Case("run-no-model-name", "run -m , -t copy --db {db}"),
    Case("run-name-with-space", "run -m gru -t 'co py' --db {db}"),
    Case("run-unbalanced-brackets", "run -m gru -t 'adding[seq_len=5' --db {db}"),
    Case("run-closing-bracket-first", "run -m gru -t 'adding]seq_len=5[' --db {db}"),
    # -- --set keys and types --------------------------------------------------------------
    Case("set-unknown-key", RUN + " --set nope=1"),
    Case("set-unknown-cell-option", RUN + " --set cell.hidden=3"),
    Case("set-unknown-task-param", RUN + " --set task.nope=1"),
    Case("set-unknown-train-field", RUN + " --set train.nope=1"),
    Case("set-no-equals", RUN + " --set lr"),
    Case("set-empty-key", RUN + " --set =1"),
    Case("set-task-param-not-int", "run -m gru -t copy --preset smoke --db {db} --set task.length=abc"),
    Case("set-task-param-refused-by-task", "run -m gru -t copy --preset smoke --db {db} --set task.length=0"),
    Case("set-lr-not-number", RUN + " --set lr=abc"),
    Case("set-lr-list", RUN + " --set lr=[1]"),
    Case("set-hidden-bool", RUN + " --set hidden=true"),
    Case("set-hidden-fraction", RUN + " --set hidden=1.5"),
    Case("set-hidden-beyond-int64", RUN + " --set hidden=99999999999999999999"),
    Case("set-unknown-monitor", RUN + " --set monitor=nope"),
    Case("set-cell-option-wrong-type", "run -m mogru -t adding --preset smoke --db {db} --set cell.fixed_beta=[1]"),
    # -- training bounds (TRAIN_BOUNDS) --------------------------------------------------------
    Case("set-hidden-0", RUN + " --set hidden=0"),
    Case("set-hidden-negative", RUN + " --set hidden=-3"),
    Case("set-batch-size-0", RUN + " --set batch_size=0"),
    Case("set-epochs-0", RUN + " --set epochs=0"),
    Case("set-dropout-2", RUN + " --set dropout=2"),
    Case("set-dropout-1", RUN + " --set dropout=1"),
    Case("set-dropout-negative", RUN + " --set dropout=-0.1"),
    Case("set-patience-negative", RUN + " --set patience=-1"),
    Case("set-lr-0", RUN + " --set lr=0"),
    Case("set-lr-negative", RUN + " --set lr=-1"),
    Case("set-unknown-optimizer", RUN + " --set optimizer=sgd"),
    Case("set-weight-decay-negative", RUN + " --set weight_decay=-0.01"),
    Case("set-clip-negative", RUN + " --set clip=-1"),
    Case("set-plateau-factor-0", RUN + " --set plateau_factor=0"),
    Case("set-plateau-factor-1", RUN + " --set plateau_factor=1"),
    Case("set-plateau-patience-negative", RUN + " --set plateau_patience=-1"),
    # -- NaN and infinities everywhere ---------------------------------------------------------
    Case("set-lr-NaN", RUN + " --set lr=NaN"),
    Case("set-lr-Infinity", RUN + " --set lr=Infinity"),
    Case("set-lr-minus-Infinity", RUN + " --set lr=-Infinity"),
    Case("set-lr-1e400", RUN + " --set lr=1e400"),
    Case("set-lr-nan-string", RUN + " --set lr=nan"),
    Case("set-lr-inf-string", RUN + " --set lr=inf"),
    Case("set-dropout-NaN", RUN + " --set train.dropout=NaN"),
    Case("set-task-param-NaN", RUN + " --set task.seq_len=NaN"),
    Case("set-task-param-1e400", RUN + " --set task.seq_len=1e400"),
    Case("set-task-float-param-nan", "run -m gru -t counting --preset smoke --db {db} --set task.density=nan"),
    Case("set-cell-option-NaN", "run -m mogru -t adding --preset smoke --db {db} --set cell.fixed_beta=NaN"),
    Case("set-cell-option-inf-string", "run -m mogru -t adding --preset smoke --db {db} --set cell.velocity_clip=inf"),
    Case("sweep-task-Infinity", "run -m gru -t 'adding[seq_len=Infinity]' --preset smoke --db {db}"),
    Case("sweep-task-float-NaN", "run -m gru -t 'counting[density=0.1,NaN]' --preset smoke --db {db}"),
    Case("sweep-cell-1e400", "run -m 'mogru[fixed_beta=1e400]' -t adding --preset smoke --db {db}"),
    Case("executor-opt-NaN", RUN + " --executor-opt workers=NaN"),
    # -- presets of a plugin are checked like --set ----------------------------------------------
    Case("plugin-preset-epochs-0", "run -m gru -t zeroepochs --preset quick --db {db}", plugin=True),
    Case("plugin-preset-lr-nan", "run -m gru -t nanlr --preset quick --db {db}", plugin=True),
    Case("plugin-preset-hidden-string", "run -m gru -t strhidden --preset quick --db {db}", plugin=True),
    Case("plugin-preset-param-nan", "run -m gru -t nanparam --preset quick --db {db}", plugin=True),
    Case("plugin-cell-option-default-nan", "run -m nancell -t adding --preset smoke --db {db}", plugin=True),
    # -- sweeps ----------------------------------------------------------------------------------
    Case("sweep-no-values", "run -m gru -t 'copy[length]' --preset smoke --db {db}"),
    Case("sweep-unknown-param", "run -m gru -t 'copy[lenght=1,2]' --preset smoke --db {db}"),
    Case("sweep-bad-type", "run -m gru -t 'copy[length=a]' --preset smoke --db {db}"),
    Case("sweep-unknown-cell-option", "run -m 'gru[x=1]' -t copy --preset smoke --db {db}"),
    # -- seeds -----------------------------------------------------------------------------------
    Case("seeds-reversed", RUN + " --seeds 5-1"),
    Case("seeds-word", RUN + " --seeds a"),
    Case("seeds-empty", RUN + " --seeds ''"),
    Case("seeds-negative", RUN + " --seeds -1"),
    Case("seeds-fraction", RUN + " --seeds 1.5"),
    Case("seeds-open-range", RUN + " --seeds 0-"),
    Case("seeds-empty-item", RUN + " --seeds 0,,1"),
    Case("seeds-one-range-over-10000", RUN + " --seeds 0-10000"),
    Case("seeds-two-ranges-over-10000", RUN + " --seeds 0-9999,10000-19999"),
    Case("seeds-ranges-and-list-over-10000", RUN + " --seeds 0-4999,5000-9999,10000"),
    Case("seeds-beyond-int64", RUN + " --seeds 99999999999999999999"),
    Case("seeds-2-pow-63", RUN + " --seeds 9223372036854775808"),
    Case("seeds-range-end-beyond-int64", RUN + " --seeds 9223372036854775800-9223372036854775808"),
    Case("seeds-5000-digits", RUN + " --seeds " + "7" * 5000),
    # -- run options and executors ---------------------------------------------------------------
    Case("run-workers-0", RUN + " --workers 0"),
    Case("run-threads-0", RUN + " --threads 0"),
    Case("run-device-tpu", RUN + " --device tpu"),
    Case("run-missing-model", "run -t copy --db {db}"),
    Case("run-misspelt-option", "run --mdoel gru -t copy --db {db}"),
    Case("run-workers-with-ray", RUN + " --workers 2 --executor ray"),
    Case("run-unknown-executor", RUN + " --executor nope"),
    Case("executor-opt-unknown", RUN + " --executor-opt foo=1"),
    Case("executor-opt-no-equals", RUN + " --executor-opt noequals"),
    Case("slurm-option-on-local", RUN + " --slurm partition=x"),
    Case("slurm-unknown-parameter", RUN + " --executor submitit --slurm cluster=local --slurm bogus=1"),
    Case("slurm-unknown-cluster", RUN + " --executor submitit --slurm cluster=bogus"),
    Case("slurm-time-not-int", RUN + " --executor submitit --slurm cluster=local --slurm time=1.5"),
    Case("ray-num-cpus-not-number", RUN + " --executor ray --executor-opt num_cpus=abc"),
    # -- databases -------------------------------------------------------------------------------
    Case("run-db-empty", "run -m gru -t adding --preset smoke --seeds 0 --db ''"),
    Case("run-arena-db-empty", "run -m gru -t adding --preset smoke --seeds 0", env={"ARENA_DB": ""}),
    Case("run-arena-db-blank", "run -m gru -t adding --preset smoke --seeds 0", env={"ARENA_DB": "  "}),
    Case("run-db-not-a-url", "run -m gru -t adding --preset smoke --seeds 0 --db 'not a url'"),
    Case("run-db-corrupt", RUN, store="corrupt"),
    Case("run-db-dir-missing", "run -m gru -t adding --preset smoke --seeds 0 --db sqlite:///{tmp}/no/such/dir.db"),
    Case("run-db-is-a-directory", "run -m gru -t adding --preset smoke --seeds 0 --db sqlite:///{tmp}"),
    Case("run-db-unreachable-server", "run -m gru -t adding --preset smoke --seeds 0 "
                                      "--db postgresql://nobody@127.0.0.1:1/x"),
    Case("leaderboard-db-empty", "leaderboard --db ''"),
    Case("leaderboard-arena-db-empty", "leaderboard", env={"ARENA_DB": ""}),
    Case("leaderboard-db-absent", "leaderboard --db {db}"),
    Case("leaderboard-db-corrupt", "leaderboard --db {db}", store="corrupt"),
    Case("export-db-corrupt", "export --db {db}", store="corrupt"),
    Case("export-db-empty", "export --db ''"),
    Case("show-db-empty", "show b2:00 --db ''"),
    Case("compare-db-absent", "compare gru rnn --db {db}"),
    Case("ingest-db-empty", "ingest {outbox} --db ''", files={"outbox/.keep": ""}),
    Case("bench-db-empty", "bench -m rnn --db ''"),
    # -- leaderboard, compare, export, show ------------------------------------------------------
    Case("leaderboard-unknown-task", "leaderboard --task unknown --db {db}", store="empty"),
    Case("leaderboard-misspelt-task", "leaderboard --task addding --db {db}", store="one-run"),
    Case("leaderboard-aggregate-unknown-task", "leaderboard --aggregate --task unknown --db {db}", store="one-run"),
    Case("leaderboard-bad-format", "leaderboard --format xml --db {db}", store="empty"),
    Case("compare-cell-with-itself", "compare gru gru --db {db}", store="one-run"),
    Case("compare-unknown-cell", "compare gru lstmm --db {db}", store="one-run"),
    Case("compare-one-cell", "compare gru --db {db}", store="empty"),
    Case("export-to-missing-directory", "export -o missing/dir/out.json --db {db}", store="empty"),
    Case("export-csv-to-missing-directory", "export --format csv -o missing/out.csv --db {db}", store="one-run"),
    Case("export-to-a-directory", "export -o {tmp} --db {db}", store="empty"),
    Case("export-bad-format", "export --format xml --db {db}", store="empty"),
    Case("show-unknown-name", "show nothing"),
    Case("show-key-underscore-is-literal", "show b2:_ --db {db}", store="one-run"),
    Case("show-key-percent-is-literal", "show b2:% --db {db}", store="one-run"),
    Case("show-unknown-key", "show b2:ffff --db {db}", store="one-run"),
    Case("show-key-db-absent", "show b2:ffff --db {db}"),
    # -- ingest: every malformed result file is invalid, none leaves a row ----------------------
    Case("ingest-missing-folder", "ingest {tmp}/nope --db {db}"),
    Case("ingest-a-file", "ingest {tmp}/f.txt --db {db}", files={"f.txt": "x"}),
    ingest("json-list", "[1, 2]"),
    ingest("json-string", '"done"'),
    ingest("json-number", "3"),
    ingest("json-null", "null"),
    ingest("not-json", "not json at all"),
    ingest("truncated-json", '{"spec": {'),
    ingest("not-utf8", b"\xff\xfe\x00"),
    ingest("no-status", lambda r: {k: v for k, v in r.items() if k != "status"}),
    ingest("unknown-status", rec(status="bogus")),
    ingest("status-running", rec(status="running")),
    ingest("status-not-string", rec(status=["done"])),
    ingest("no-spec", lambda r: {k: v for k, v in r.items() if k != "spec"}),
    ingest("spec-a-list", rec(spec=[1, 2])),
    ingest("spec-without-seed", spec(seed=None)),
    ingest("spec-seed-negative", spec(seed=-1)),
    ingest("spec-seed-bool", spec(seed=True)),
    ingest("spec-seed-beyond-int64", spec(seed=2**64)),
    ingest("spec-params-a-list", spec(params=[1])),
    ingest("spec-cell-a-number", spec(cell=5)),
    ingest("key-mismatch", rec(key="b2:" + "0" * 32)),
    ingest("metrics-a-list", rec(metrics=[1, 2])),
    ingest("metrics-split-a-number", rec(metrics={"test": 0.5})),
    ingest("metrics-value-a-string", rec(metrics={"test": {"mse": "low"}})),
    ingest("metrics-value-bool", rec(metrics={"test": {"mse": True}})),
    ingest("metrics-value-nested", rec(metrics={"test": {"mse": {"x": 1}}})),
    ingest("metrics-value-beyond-float", rec(metrics={"test": {"mse": 10**400}})),
    ingest("metrics-split-name-too-long", rec(metrics={"test-on-the-holdout": {"mse": 0.1}})),
    ingest("curves-an-object", rec(curves={"epoch": 1})),
    ingest("curves-repeat-an-epoch", rec(curves=[{"epoch": 1, "loss": 0.5}, {"epoch": 1, "loss": 0.4}])),
    ingest("curves-row-without-epoch", rec(curves=[{"train_loss": 0.5}])),
    ingest("curves-value-a-string", rec(curves=[{"epoch": 1, "train_loss": "x"}])),
    ingest("fields-unknown-column", rec(fields={"bogus": 1})),
    ingest("fields-epochs-a-string", rec(fields={"epochs": "one"})),
    ingest("environment-a-list", rec(environment=[1])),
    ingest("environment-threads-a-string", rec(environment={"threads": "two"})),
    ingest("environment-plugins-a-list", rec(environment={"plugins": ["x"]})),
    ingest("chance-NaN", lambda r: json.dumps({**r, "chance": {"mse": float("nan")}})),
    ingest("chance-a-list", rec(chance=[0.1])),
    ingest("directions-a-list", rec(directions=["mse"])),
    ingest("main-metric-null", rec(main_metric=None)),
    ingest("duration-a-string", rec(duration_s="long")),
    ingest("error-a-number", rec(error=5)),
    Case("ingest-a-directory-named-like-a-result", "ingest {outbox} --db {db}",
         files={"outbox/x.result.json/.keep": ""}),
    # -- bench, data, list, other commands -------------------------------------------------------
    Case("bench-unknown-mode", "bench -m rnn --mode back --db {db}"),
    Case("bench-seq-len-0", "bench -m rnn --seq-len 0 --db {db}"),
    Case("bench-seq-len-word", "bench -m rnn --seq-len a --db {db}"),
    Case("bench-hidden-0", "bench -m rnn --hidden 0 --db {db}"),
    Case("bench-unknown-baseline", "bench -m rnn --vs grux --db {db}"),
    Case("bench-unknown-cell", "bench -m nope --db {db}"),
    Case("bench-batch-0", "bench -m rnn --batch 0 --db {db}"),
    Case("bench-rounds-0", "bench -m rnn --rounds 0 --db {db}"),
    Case("data-fetch-unknown", "data fetch nope"),
    Case("data-status-bad-format", "data status --format xml"),
    Case("list-unknown-kind", "list nothing"),
    Case("unknown-command", "frobnicate"),
    Case("unknown-top-level-option", "--bogus leaderboard"),
    Case("app-empty-db", "app --db ''"),
    Case("app-empty-arena-db", "app", env={"ARENA_DB": ""}),
    Case("sys-info-bad-device", "sys-info --device tpu"),
    # -- plugins: strict mode, names a broken plugin may provide, contested names ------------------
    *[Case(f"strict-{name}", cmd, env={"ARENA_STRICT_PLUGINS": "1"}, plugin=True) for name, cmd in (
        ("plugins", "plugins"), ("plugins-json", "plugins --format json"), ("list", "list cells"),
        ("run", RUN), ("dry-run", RUN + " --dry-run"), ("show-cell", "show gru"), ("leaderboard", "leaderboard --db {db}"),
        ("export", "export --db {db}"), ("sys-info", "sys-info"), ("data-status", "data status"),
        ("test-plugin", "test-plugin arena-badpresets"), ("new-plugin", "new-plugin fresh --dir {tmp}"))],
    Case("cell-a-broken-plugin-may-provide", "run -m brokencell -t adding --preset smoke --db {db}", plugin=True),
    Case("task-a-broken-plugin-may-provide", "run -m gru -t brokentask --preset smoke --db {db}", plugin=True),
    Case("cell-claimed-by-two-plugins", "run -m twinned -t adding --preset smoke --db {db}", plugin=True),
    Case("show-cell-claimed-by-two-plugins", "show twinned", plugin=True),
    # -- a store written by a newer arena: refused by readers and writers alike -------------------
    *[Case(f"newer-store-{name}", cmd, store="newer") for name, cmd in (
        ("run", RUN), ("leaderboard", "leaderboard --db {db}"), ("aggregate", "leaderboard --aggregate --db {db}"),
        ("compare", "compare gru lstm --db {db}"), ("export", "export --db {db}"), ("show", "show b2:00 --db {db}"),
        ("ingest", "ingest {tmp} --db {db}"), ("bench", "bench -m rnn --seq-len 4 --rounds 1 --db {db}"))],
]

PLUGIN = """
import dataclasses

from arena import CellInfo, Preset, hookimpl
from arena.tasks.adding import INFO

SMOKE = INFO.presets["smoke"]


def info(params=SMOKE.params, **train):
    return dataclasses.replace(INFO, presets={"quick": Preset(params=params, train={**SMOKE.train, **train})},
                               default_preset="quick")


@hookimpl
def register_tasks(register):
    task = "arena.tasks.adding:AddingTask"
    register("zeroepochs", task, info=info(epochs=0))
    register("nanlr", task, info=info(lr=float("nan")))
    register("strhidden", task, info=info(hidden="64"))
    register("nanparam", task, info=info(params={**SMOKE.params, "seq_len": float("nan")}))


@hookimpl
def register_cells(register):
    register("nancell", "arena.plugins.baselines:GRU", info=CellInfo(summary="x", options={"alpha": float("nan")}))
"""


TWIN = """
from arena import CellInfo, hookimpl


@hookimpl
def register_cells(register):
    register("twinned", "arena.plugins.baselines:GRU", info=CellInfo(summary="claimed twice"))
"""


def _install_plugin(root: Path) -> None:
    """arena-badpresets, a plugin that fails to import, and two plugins claiming one name."""
    for dist, module, source in (("arena-badpresets", "arena_badpresets", PLUGIN),
                                 ("arena-brokenimport", "arena_brokenimport", "import a_library_that_is_missing\n"),
                                 ("arena-twin-a", "arena_twin_a", TWIN), ("arena-twin-b", "arena_twin_b", TWIN)):
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[arena]\n{dist.removeprefix('arena-')} = {module}\n")


def _valid_record() -> dict[str, Any]:
    """A result record `arena ingest` stores (nothing trained: the fields are made up)."""
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs

    host = get_host()
    (s,) = plan_runs(host.cells, host.tasks, ["gru"], ["adding"], [0], "smoke", parse_overrides([]))
    return {"spec": s.to_dict(), "key": s.key, "status": "done", "device": "cpu", "main_metric": "mse",
            "directions": {"mse": False, "mae": False, "solved": True}, "chance": {"mse": 1 / 6},
            "metrics": {"test": {"mse": 0.1, "mae": 0.2, "solved": 0.0}, "val": {"mse": 0.1}},
            "curves": [{"epoch": 1, "train_loss": 0.5, "val_mse": 0.1}], "fields": {"epochs": 1, "impl": "x"},
            "environment": None, "error": None, "duration_s": 0.5}


def _prepare_store(kind: str, url: str, path: Path) -> None:
    if kind == "corrupt":
        path.write_text("garbage")
        return
    from arena.runner import ingest as ingest_records
    from arena.store import open_store

    store = open_store(url, write=True)
    if kind == "one-run":
        assert ingest_records(store, [_valid_record()])["ingested"] == 1
    if kind == "newer":  # as a later arena would leave it: one migration this arena does not know
        assert ingest_records(store, [_valid_record()])["ingested"] == 1
        with store.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO _arena_migrations (name, applied_at, arena_version) "
                                 "VALUES ('m099_from_the_future', '2031-01-01', '9.0.0')")
    store.close()


def _runs(tmp: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every store file under the test's directory → its runs (key, status)."""
    out = {}
    for db in sorted(tmp.rglob("*.db")):
        if db.is_file() and db.read_bytes()[:16] == b"SQLite format 3\x00":
            con = sqlite3.connect(db)
            try:
                has = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs'").fetchone()
                out[db.name] = con.execute("SELECT key, status FROM runs ORDER BY key").fetchall() if has else []
            finally:
                con.close()
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_stores_nothing(case: Case, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from arena.cli import build_cli
    from arena.host import reset_host

    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    if case.plugin:
        site = tmp_path / "site"
        site.mkdir()
        _install_plugin(site)
        monkeypatch.syspath_prepend(str(site))
    db_path = tmp_path / "store.db"
    url = f"sqlite:///{db_path}"
    if case.store:
        _prepare_store(case.store, url, db_path)
    for rel, content in case.files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content = content(_valid_record())
            content = content if isinstance(content, str) else json.dumps(content)
        (target.write_bytes if isinstance(content, bytes) else target.write_text)(content)
    before = _runs(tmp_path)
    args = shlex.split(case.cmd.format(tmp=tmp_path, db=url, outbox=tmp_path / "outbox"))

    reset_host()
    res = CliRunner().invoke(build_cli(), args, catch_exceptions=True)

    leaked = "".join(traceback.format_exception(res.exception)) if res.exception and res.exit_code != 2 else ""
    assert res.exit_code == 2, f"exit {res.exit_code}\n{res.output}\n{leaked}"
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    after = _runs(tmp_path)
    assert after == before, f"stored: {after} (before: {before})"
    if case.cmd.startswith("ingest"):
        assert not [r for runs in after.values() for r in runs if r[1] == "running"], after  # not even "running"
