"""Finding, verifying and downloading real datasets (CWRU bearings, AG News).

A file is looked for in ``$ARENA_DATA_DIR/<dataset>/`` first, then in the user cache
(``$ARENA_CACHE_DIR``, default ``~/.cache/arena/data``). A file found is used only if its
checksum matches. A missing file is downloaded from its official source into the cache when
the network allows (short timeout; ``ARENA_OFFLINE=1`` skips the attempt); otherwise the task
fails with one line naming the files and the folder to put them in.
"""
from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from arena.errors import ArenaError
from arena.files import file_digest, write_atomic

TIMEOUT_S = 10


class DataMissingError(ArenaError):
    """A dataset file is absent (or corrupt) and could not be downloaded."""


@dataclass(frozen=True)
class DataFile:
    name: str  # file name inside the dataset folder
    url: str  # official source
    sha256: str | None = None
    md5: str | None = None  # when the publisher gives only an MD5 (AG News train.csv)
    archive_member: str | None = None  # the file inside a downloaded .tar.gz, if any


@dataclass(frozen=True)
class Dataset:
    name: str  # folder name
    files: tuple[DataFile, ...]
    description: str = ""
    citation: str = ""
    optional: tuple[str, ...] = field(default_factory=tuple)  # files only some presets need


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    REGISTRY[dataset.name] = dataset
    return dataset


def search_dirs(dataset: str) -> list[Path]:
    dirs = []
    if os.environ.get("ARENA_DATA_DIR"):
        dirs.append(Path(os.environ["ARENA_DATA_DIR"]).expanduser() / dataset)
    dirs.append(cache_dir() / dataset)
    return dirs


def cache_dir() -> Path:
    base = os.environ.get("ARENA_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "arena" / "data"


_verified: dict[tuple[str, int, float], bool] = {}


def checksum_ok(path: Path, f: DataFile) -> bool:
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime)
    if memo not in _verified:
        algo, expected = ("sha256", f.sha256) if f.sha256 else ("md5", f.md5)
        if expected is None:
            _verified[memo] = True
        else:
            _verified[memo] = file_digest(path, algo) == expected
    return _verified[memo]


def find(dataset: Dataset, f: DataFile) -> tuple[Path | None, str]:
    """The verified path of a file, or None and what was wrong ("missing" or "checksum")."""
    problem = "missing"
    for d in search_dirs(dataset.name):
        p = d / f.name
        if p.is_file():
            if checksum_ok(p, f):
                return p, "ok"
            problem = f"checksum mismatch at {p}"
    return None, problem


def offline() -> bool:
    return os.environ.get("ARENA_OFFLINE", "") not in ("", "0", "false")


# By hand (urllib), not pooch: one GET plus the checksum taken anyway; pooch would add a dependency and a cache layout.
def download(dataset: Dataset, f: DataFile) -> Path:
    """Fetch one file from its official source into the cache, verified, atomically."""
    final = cache_dir() / dataset.name / f.name

    def fetch(tmp: Path) -> None:
        req = urllib.request.Request(f.url, headers={"User-Agent": "rnn-arena"})
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp, open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
        if f.archive_member:
            import tarfile

            with tarfile.open(tmp) as tar:
                member = tar.extractfile(f.archive_member)
                if member is None:
                    raise DataMissingError(f"{f.url} has no {f.archive_member}")
                payload = member.read()
            tmp.write_bytes(payload)
        if not checksum_ok(tmp, f):
            raise DataMissingError(f"downloaded {f.name} from {f.url} but its checksum does not match")

    write_atomic(final, fetch)
    return final


def require(dataset_name: str, names: list[str] | None = None) -> dict[str, Path]:
    """Paths of the named files (default: all required ones), downloading what is missing."""
    dataset = REGISTRY[dataset_name]
    wanted = [f for f in dataset.files if (names is None and f.name not in dataset.optional)
              or (names is not None and f.name in names)]
    found: dict[str, Path] = {}
    missing: list[tuple[DataFile, str]] = []
    for f in wanted:
        path, problem = find(dataset, f)
        if path is None:
            missing.append((f, problem))
        else:
            found[f.name] = path
    errors = []
    if missing and not offline():
        for f, _ in list(missing):
            try:
                found[f.name] = download(dataset, f)
                missing.remove((f, _))
            except (OSError, urllib.error.URLError, DataMissingError, ValueError) as exc:
                errors.append(str(getattr(exc, "reason", exc)))
                break  # the network is down or the source moved: do not try every file
    if missing:
        names_txt = ", ".join(f.name for f, _ in missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        where = " or ".join(str(d) for d in search_dirs(dataset.name))
        why = f"; download failed: {errors[0]}" if errors else ("; downloads are off (ARENA_OFFLINE)" if offline() else "")
        checksum = [p for _, p in missing if p.startswith("checksum")]
        extra = f" ({checksum[0]})" if checksum else ""
        raise DataMissingError(f"dataset {dataset.name!r} is missing {names_txt}{extra}: put the files in {where} "
                               f"(or set ARENA_DATA_DIR to a folder holding {dataset.name}/){why}")
    return found


def status() -> list[dict[str, object]]:
    """Per dataset: how many files are present and verified, and where."""
    rows = []
    for ds in REGISTRY.values():
        ok, bad, where = 0, [], set()
        for f in ds.files:
            path, problem = find(ds, f)
            if path is not None:
                ok += 1
                where.add(str(path.parent))
            elif f.name not in ds.optional or problem != "missing":
                bad.append(f"{f.name}: {problem}")
        opt_missing = [f.name for f in ds.files if f.name in ds.optional and find(ds, f)[0] is None]
        rows.append({"dataset": ds.name, "verified": ok, "files": len(ds.files),
                     "status": "verified" if not bad else "incomplete",
                     "missing_optional": ", ".join(opt_missing), "problems": "; ".join(bad[:3]),
                     "location": ", ".join(sorted(where)) or ", ".join(str(d) for d in search_dirs(ds.name))})
    return rows
