"""Per-run reads: what a page asks the store for directly, a few rows at a time.

Learning curves (averaged in SQL), the runs table (a search with a ``LIMIT``), one run in full,
and the benchmark rows. User input travels as bound parameters (``LIKE`` patterns escaped).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select

from arena.app.frame import Frame, loads
from arena.store import Store, schema
from arena.store.providers import labelled


def curves(store: Store, frame: Frame, task: str, name: str) -> pd.DataFrame:
    """Mean, min and max of one curve per (setting, cell, epoch) for a task, aggregated in SQL."""
    r, c = schema.runs.c, schema.curves.c
    with store.engine.connect() as conn:
        cell, task_ = labelled(conn, r.cell, r.cell_dist), labelled(conn, r.task, r.task_dist)
        q = (select(cell, r.preset, r.params, r.train, r.cell_options, c.epoch, func.avg(c.value), func.min(c.value),
                    func.max(c.value), func.count())
             .select_from(schema.curves.join(schema.runs, r.key == c.run_key))
             .where(task_ == task, c.name == name)
             .group_by(cell, r.preset, r.params, r.train, r.cell_options, c.epoch))
        rows = conn.execute(q).all()
    combo_setting = _combo_settings(frame, task)
    memo: dict[str | None, Any] = {}
    out = []
    for cell, preset, params, train, opts, epoch, mean, lo, hi, n in rows:
        ident = (cell, preset, json.dumps(loads(params, memo), sort_keys=True),
                 json.dumps(loads(train, memo), sort_keys=True), json.dumps(loads(opts, memo), sort_keys=True))
        sid = combo_setting.get(ident)
        if sid is None:
            continue
        out.append({"setting": sid, "cell": cell, "epoch": epoch, "mean": mean, "min": lo, "max": hi, "n": n})
    return pd.DataFrame(out, columns=["setting", "cell", "epoch", "mean", "min", "max", "n"])


def _combo_settings(frame: Frame, task: str) -> dict[tuple[str, ...], int]:
    first = frame.runs.drop_duplicates("combo")
    out = {}
    for combo, sid in zip(first["combo"], first["setting"]):
        c = frame.combos[int(combo)]
        if c["task"] == task:
            out[(c["cell"], c["preset"], json.dumps(c["params"], sort_keys=True),
                 json.dumps(c["train"], sort_keys=True), json.dumps(c["cell_options"], sort_keys=True))] = int(sid)
    return out


def curve_names(store: Store, task: str) -> list[str]:
    r, c = schema.runs.c, schema.curves.c
    with store.engine.connect() as conn:
        q = (select(c.name).distinct().select_from(schema.curves.join(schema.runs, r.key == c.run_key))
             .where(labelled(conn, r.task, r.task_dist) == task).order_by(c.name))
        return [row[0] for row in conn.execute(q)]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_runs(store: Store, text: str = "", statuses: Iterable[str] | None = None,
                limit: int = 500) -> tuple[int, list[dict[str, Any]]]:
    """Runs whose key, cell, task, preset, status, device or error contain ``text`` (bound, escaped)."""
    r = schema.runs.c
    with store.engine.connect() as conn:
        cell, task = labelled(conn, r.cell, r.cell_dist).label("cell"), labelled(conn, r.task, r.task_dist).label("task")
        cond = []
        if text.strip():
            pat = _like(text.strip())
            cond.append(or_(*[col.like(pat, escape="\\") for col in (r.key, r.cell, r.task, r.preset, r.status,
                                                                      r.device, r.params, r.cell_options,
                                                                      r.cell_dist, r.task_dist)]))
        if statuses is not None:
            cond.append(r.status.in_(list(statuses)))
        cols = [r.key, cell, task, r.preset, r.seed, r.status, r.params, r.cell_options, r.train, r.main_metric,
                r.epochs, r.duration_s, r.n_params, r.body_params, r.width, r.state_size, r.device, r.finished_at]
        q = select(*cols).where(*cond).order_by(r.task, r.cell, r.preset, r.seed).limit(int(limit))
        total = conn.execute(select(func.count()).select_from(schema.runs).where(*cond)).scalar() or 0
        rows = [dict(row._mapping) for row in conn.execute(q)]
    from arena.store.board import board_keys
    from arena.tracks import track_of

    memo: dict[str | None, Any] = {}
    shipped = board_keys(store)
    out = []
    for row in rows:  # the track beside the preset; the train settings it follows from at the end
        train = row.pop("train")
        items = list(row.items())
        i = list(row).index("preset") + 1
        extra = [("shipped", row["key"] in shipped)] if shipped else []  # from the shipped board, read-only
        out.append(dict(items[:i] + [("track", track_of(loads(train, memo)))] + items[i:] + extra + [("train", train)]))
    return int(total), out


def run_detail(store: Store, key: str) -> dict[str, Any] | None:
    """One run as `arena show KEY` prints it (export fields, curves, environment)."""
    runs = store.runs(keys=[key])
    if not runs:
        return None
    r = runs[0]
    m = store.metrics(keys=[key]).get(key, {})
    env = None
    if r.get("env_id"):
        e = schema.environments.c
        with store.engine.connect() as conn:
            row = conn.execute(select(e.data).where(e.id == r["env_id"])).first()
        env = json.loads(row[0]) if row else None
    from arena.tracks import track_of

    return {**r, "track": track_of(r["train"]), "metrics": m.get("test", {}), "val_metrics": m.get("val", {}),
            "environment": env, "curves": store.curves(key)}


def throughput(store: Store) -> pd.DataFrame:
    return pd.DataFrame(store.throughput())
