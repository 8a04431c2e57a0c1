"""Run weights kept on request (`arena run --keep-weights`): one file per run, checked by sha256.

The checkpoint of run KEY is ``<folder>/<KEY>.pt`` (``:`` written as ``_``): the best-validation
weights the test metrics were computed from, as a torch state dict. The folder lies beside a
SQLite store (``leaderboard.db`` → ``leaderboard.weights/``); for other stores it is
``$ARENA_WEIGHTS_DIR`` or ``./arena-weights``. The file's sha256 is stored with the run
(``runs.weights_sha256``) and checked before the weights are loaded.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from arena.errors import ArenaError
from arena.files import file_digest, write_atomic

#: Set by `arena run --keep-weights` for the workers it starts (an environment variable reaches
#: every executor's workers, local, Slurm or Ray, without a new argument in each).
ENV = "ARENA_KEEP_WEIGHTS"


class CheckpointError(ArenaError):
    """A run's weights are absent, or differ from the sha256 stored with the run."""


def folder_for(db_url: str) -> Path:
    """Where the weights of a store's runs are kept."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.stem + ".weights")
    return Path(os.environ.get("ARENA_WEIGHTS_DIR") or "arena-weights")


def path_for(folder: str | Path, key: str) -> Path:
    return Path(folder) / (key.replace(":", "_") + ".pt")


def sha256_of(path: Path) -> str:
    return file_digest(path, "sha256")


def save(state_dict: dict[str, Any], path: Path) -> str:
    """Write the weights atomically (temporary file, then rename); returns the file's sha256."""
    import torch

    digest = ""

    def write(tmp: Path) -> None:
        nonlocal digest
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, tmp)
        digest = sha256_of(tmp)

    write_atomic(path, write)
    return digest


def load(path: Path, sha256: str | None) -> dict[str, Any]:
    """The weights at ``path`` once their sha256 matches the stored one."""
    import torch

    if not sha256:
        raise CheckpointError("this run kept no weights: train it again with `arena run ... --keep-weights --force`")
    if not path.is_file():
        raise CheckpointError(f"the run's weights are not at {path} (moved or deleted?)")
    got = sha256_of(path)
    if got != sha256:
        raise CheckpointError(f"the weights at {path} do not match the run (sha256 {got[:12]}…, stored "
                              f"{sha256[:12]}…): the file was changed or belongs to another run")
    return torch.load(path, map_location="cpu", weights_only=True)
