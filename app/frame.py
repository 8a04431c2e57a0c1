"""The runs frame: every run of a store with its main test metric, grouped into settings.

:func:`load_frame` reads every run with its *main* test metric in two plain scans (not all
metrics, not the ``spec`` column), parses each distinct JSON string once, and works setting
labels out on one run per distinct configuration. The frame is kept per store
:func:`~arena.app.access.revision` (in memory, and on disk for the next start of the app), so a
new or finished run refreshes it and nothing else does.

Tracks (:mod:`arena.tracks`): a setting is one task, preset, parameter set *and track* (how the
models were built: ``matched`` to a parameter budget, ``bare`` at one hidden size, stacked
blocks...). Settings of different tracks never share a setting id; :func:`one_track` gives
whatever pools runs one track at a time.
"""
from __future__ import annotations

import hashlib
import json
import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import select

from arena.app.access import revision
from arena.app.cache import cache_dir, fingerprint, jsonable, write_atomic
from arena.store import Store, schema
from arena.store.providers import labelled
from arena.store.schema import FINISHED

#: Statuses whose runs are results (failed and diverged runs score at the floor); the others are pending.
RESULT_STATUSES = FINISHED + ("failed",)

_lock = threading.RLock()


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

    # By hand: st.cache_data would hash the whole frame to find a value derived from it.
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
SIZE_COLS = ("n_params", "body_params", "width", "state_size")
#: The columns of Frame.runs, in order.
_FRAME_COLS = ("key", "cell", "task", "preset", "track", "seed", "status", "value", *SIZE_COLS, "combo", "setting")
_CATS = ("cell", "task", "preset", "track", "status")


def loads(text: str | None, memo: dict[str | None, Any]) -> Any:
    """A stored JSON column, parsed once per distinct string (``{}`` for NULL)."""
    if text not in memo:
        memo[text] = json.loads(text) if text else {}
    return memo[text]


def ints(col: pd.Series) -> list[int | None]:
    """A nullable integer column as Python ints and None."""
    return [None if v is None else int(v) for v in col.to_numpy(dtype=object, na_value=None)]


def load_frame(store: Store, rev: Any | None = None) -> Frame:
    """The store's runs in two scans (kept per revision)."""
    return _frame(store.url, revision(store) if rev is None else rev, store)


@st.cache_resource(show_spinner=False, max_entries=4)
def _frame(url: str, rev: Any, _store: Store) -> Frame:
    frame = _read_frame(url, rev)
    if frame is None:
        frame = _build_frame(_store, rev)
        # Saved for the next start of the app, off the page's path.
        threading.Thread(target=_write_frame, args=(frame,), name="arena-app-frame-writer", daemon=True).start()
    return frame


def _frame_path(url: str, rev: Any) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    h = hashlib.blake2b(digest_size=10)
    h.update(fingerprint().encode())
    h.update(repr(rev).encode())
    return folder / f"frame-{hashlib.blake2b(url.encode(), digest_size=6).hexdigest()}-{h.hexdigest()}.npz"


# By hand: st.cache_data(persist="disk") pickles, keeps old revisions and writes no file outside a script run.
def _write_frame(frame: Frame) -> None:
    """Keep the loaded runs of this revision on disk (numpy arrays and JSON, no pickle), so a
    restarted app does not read the store again; older revisions of the store are removed."""
    path = _frame_path(frame.url, frame.revision)
    if path is None or frame.empty:
        return
    df = frame.runs
    arrays = {"key": np.array(df["key"].tolist(), dtype=str), "seed": df["seed"].to_numpy(np.int64),
              "value": df["value"].to_numpy(float), "combo": df["combo"].to_numpy(np.int64),
              "setting": df["setting"].to_numpy(np.int64),
              **{c: df[c].to_numpy(dtype=float, na_value=np.nan) for c in SIZE_COLS}}
    meta: dict[str, Any] = {"combos": frame.combos, "settings": frame.settings.to_dict("records")}
    for c in _CATS:
        arrays[c] = df[c].cat.codes.to_numpy(np.int32)
        meta[c] = [str(v) for v in df[c].cat.categories]

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta, default=jsonable)), **arrays)

    if write_atomic(path, write):
        prefix = path.name.rsplit("-", 1)[0]
        for old in path.parent.glob(f"{prefix}-*.npz"):
            if old.name != path.name:
                old.unlink(missing_ok=True)


def _read_frame(url: str, rev: Any) -> Frame | None:
    path = _frame_path(url, rev)
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            cols: dict[str, Any] = {"key": z["key"].astype(object)}
            for c in _CATS:
                cols[c] = pd.Categorical.from_codes(z[c], categories=meta[c])
            cols.update(seed=z["seed"], value=z["value"], combo=z["combo"], setting=z["setting"])
            for c in SIZE_COLS:
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
    combos = []
    for task, preset, cell, params, train, opts, metric, directions, chance, cv, tv, name in index:
        c = {"task": task, "preset": preset, "cell": cell, "params": loads(params, memo), "train": loads(train, memo),
             "cell_options": loads(opts, memo), "main_metric": metric, "directions": loads(directions, memo),
             "chance": loads(chance, memo), "cell_version": cv, "task_version": tv, "task_name": name}
        c["track"] = track_of(c["train"])
        combos.append(c)
    # Labels depend only on which values vary, so one run per configuration gives the same labels.
    # A setting is (track, task, preset, label), in arena.leaderboard's order: track by track.
    labels = setting_labels(representatives(combos))
    ident = [(c["track"], c["task"], c["preset"], labels[i]) for i, c in enumerate(combos)]
    order = sorted(set(ident), key=lambda t: (sort_key(t[0]), t[1], t[2], natural_key(t[3])))
    sid = {t: i for i, t in enumerate(order)}
    combo_setting = np.array([sid[t] for t in ident], dtype=np.int64)
    col = {name: [row[i] for row in rows] for i, name in enumerate(_RUN_COLS)
           if name in ("key", "seed", "status", "main_metric", *SIZE_COLS)}

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
        **{c: pd.array(col[c], dtype="Int64") for c in SIZE_COLS},
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


def representatives(combos: list[dict[str, Any]], ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """One run per configuration (of ``ids``, else of all), keyed by its configuration's id: what
    arena's labels depend on (which values vary), without a run's worth of repeats."""
    return [{**combos[int(i)], "key": int(i)} for i in (range(len(combos)) if ids is None else ids)]


def setting_title(task: str, preset: str, label: str) -> str:
    return f"{task} · {preset}" + (f" · {label}" if label else "")


# -- selections -------------------------------------------------------------------------------
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
