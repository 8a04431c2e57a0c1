"""The app's read side: read-only store access, one-query loading, and caches by store revision.

Nothing here writes to the store: SQLite is opened with ``mode=ro`` (``open_store(write=False)``),
other databases get read-only sessions, and every query is a SQLAlchemy Core SELECT whose user
input travels as bound parameters.

Speed on large stores (100,000 runs):

- :func:`load_frame` reads every run with its *main* test metric in one joined SELECT (not all
  metrics, not the ``spec`` column), parses each distinct JSON string once, and computes setting
  labels on one representative run per distinct configuration. It is cached per store
  :func:`revision` (run counts per status, latest timestamps, SQLite file stamps), so a new or
  finished run refreshes it and nothing else does.
- The statistics are arena's own (:func:`arena.leaderboard.task_board`, ``aggregate_board``,
  ``compare``), run on a :class:`FrameStore` that serves the loaded rows in the shape they read.
  Results are cached per *setting* under a hash of exactly the rows they depend on (plus the
  source of the statistics code), in memory and as JSON files in ``$ARENA_APP_CACHE_DIR``
  (default ``~/.cache/arena/app``; ``off`` disables the files). A new run recomputes only its
  own setting; a restarted app reads the rest back.

Tracks (:mod:`arena.tracks`): a setting is one task, preset, parameter set *and track* (how the
models were built: ``matched`` to a parameter budget, ``bare`` at one hidden size, stacked
blocks...). Settings of different tracks never share a setting id, a cache entry or a table;
:func:`aggregate`, :func:`pairwise` and :func:`compare_pair` work on one track at a time.
"""
from __future__ import annotations

import hashlib
import json
import operator
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import event, func, or_, select

from arena.errors import StoreError
from arena.store import Store, open_store, schema
from arena.store.providers import labelled
from arena.store.schema import FINISHED

#: Statuses whose runs are results (failed and diverged runs score at the floor); the others are pending.
RESULT_STATUSES = FINISHED + ("failed",)
DB_ENV = "ARENA_APP_DB"
CACHE_ENV = "ARENA_APP_CACHE_DIR"

_lock = threading.RLock()
_stores: dict[str, Store] = {}
_frames: "OrderedDict[tuple[str, Any], Frame]" = OrderedDict()
_memo: "OrderedDict[str, Any]" = OrderedDict()
_MEMO_MAX = 20_000


# -- opening ----------------------------------------------------------------------------------
def db_url() -> str:
    from arena.store import default_url

    return os.environ.get(DB_ENV) or default_url()


def _read_only_sessions(store: Store) -> None:
    """Make every session of a server database read-only (SQLite is already opened mode=ro)."""
    backend = store.engine.dialect.name
    statement = {"postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                 "mysql": "SET SESSION TRANSACTION READ ONLY",
                 "mariadb": "SET SESSION TRANSACTION READ ONLY"}.get(backend)
    if statement is None:
        return

    @event.listens_for(store.engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()
        dbapi_conn.commit()

    store.engine.dispose()  # connections opened before the listener are not reused


def open_readonly(url: str) -> Store:
    """The read-only store at ``url`` (one per URL per process). Raises StoreError."""
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = open_store(url, write=False)
            _read_only_sessions(store)
            _stores[url] = store
        return store


def forget(url: str) -> None:
    """Drop a cached connection (after an error, so the next render reopens)."""
    with _lock:
        store = _stores.pop(url, None)
        for k in [k for k in _frames if k[0] == url]:
            del _frames[k]
    if store is not None:
        store.close()


def problem_kind(exc: StoreError) -> str:
    msg = str(exc)
    if "older schema" in msg:
        return "older-schema"
    if "no database at" in msg:
        return "missing"
    if "not an arena store" in msg:
        return "not-arena"
    return "error"


# -- revision ---------------------------------------------------------------------------------
def _file_stamp(store: Store) -> tuple[Any, ...]:
    from arena.store.opening import sqlite_path

    try:
        path = sqlite_path(store.url)
    except Exception:  # noqa: BLE001 - not a file URL
        return ()
    if path is None:
        return ()
    out: list[Any] = []
    for p in (path, Path(str(path) + "-wal")):
        try:
            st = p.stat()
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [None, None]
    return tuple(out)


def revision(store: Store) -> tuple[Any, ...]:
    """Changes whenever a run or benchmark row is added, finished, replaced or removed."""
    r, t = schema.runs.c, schema.throughput.c
    with store.engine.connect() as conn:
        by_status = tuple(sorted(tuple(x) for x in conn.execute(
            select(r.status, func.count()).group_by(r.status))))
        stamps = tuple(conn.execute(select(func.max(r.finished_at), func.max(r.started_at),
                                           func.max(r.created_at))).one())
        bench = tuple(conn.execute(select(func.count(), func.max(t.created_at))).one())
    return by_status, stamps, bench, _file_stamp(store)


# -- the loaded frame -------------------------------------------------------------------------
@dataclass
class Frame:
    """Every run of a store with its main test metric, grouped into settings."""

    url: str
    revision: Any
    runs: pd.DataFrame  # key cell task preset track seed status value n_params body_params width state_size combo setting
    combos: list[dict[str, Any]]  # parsed per distinct configuration (with its track)
    settings: pd.DataFrame  # setting id → track task preset label metric higher chance title
    _groups: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    combo_digests: list[bytes] = field(default_factory=list, repr=False)
    _anchors: dict[int, bytes] = field(default_factory=dict, repr=False)
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return self.runs.empty

    @property
    def tracks(self) -> list[str]:
        """The store's tracks in display order (arena.tracks.ordered: matched first, then bare)."""
        from arena.tracks import ordered

        return ordered(str(t) for t in self.settings["track"]) if "track" in self.settings else []

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """A value derived from this frame, computed once (frames never change)."""
        with _lock:
            if name not in self._derived:
                self._derived[name] = compute()
            return self._derived[name]

    def setting_rows(self, setting: int) -> pd.DataFrame:
        if not self._groups:
            self._groups = {int(k): v for k, v in self.runs.groupby("setting", sort=False).indices.items()}
        idx = self._groups.get(int(setting))
        return self.runs.iloc[idx] if idx is not None else self.runs.iloc[0:0]


_RUN_COLS = ("key", "cell", "task", "preset", "seed", "status", "params", "train", "cell_options", "main_metric",
             "directions", "chance", "n_params", "body_params", "width", "state_size", "cell_version",
             "task_version", "task_name")
#: Per-run model sizes (NULL where a run never recorded them): total parameters, parameters
#: without the token embedding, the model width and the recurrent state size.
_SIZE_COLS = ("n_params", "body_params", "width", "state_size")
#: The columns of Frame.runs, in order.
_FRAME_COLS = ("key", "cell", "task", "preset", "track", "seed", "status", "value", *_SIZE_COLS, "combo", "setting")


def _loads(text: str | None, memo: dict[str | None, Any]) -> Any:
    if text not in memo:
        memo[text] = json.loads(text) if text else {}
    return memo[text]


def load_frame(store: Store, rev: Any | None = None) -> Frame:
    """The store's runs in one query (cached per revision)."""
    rev = revision(store) if rev is None else rev
    key = (store.url, rev)
    with _lock:
        if key in _frames:
            _frames.move_to_end(key)
            return _frames[key]
    frame = _read_frame(store.url, rev)
    if frame is None:
        frame = _build_frame(store, rev)
        # Saved for the next start of the app, off the page's path.
        threading.Thread(target=_write_frame, args=(frame,), name="arena-app-frame-writer", daemon=True).start()
    with _lock:
        _frames[key] = frame
        while len(_frames) > 4:
            _frames.popitem(last=False)
    return frame


def _frame_path(url: str, rev: Any) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    h = hashlib.blake2b(digest_size=10)
    h.update(fingerprint().encode())
    h.update(repr(rev).encode())
    return folder / f"frame-{hashlib.blake2b(url.encode(), digest_size=6).hexdigest()}-{h.hexdigest()}"


_CATS = ("cell", "task", "preset", "track", "status")


def _write_frame(frame: Frame) -> None:
    """Keep the loaded runs of this revision on disk (numpy arrays and JSON, no pickle), so a
    restarted app does not read the store again; older revisions of the store are removed."""
    path = _frame_path(frame.url, frame.revision)
    if path is None or frame.empty:
        return
    df = frame.runs
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{path}.{os.getpid()}.{threading.get_ident()}.tmp")
        arrays = {"key": np.array(df["key"].tolist(), dtype=str), "seed": df["seed"].to_numpy(np.int64),
                  "value": df["value"].to_numpy(float), "combo": df["combo"].to_numpy(np.int64),
                  "setting": df["setting"].to_numpy(np.int64),
                  **{c: df[c].to_numpy(dtype=float, na_value=np.nan) for c in _SIZE_COLS}}
        meta: dict[str, Any] = {"combos": frame.combos, "settings": frame.settings.to_dict("records")}
        for c in _CATS:
            arrays[c] = df[c].cat.codes.to_numpy(np.int32)
            meta[c] = [str(v) for v in df[c].cat.categories]
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta, default=_jsonable)), **arrays)
        os.replace(tmp, f"{path}.npz")
        prefix = path.name.rsplit("-", 1)[0]
        for old in path.parent.glob(f"{prefix}-*.npz"):
            if old.name != f"{path.name}.npz":
                old.unlink(missing_ok=True)
    except OSError:
        pass  # an unwritable cache folder only costs speed


def _read_frame(url: str, rev: Any) -> Frame | None:
    path = _frame_path(url, rev)
    if path is None or not Path(f"{path}.npz").is_file():
        return None
    try:
        with np.load(f"{path}.npz", allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            cols: dict[str, Any] = {"key": z["key"].astype(object)}
            for c in _CATS:
                cols[c] = pd.Categorical.from_codes(z[c], categories=meta[c])
            cols.update(seed=z["seed"], value=z["value"], combo=z["combo"], setting=z["setting"])
            for c in _SIZE_COLS:
                cols[c] = pd.array(np.where(np.isnan(z[c]), None, z[c]), dtype="Int64")
    except (OSError, ValueError, KeyError):
        return None
    frame = Frame(url, rev, pd.DataFrame({c: cols[c] for c in _FRAME_COLS}), meta["combos"],
                  pd.DataFrame(meta["settings"]))
    frame.combo_digests = _combo_digests(frame.combos)
    return frame


def _combo_digests(combos: list[dict[str, Any]]) -> list[bytes]:
    return [hashlib.blake2b(json.dumps(c, sort_keys=True, default=str).encode(), digest_size=8).digest()
            for c in combos]


def _fetch(conn: Any, query: Any) -> list[tuple[Any, ...]]:
    """All rows of a constant query as plain tuples, straight from the driver's cursor (on 100,000
    rows SQLAlchemy's row objects cost a sixth of the load). The query holds no user input: its
    only literals are constants of this module."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def _build_frame(store: Store, rev: Any) -> Frame:
    from arena.results import natural_key, setting_labels
    from arena.tracks import sort_key, track_of

    r, m = schema.runs.c, schema.metrics.c
    # Two plain scans are much faster than a join of runs to metrics on 100,000 runs.
    mains = select(r.main_metric).distinct().scalar_subquery()
    with store.engine.connect() as conn, conn.begin():  # one snapshot for both scans
        # task is the shown label (name and plugin when two plugins share a name); task_name the
        # registered name, which the statistics look the task's anchors up by.
        shown = {"cell": labelled(conn, r.cell, r.cell_dist), "task": labelled(conn, r.task, r.task_dist),
                 "task_name": r.task}
        rows = _fetch(conn, select(*[shown[c].label(c) if c in shown else getattr(r, c) for c in _RUN_COLS]))
        values = {(k, n): v for k, n, v in _fetch(
            conn, select(m.run_key, m.name, m.value).where(m.split == "test", m.name.in_(mains)))}
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _FRAME_COLS})
        settings = pd.DataFrame(columns=["track", "task", "preset", "label", "metric", "higher", "chance", "title"])
        return Frame(store.url, rev, empty, [], settings)
    # One id per distinct configuration (task, preset, cell, params, train, options, metric contract).
    ci = [_RUN_COLS.index(c) for c in ("task", "preset", "cell", "params", "train", "cell_options", "main_metric",
                                      "directions", "chance", "cell_version", "task_version", "task_name")]
    index: dict[tuple[Any, ...], int] = {}
    get = operator.itemgetter(*ci)
    combo_ids = np.fromiter((index.setdefault(get(row), len(index)) for row in rows), dtype=np.int64,
                            count=len(rows))
    memo: dict[str | None, Any] = {}
    combos, reps = [], []
    for n, (task, preset, cell, params, train, opts, metric, directions, chance, cv, tv, name) in enumerate(index):
        c = {"task": task, "preset": preset, "cell": cell, "params": _loads(params, memo), "train": _loads(train, memo),
             "cell_options": _loads(opts, memo), "main_metric": metric, "directions": _loads(directions, memo),
             "chance": _loads(chance, memo), "cell_version": cv, "task_version": tv, "task_name": name}
        c["track"] = track_of(c["train"])
        combos.append(c)
        reps.append({**c, "key": n})
    # Labels depend only on which values vary, so one run per configuration gives the same labels.
    # A setting is (track, task, preset, label), in arena.leaderboard's order: track by track.
    labels = setting_labels(reps)
    ident = [(c["track"], c["task"], c["preset"], labels[i]) for i, c in enumerate(combos)]
    order = sorted(set(ident), key=lambda t: (sort_key(t[0]), t[1], t[2], natural_key(t[3])))
    sid = {t: i for i, t in enumerate(order)}
    combo_setting = np.array([sid[t] for t in ident], dtype=np.int64)
    cols = list(zip(*rows))
    col = {name: cols[i] for i, name in enumerate(_RUN_COLS)}
    def per_combo(name: str) -> pd.Categorical:  # cell, task and preset follow from the configuration
        cat = pd.Categorical([c[name] for c in combos])
        return pd.Categorical.from_codes(np.asarray(cat.codes)[combo_ids], categories=cat.categories)

    status_ids: dict[str, int] = {}
    status_codes = np.fromiter((status_ids.setdefault(v, len(status_ids)) for v in col["status"]), dtype=np.int32,
                               count=len(rows))
    status = pd.Categorical.from_codes(status_codes, categories=list(status_ids)).reorder_categories(
        sorted(status_ids))
    df = pd.DataFrame({
        "key": np.array(col["key"], dtype=object),
        "cell": per_combo("cell"), "task": per_combo("task"), "preset": per_combo("preset"),
        "track": per_combo("track"),
        "seed": np.array(col["seed"], dtype=np.int64), "status": status,
        "value": np.array([values.get(km, np.nan) for km in zip(col["key"], col["main_metric"])], dtype=float),
        **{c: pd.array(col[c], dtype="Int64") for c in _SIZE_COLS},
        "combo": combo_ids, "setting": combo_setting[combo_ids],
    })
    by_ident: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for c, i in zip(combos, ident):
        by_ident.setdefault(i, []).append(c)
    srows = []
    for t in order:
        cs = by_ident[t]
        metric = cs[0]["main_metric"]
        chance = next((c["chance"].get(metric) for c in cs if c["chance"].get(metric) is not None), None)
        srows.append({"track": t[0], "task": t[1], "preset": t[2], "label": t[3], "metric": metric,
                      "higher": bool(cs[0]["directions"].get(metric, True)), "chance": chance,
                      "title": setting_title(t[1], t[2], t[3])})
    frame = Frame(store.url, rev, df, combos, pd.DataFrame(srows))
    frame.combo_digests = _combo_digests(combos)
    return frame


def setting_title(task: str, preset: str, label: str) -> str:
    return f"{task} · {preset}" + (f" · {label}" if label else "")


class FrameStore:
    """What ``arena.leaderboard`` reads from a Store (runs and their test metrics), from a frame.

    Only the main metric is served: it is the only one ``load_settings`` reads. Each run carries
    what scoring needs: its stored ``chance`` and metric ``directions``, ``task_name`` (the
    registered name) by which ``arena.leaderboard.settings_of`` asks the installed task plugin
    for the metric's scale and solved level, its ``train`` settings (its track follows from
    them) and its sizes (``n_params``, ``body_params``, ``width``, ``state_size``; None where not
    recorded), which ``Setting.sizes`` reads.
    """

    def __init__(self, frame: Frame, rows: pd.DataFrame) -> None:
        self.frame, self.rows = frame, rows
        self.url = frame.url

    def runs(self, *, keys: Iterable[str] | None = None, cell: str | None = None, task: str | None = None,
             statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        sub = self.rows
        if keys is not None:
            sub = sub[sub["key"].isin(list(keys))]
        if cell:
            sub = sub[sub["cell"] == cell]
        if task:
            sub = sub[sub["task"] == task]
        if statuses is not None:
            sub = sub[sub["status"].isin(list(statuses))]
        sub = sub.sort_values(["task", "cell", "preset", "seed"])  # Store.runs' order
        out = []
        sizes = [_ints(sub[c]) for c in _SIZE_COLS]
        for key, cell_, task_, preset, seed, status, combo, *size in zip(
                sub["key"], sub["cell"], sub["task"], sub["preset"], sub["seed"], sub["status"], sub["combo"], *sizes):
            c = self.frame.combos[int(combo)]
            out.append({"key": key, "cell": cell_, "task": task_, "preset": preset, "seed": int(seed),
                        "status": status, "params": c["params"], "train": c["train"],
                        "cell_options": c["cell_options"], "main_metric": c["main_metric"],
                        "directions": c["directions"], "chance": c["chance"],
                        "task_name": c.get("task_name", task_), **dict(zip(_SIZE_COLS, size))})
        return out

    def metrics(self, keys: Iterable[str] | None = None, split: str | None = None) -> dict[str, Any]:
        sub = self.rows if keys is None else self.rows[self.rows["key"].isin(list(keys))]
        sub = sub[sub["value"].notna()]
        out: dict[str, Any] = {}
        for key, combo, value in zip(sub["key"], sub["combo"], sub["value"]):
            out[key] = {"test": {self.frame.combos[int(combo)]["main_metric"]: float(value)}}
        return out


# -- content-addressed result cache -----------------------------------------------------------
def _ints(col: pd.Series) -> list[int | None]:
    """A nullable integer column as Python ints and None."""
    return [None if v is None else int(v) for v in col.to_numpy(dtype=object, na_value=None)]


def _fingerprint() -> str:
    """Hash of the code whose output is cached, so an upgrade never serves stale numbers."""
    import arena.across_tasks
    import arena.leaderboard
    import arena.results
    import arena.stats
    import arena.tracks

    h = hashlib.blake2b(digest_size=8)
    files = [Path(arena.leaderboard.__file__), Path(arena.across_tasks.__file__), Path(arena.results.__file__),
             Path(arena.tracks.__file__), Path(__file__)]
    files += sorted(Path(arena.stats.__file__).parent.glob("*.py"))
    for f in files:
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(str(f).encode())
    from arena.leaderboard import BOARD_BOOT

    h.update(str(BOARD_BOOT).encode())
    return h.hexdigest()


_FINGERPRINT: str | None = None


def fingerprint() -> str:
    global _FINGERPRINT
    if _FINGERPRINT is None:
        _FINGERPRINT = _fingerprint()
    return _FINGERPRINT


def rows_hash(frame: Frame, rows: pd.DataFrame, *extra: Any) -> str:
    """Hash of exactly what the statistics of these rows depend on: their tracks, each run's
    configuration (with its track), seed, status, main test value and recorded sizes (plus the
    statistics code and ``extra``)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(fingerprint().encode())
    h.update(json.dumps([str(e) for e in extra]).encode())
    h.update(json.dumps(sorted({str(t) for t in rows["track"].unique()})).encode())
    combo = rows["combo"].to_numpy(dtype=np.int64)
    seed = rows["seed"].to_numpy(dtype=np.int64)
    order = np.lexsort((seed, combo))
    status = np.array([STATUS_CODES.get(s, 99) for s in rows["status"].cat.categories], dtype=np.int64)
    h.update(combo[order].tobytes())
    h.update(seed[order].tobytes())
    h.update(status[rows["status"].cat.codes.to_numpy()][order].tobytes())
    h.update(rows["value"].to_numpy(dtype=float)[order].tobytes())
    for c in ("body_params", "width", "state_size"):  # the board shows them: a backfill must refresh it
        h.update(rows[c].to_numpy(dtype=float, na_value=np.nan)[order].tobytes())
    for c in np.unique(combo):
        h.update(frame.combo_digests[int(c)])
        h.update(_anchors_digest(frame, int(c)))
    return h.hexdigest()


def _anchors_digest(frame: Frame, combo: int) -> bytes:
    """The scale and solved level the installed task plugin declares for a configuration: scores
    depend on them, and a plugin upgrade may change them without touching the stored runs."""
    from arena.leaderboard import plugin_anchors

    digest = frame._anchors.get(combo)
    if digest is None:
        c = frame.combos[combo]
        digest = repr(plugin_anchors(c.get("task_name", c["task"]), json.dumps(c["params"], sort_keys=True),
                                     c["main_metric"])).encode()
        frame._anchors[combo] = digest
    return digest


STATUS_CODES = {s: i for i, s in enumerate(schema.STATUSES)}


def cache_dir() -> Path | None:
    raw = os.environ.get(CACHE_ENV)
    if raw is not None and raw.strip().lower() in ("", "off", "0", "none", "-"):
        return None
    if raw:
        return Path(raw).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "arena" / "app"


def is_cached(kind: str, digest: str) -> bool:
    key = f"{kind}-{digest}"
    with _lock:
        if key in _memo:
            return True
    folder = cache_dir()
    return bool(folder and (folder / f"{key}.json").is_file())


def cached(kind: str, digest: str, compute: Callable[[], Any]) -> Any:
    """compute() once per digest: memory first, then a JSON file, then compute and save both."""
    key = f"{kind}-{digest}"
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    folder = cache_dir()
    path = folder / f"{key}.json" if folder else None
    value: Any = None
    hit = False
    if path is not None and path.is_file():
        try:
            value, hit = json.loads(path.read_text(encoding="utf-8")), True
        except (OSError, ValueError):
            hit = False
    if not hit:
        value = compute()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(json.dumps(value, default=_jsonable), encoding="utf-8")
                os.replace(tmp, path)
            except OSError:
                pass  # an unwritable cache folder only costs speed
        value = json.loads(json.dumps(value, default=_jsonable))  # same types as a cache hit
    with _lock:
        _memo[key] = value
        while len(_memo) > _MEMO_MAX:
            _memo.popitem(last=False)
    return value


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


# -- statistics on selections -----------------------------------------------------------------
def select_rows(frame: Frame, *, settings: Iterable[int] | None = None, cells: Iterable[str] | None = None,
                max_params: int | None = None, track: str | None = None) -> pd.DataFrame:
    """The runs of these settings, cells and track; ``max_params`` leaves out runs of larger models
    (:func:`model_params`: parameters without the embedding where recorded)."""
    rows = frame.runs
    if track is not None:
        rows = rows[rows["track"] == track]
    if settings is not None:
        rows = rows[rows["setting"].isin(list(settings))]
    if cells is not None:
        rows = rows[rows["cell"].isin(list(cells))]
    if max_params is not None:
        size = model_params(rows)
        rows = rows[size.isna() | (size <= max_params)]
    return rows


def model_params(rows: pd.DataFrame) -> pd.Series:
    """Each run's parameters without the token embedding (``body_params``), or its total
    (``n_params``) where the run never recorded the former; <NA> where neither is known."""
    return rows["body_params"].fillna(rows["n_params"])


def tracks_of(rows: pd.DataFrame) -> list[str]:
    """The tracks of these runs, in display order (arena.tracks.ordered)."""
    from arena.tracks import ordered

    return ordered(str(t) for t in rows["track"].unique()) if len(rows) else []


def one_track(rows: pd.DataFrame, track: str | None = None) -> tuple[str | None, pd.DataFrame]:
    """(track, its rows): ``track``, or the first of the rows' tracks in display order. Nothing
    that pools runs (an aggregate, a Holm family) ever sees two tracks."""
    if track is None:
        have = tracks_of(rows)
        track = have[0] if have else None
    return track, rows[rows["track"] == track] if track is not None else rows


def board(frame: Frame, rows: pd.DataFrame, progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """``arena.leaderboard.task_board`` rows for the selected runs, one cached block per setting
    (a setting has one track; rows of several tracks give their settings track by track, as
    ``task_board`` does, never pooled)."""
    from arena.leaderboard import task_board

    out: list[dict[str, Any]] = []
    groups = rows.groupby("setting", sort=True, observed=True).indices
    for i, (sid, idx) in enumerate(groups.items()):
        sub = rows.iloc[idx]
        label = str(frame.settings.at[int(sid), "label"])
        track = str(frame.settings.at[int(sid), "track"])

        def compute(sub: pd.DataFrame = sub, label: str = label, track: str = track) -> list[dict[str, Any]]:
            block = task_board(FrameStore(frame, sub), track=track)
            for r in block:
                r["setting"] = label  # labels of the whole store, not of this slice
            return block

        block = cached("board", rows_hash(frame, sub, "board", track), compute)
        for r in block:
            out.append({**r, "setting_id": int(sid)})
        if progress:
            progress(i + 1, len(groups))
    return out


def cell_sizes(rows: pd.DataFrame) -> dict[tuple[int, str], dict[str, int | None]]:
    """(setting id, cell) → its model size as ``Setting.sizes`` gives it: the median (the upper
    one of an even count) of ``body_params``, ``width`` and ``state_size`` over its runs."""
    out: dict[tuple[int, str], dict[str, int | None]] = {}
    for (sid, cell), sub in rows.groupby(["setting", rows["cell"].astype(str)], sort=False, observed=True):
        size: dict[str, int | None] = {}
        for c in ("body_params", "width", "state_size"):
            vals = sorted(v for v in _ints(sub[c]) if v is not None)
            size[c] = vals[len(vals) // 2] if vals else None
        out[(int(sid), str(cell))] = size
    return out


def aggregate_digest(frame: Frame, rows: pd.DataFrame, track: str | None = None) -> str:
    track, rows = one_track(rows, track)
    return rows_hash(frame, rows, "aggregate", track)


def aggregate(frame: Frame, rows: pd.DataFrame, track: str | None = None) -> dict[str, Any]:
    """``arena.leaderboard.aggregate_board`` over the selected runs of one track (``track``, or
    the first of the rows' tracks in display order), cached."""
    from arena.leaderboard import aggregate_board

    track, rows = one_track(rows, track)
    if rows.empty:
        return {"rows": [], "settings": [], "partial": [], "left_out_settings": [], "unscored_settings": [],
                "friedman": None, "improvement": {}, "profiles": {}, "taus": [], "n_boot": None, "track": track}
    return cached("aggregate", rows_hash(frame, rows, "aggregate", track),
                  lambda: aggregate_board(FrameStore(frame, rows), track=track))


def pairwise(frame: Frame, rows: pd.DataFrame, cells: list[str], track: str | None = None) -> list[dict[str, Any]]:
    """``arena.leaderboard.compare`` for every pair of ``cells`` on the rows' settings of one
    track (cached)."""
    from arena.leaderboard import compare

    track, rows = one_track(rows, track)

    def compute() -> list[dict[str, Any]]:
        out = []
        fs = FrameStore(frame, rows)
        for i, a in enumerate(cells):
            for b in cells[i + 1:]:
                out.extend(compare(fs, a, b, track=track))
        return out

    return cached("pairwise", rows_hash(frame, rows, "pairwise", track, *cells), compute)


def compare_pair(frame: Frame, rows: pd.DataFrame, a: str, b: str, track: str | None = None) -> list[dict[str, Any]]:
    """``arena compare A B`` on the rows' settings of one track (cached; Holm over those settings),
    each row with its ``setting_id`` and the store's label of the setting."""
    from arena.leaderboard import compare

    track, rows = one_track(rows, track)
    out = cached("compare", rows_hash(frame, rows, "compare", track, a, b),
                 lambda: compare(FrameStore(frame, rows), a, b, track=track))
    ids = _slice_settings(frame, rows)
    result = []
    for r in out:
        sid = ids.get((r["track"], r["task"], r["preset"], r["setting"]))
        result.append({**r, "setting_id": sid,
                       "setting": r["setting"] if sid is None else str(frame.settings.at[sid, "label"])})
    return result


def _slice_settings(frame: Frame, rows: pd.DataFrame) -> dict[tuple[str, str, str, str], int]:
    """(track, task, preset, label) → setting id, with the labels ``arena.leaderboard`` gives
    these rows alone (labels depend on which values vary, so one run per configuration will do)."""
    from arena.results import setting_labels

    first = rows.drop_duplicates("combo")
    reps = [{**frame.combos[int(c)], "key": int(c)} for c in first["combo"]]
    labels = setting_labels(reps)
    out = {}
    for c, sid in zip(first["combo"], first["setting"]):
        combo = frame.combos[int(c)]
        out[(combo["track"], combo["task"], combo["preset"], labels[int(c)])] = int(sid)
    return out


# -- other reads ------------------------------------------------------------------------------
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
        ident = (cell, preset, json.dumps(_loads(params, memo), sort_keys=True),
                 json.dumps(_loads(train, memo), sort_keys=True), json.dumps(_loads(opts, memo), sort_keys=True))
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
    from arena.tracks import track_of

    memo: dict[str | None, Any] = {}
    out = []
    for row in rows:  # the track beside the preset; the train settings it follows from at the end
        train = row.pop("train")
        items = list(row.items())
        i = list(row).index("preset") + 1
        out.append(dict(items[:i] + [("track", track_of(_loads(train, memo)))] + items[i:] + [("train", train)]))
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
