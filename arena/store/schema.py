"""Tables of the results store (SQLAlchemy Core; the same on SQLite and PostgreSQL).

runs          one row per run key: what ran, its status and timing, the traceback if it failed
metrics       final metrics of a run: (run_key, split, name) → value; split is "test" or "val"
curves        per-epoch values: (run_key, epoch, name) → value
environments  where runs ran: versions, device, CPU/GPU, git sha; id = hash of the contents
throughput    `arena bench` rows, keyed by what was measured and the environment it ran in
_arena_migrations  applied migrations and the arena version that applied each (see migrations.py)
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

STATUSES = ("planned", "running", "done", "failed", "diverged", "interrupted")
#: Runs in these states are results; the others are re-run by `arena run`.
FINISHED = ("done", "diverged")

migrations_table = Table(
    "_arena_migrations", metadata,
    Column("name", String(128), primary_key=True),
    Column("applied_at", String(40), nullable=False),
    Column("arena_version", String(40)),  # the arena that applied it (migration m005; NULL before)
)

environments = Table(
    "environments", metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("arena_version", String(40)),
    Column("python", String(40)),
    Column("torch", String(40)),
    Column("device", String(200)),
    Column("cpu", String(200)),
    Column("gpu", String(200)),
    Column("threads", Integer),
    Column("git_sha", String(60)),
    Column("data", Text, nullable=False),  # the full environment as JSON
)

runs = Table(
    "runs", metadata,
    Column("key", String(64), primary_key=True),
    Column("cell", String(100), nullable=False),
    Column("task", String(100), nullable=False),
    Column("preset", String(100), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("cell_version", String(40), nullable=False),
    Column("task_version", String(40), nullable=False),
    Column("cell_options", Text, nullable=False),  # canonical JSON
    Column("params", Text, nullable=False),
    Column("train", Text, nullable=False),
    Column("spec", Text, nullable=False),  # the identity that was hashed into the key
    # The task's metric contract at run time, so a store can be read without the plugin.
    Column("main_metric", String(100), nullable=False),
    Column("directions", Text, nullable=False),  # JSON {metric: higher_is_better}
    Column("chance", Text),  # JSON {metric: input-blind score} (migration m003)
    Column("data_seed", String(24), nullable=False),
    Column("init_seed", String(24), nullable=False),
    Column("device", String(40)),
    Column("env_id", String(64), ForeignKey("environments.id")),
    Column("owner", String(200)),  # host:pid of the process running it
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("duration_s", Float),
    Column("epochs", Integer),
    Column("best_epoch", Integer),
    Column("n_params", Integer),
    Column("body_params", Integer),  # n_params without the token embedding table (m006)
    Column("width", Integer),  # the model width: hidden, or solved for a budget (m006)
    Column("weights_sha256", String(64)),  # the kept weights' file, when asked (m007, arena/checkpoints.py)
    Column("cell_params", Integer),
    Column("state_size", Integer),
    Column("impl", String(100)),
    Column("error", Text),
    # The distributions that provided cell and task (part of the key) and their versions (m004).
    Column("cell_dist", String(200)),
    Column("cell_dist_version", String(200)),
    Column("task_dist", String(200)),
    Column("task_dist_version", String(200)),
    Index("ix_runs_cell_task", "cell", "task"),
    Index("ix_runs_status", "status"),
)

metrics = Table(
    "metrics", metadata,
    Column("run_key", String(64), ForeignKey("runs.key", ondelete="CASCADE"), primary_key=True),
    Column("split", String(10), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Float),
)

curves = Table(
    "curves", metadata,
    Column("run_key", String(64), ForeignKey("runs.key", ondelete="CASCADE"), primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Float),
)

throughput = Table(
    "throughput", metadata,
    # Hash of (environment, model, options, shapes, mode, device, compile): a new measurement of
    # the same thing on the same machine replaces the old one.
    Column("key", String(64), primary_key=True),
    Column("env_id", String(64), ForeignKey("environments.id")),
    Column("created_at", String(40), nullable=False),
    Column("model", String(100), nullable=False),
    Column("cell_options", Text, nullable=False),
    Column("seq_len", Integer, nullable=False),
    Column("hidden", Integer, nullable=False),
    Column("batch", Integer, nullable=False),
    Column("input_size", Integer, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("device", String(40), nullable=False),
    Column("device_name", String(200)),
    Column("threads", Integer),
    Column("torch", String(40)),
    Column("compile", Boolean, nullable=False),
    Column("median_s", Float, nullable=False),
    Column("p20_s", Float),
    Column("p80_s", Float),
    Column("tokens_per_s", Float),
    Column("latency_per_token_s", Float),
    Column("peak_mem_bytes", Integer),
    Column("state_bytes", Integer),
    Column("params", Integer),
    Column("impl", String(100)),
    Column("first_call_s", Float),
    Column("rounds", Integer),
    Column("baseline", String(100)),
    Column("ratio_to_baseline", Float),
    Column("time_exponent", Float),
    Index("ix_throughput_model", "model", "device_name"),
)
