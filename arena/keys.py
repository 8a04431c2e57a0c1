"""Canonical JSON, run keys and derived seeds.

A run key is ``"b2:" + BLAKE2b-128`` of the canonical JSON (sorted keys, compact separators) of
what defines a run, so the same run always gets the same key whatever order its options were
given in (benchopt #807). The ``b2:`` prefix lets the scheme change detectably (llm's recipe).
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def _normalise(obj: Any) -> Any:
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"non-finite number {obj!r} cannot be part of a run key")
        # 3.0 and 3 are the same parameter value: hash them the same.
        return int(obj) if obj.is_integer() and abs(obj) < 2**53 else obj
    if isinstance(obj, dict):
        return {str(k): _normalise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_normalise(v) for v in obj]
    raise TypeError(f"cannot put {type(obj).__name__} into canonical JSON")


def canonical_json(obj: Any) -> str:
    return json.dumps(_normalise(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def blake2(obj: Any, size: int = 16) -> str:
    return hashlib.blake2b(canonical_json(obj).encode(), digest_size=size).hexdigest()


def run_key(identity: dict[str, Any]) -> str:
    return "b2:" + blake2(identity)


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed that depends only on ``parts`` (stable across processes and machines)."""
    return int(blake2(list(parts), size=8), 16) >> 1
