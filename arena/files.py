"""Files written whole or not at all, and files hashed without reading them into memory.

One implementation for every file arena writes that another process may read while it is
being written (result records in an outbox, kept weights, downloaded datasets, the app's cache)
and for every checksum it takes of a file (weights, datasets, submissions).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


# By hand: mkstemp + os.replace is the whole job; the atomic-write packages (atomicwrites) are unmaintained.
def write_atomic(path: str | Path, write: Callable[[Path], None], *, durable: bool = False) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it onto ``path``: a reader
    sees the old file or the whole new one, never half of one. The temporary file (hidden, ending
    in ``.tmp``) is removed when ``write`` fails. ``durable``: fsync before the rename, so the file
    survives a crash of the machine too."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        if durable:
            with open(tmp, "r+b") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_digest(path: str | Path, algo: str = "sha256") -> str:
    """The hex digest of a file's bytes, read 1 MiB at a time (``hashlib.file_digest`` needs Python 3.11)."""
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
