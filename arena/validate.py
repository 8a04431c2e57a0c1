"""Checks that turn bad input into one clear sentence before anything is trained or stored.

Each ``*_problem`` function returns what is wrong (a short sentence) or None; callers raise
:class:`arena.errors.ArenaError` with it, so the CLI prints one line and exits with status 2.
The training-field bounds live next to :class:`arena.contracts.TrainConfig`.
"""
from __future__ import annotations

import math
import os
from typing import Any, Mapping

from arena.errors import ArenaError

#: The largest seed (and any stored integer): SQL BIGINT and torch seeds are signed 64-bit.
MAX_INT64 = 2**63 - 1
#: Statuses a result record may carry (a record is an outcome: never planned or running).
RECORD_STATUSES = ("done", "diverged", "failed", "interrupted")
#: What a worker reports besides metrics (arena.worker.run_one), and the type of each.
RECORD_FIELDS: dict[str, type] = {"epochs": int, "best_epoch": int, "n_params": int, "body_params": int,
                                  "width": int, "cell_params": int, "state_size": int, "impl": str,
                                  "weights_sha256": str}
#: Environment columns of the store that are not free JSON, and their type.
ENV_COLUMNS: dict[str, type] = {"arena": str, "python": str, "torch": str, "device": str, "cpu": str, "gpu": str,
                                "threads": int, "git_sha": str, "plugins": dict}
_KIND = {int: "an integer", str: "a string", dict: "an object"}


def nonfinite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinite number inside ``value`` (dicts, lists), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or repr(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = nonfinite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = nonfinite(v, f"{path}[{i}]")
            if found:
                return found
    return None


def check_finite(what: str, values: Mapping[str, Any]) -> None:
    """Refuse NaN and infinities: they cannot be part of a run key, nor mean a setting."""
    found = nonfinite(dict(values))
    if found:
        raise ArenaError(f"{what}: {found} is not a finite number; use a finite value")


def db_problem(db: str | None) -> str | None:
    """An empty ``--db`` or ``ARENA_DB`` is a mistake, not a request for the default store."""
    if db is not None and not db.strip():
        return "--db is empty: give a database URL such as sqlite:///leaderboard.db, or leave --db out"
    env = os.environ.get("ARENA_DB")
    if db is None and env is not None and not env.strip():
        return "ARENA_DB is set but empty: unset it or give a database URL such as sqlite:///leaderboard.db"
    return None


# -- result records (arena ingest) --------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, float) or _is_int(v)  # a 400-digit integer would overflow float() in the store


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -MAX_INT64 <= v <= MAX_INT64


def _spec_problem(spec: Any) -> str | None:
    if not isinstance(spec, dict):
        return "its spec is not an object"
    for name in ("cell", "cell_version", "task", "task_version", "preset"):
        if not isinstance(spec.get(name), str) or not spec[name]:
            return f"spec.{name} is not a non-empty string"
    for name in ("cell_options", "params", "train"):
        if not isinstance(spec.get(name), dict):
            return f"spec.{name} is not an object"
    for name in ("cell_dist", "task_dist"):
        if not isinstance(spec.get(name, ""), str):
            return f"spec.{name} is not a string"
    seed = spec.get("seed")
    if not _is_int(seed) or seed < 0:
        return "spec.seed is not an integer in [0, 2^63-1]"
    found = nonfinite(spec)
    return f"spec.{found} is not a finite number" if found else None


def _metrics_problem(metrics: Any) -> str | None:
    if metrics is None:
        return None
    if not isinstance(metrics, dict):
        return "metrics is not an object of splits"
    for split, values in metrics.items():
        if not isinstance(values, dict):
            return f"metrics.{split} is not an object of numbers"
        bad = next((k for k, v in values.items() if not _is_number(v)), None)
        if bad is not None:
            return f"metrics.{split}.{bad} is not a number"
    return None


def _curves_problem(curves: Any) -> str | None:
    if curves is None:
        return None
    if not isinstance(curves, list):
        return "curves is not a list"
    for i, row in enumerate(curves):
        if not isinstance(row, dict) or not _is_int(row.get("epoch")):
            return f"curves[{i}] is not an object with an integer epoch"
        bad = next((k for k, v in row.items() if not _is_number(v)), None)
        if bad is not None:
            return f"curves[{i}].{bad} is not a number"
    if len({row["epoch"] for row in curves}) < len(curves):
        return "curves repeat an epoch"  # (run, epoch, name) is the curves table's primary key
    return None


def _length_problem(rec: dict[str, Any]) -> str | None:
    """A string longer than its column: PostgreSQL would refuse it after the run is claimed."""
    from arena.store import schema

    def too_long(value: Any, column: Any) -> bool:
        limit = getattr(column.type, "length", None)
        return isinstance(value, str) and limit is not None and len(value) > limit

    runs, env = schema.runs.c, schema.environments.c
    checks = [(f"spec.{k}", v, runs[k]) for k, v in rec["spec"].items() if k in runs]
    checks += [(f"fields.{k}", v, runs[k]) for k, v in (rec.get("fields") or {}).items()]
    checks += [("device", rec.get("device"), runs.device), ("main_metric", rec.get("main_metric"), runs.main_metric)]
    checks += [(f"environment.{k}", v, env[k]) for k, v in (rec.get("environment") or {}).items() if k in env]
    for split, values in (rec.get("metrics") or {}).items():
        checks += [(f"metrics.{split}", split, schema.metrics.c.split)]
        checks += [(f"metrics.{split}.{name}", name, schema.metrics.c.name) for name in values]
    checks += [(f"curves: {name}", name, schema.curves.c.name) for row in rec.get("curves") or [] for name in row]
    return next((f"{what} is too long for the store" for what, value, col in checks if too_long(value, col)), None)


def _typed_problem(name: str, obj: Any, types: Mapping[str, type], closed: bool) -> str | None:
    """``obj`` is None or an object whose listed keys have their type (or null)."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        return f"{name} is not an object"
    for k, v in obj.items():
        kind = types.get(k)
        if kind is None:
            if closed:
                return f"{name}.{k} is not a known field"
            continue
        if v is not None and not (_is_int(v) if kind is int else isinstance(v, kind)):
            return f"{name}.{k} is not {_KIND[kind]}"
    found = nonfinite(obj)
    return f"{name}.{found} is not a finite number" if found else None


def record_problem(rec: Any) -> str | None:
    """Why a result record cannot be stored as it is, or None; checked before the run is claimed."""
    from arena.plan import RunSpec

    if rec is None:
        return "not a JSON object (unreadable, not JSON, or null)"
    if not isinstance(rec, dict):
        return f"not a result record (a JSON {type(rec).__name__}, not an object)"
    problem = _spec_problem(rec.get("spec"))
    if problem:
        return problem
    try:
        spec = RunSpec.from_dict(rec["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"its spec is incomplete or malformed ({type(exc).__name__}: {exc})"
    if spec.key != rec.get("key"):
        return "its key does not match its spec (written by an arena that hashes runs differently?)"
    if "status" not in rec:
        return "it has no status"
    if rec["status"] not in RECORD_STATUSES:
        return f"status {rec.get('status')!r} is not one of {', '.join(RECORD_STATUSES)}"
    checks = [
        _metrics_problem(rec.get("metrics")),
        _curves_problem(rec.get("curves")),
        _typed_problem("fields", rec.get("fields"), RECORD_FIELDS, closed=True),
        _typed_problem("environment", rec.get("environment"), ENV_COLUMNS, closed=False),
        _typed_problem("chance", rec.get("chance"), {}, closed=False),
    ]
    problem = next((p for p in checks if p), None)
    if problem:
        return problem
    plugins = (rec.get("environment") or {}).get("plugins") or {}
    if not all(isinstance(v, str) for v in plugins.values()):
        return "environment.plugins is not an object of version strings"
    if not all(_is_number(v) for v in (rec.get("chance") or {}).values()):
        return "chance is not an object of numbers"
    directions = rec.get("directions", {})
    if not isinstance(directions, dict) or not all(isinstance(v, bool) for v in directions.values()):
        return "directions is not an object of true/false"
    if "main_metric" in rec and not isinstance(rec["main_metric"], str):
        return "main_metric is not a string"  # a NOT NULL column: it would fail after the claim
    for name in ("device", "error"):
        if rec.get(name) is not None and not isinstance(rec[name], str):
            return f"{name} is not a string"
    if rec.get("duration_s") is not None and not (_is_number(rec["duration_s"]) and math.isfinite(rec["duration_s"])):
        return "duration_s is not a finite number"
    return _length_problem(rec)
