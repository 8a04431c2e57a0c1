"""The computed views: arena's own statistics on a selection of the runs frame, cached.

Every number is arena's (:func:`arena.leaderboard.setting_rows` and ``task_board``,
``aggregate_board``, ``compare``), run on a :class:`FrameStore` that serves the frame's rows in
the shape they read from a Store. Results are cached (:mod:`arena.app.cache`) per *setting*
under a hash of exactly the rows they depend on, so a new run recomputes its own setting only.
A setting has one track; :func:`aggregate`, :func:`pairwise` and :func:`compare_pair` work on
one track at a time and never pool two.

A large board whose statistics are not cached yet is computed by a :class:`BoardJob` in a
background thread while the page shows what is ready (:func:`waiting_rows` for the rest).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from arena.app.cache import cached, fingerprint, is_cached
from arena.app.frame import RESULT_STATUSES, SIZE_COLS, Frame, ints, one_track, representatives
from arena.store import schema

STATUS_CODES = {s: i for i, s in enumerate(schema.STATUSES)}
#: Store.runs' order, which arena's grouping of runs into settings follows.
_STORE_ORDER = ["task", "cell", "preset", "seed"]

_lock = threading.RLock()


def _run_dicts(frame: Frame, sub: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as Store.runs gives them, with what scoring reads (see :class:`FrameStore`)."""
    combos = frame.combos
    cols = [sub[c].tolist() for c in ("key", "cell", "task", "preset", "seed", "status", "combo")]
    out = []
    for key, cell, task, preset, seed, status, combo, *size in zip(*cols, *(ints(sub[c]) for c in SIZE_COLS)):
        c = combos[combo]
        out.append({"key": key, "cell": cell, "task": task, "preset": preset, "seed": seed, "status": status,
                    "params": c["params"], "train": c["train"], "cell_options": c["cell_options"],
                    "main_metric": c["main_metric"], "directions": c["directions"], "chance": c["chance"],
                    "task_name": c.get("task_name", task), **dict(zip(SIZE_COLS, size))})
    return out


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
        return _run_dicts(self.frame, sub.sort_values(_STORE_ORDER))

    def metrics(self, keys: Iterable[str] | None = None, split: str | None = None) -> dict[str, Any]:
        sub = self.rows if keys is None else self.rows[self.rows["key"].isin(list(keys))]
        sub = sub[sub["value"].notna()]
        out: dict[str, Any] = {}
        for key, combo, value in zip(sub["key"], sub["combo"], sub["value"]):
            out[key] = {"test": {self.frame.combos[int(combo)]["main_metric"]: float(value)}}
        return out


# -- cache keys -------------------------------------------------------------------------------
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


# -- the board --------------------------------------------------------------------------------
def _setting(frame: Frame, rows: pd.DataFrame) -> Any:
    """The ``arena.leaderboard.Setting`` of one setting's rows, as ``settings_of`` builds it, with
    the setting's label, anchors and cell names worked out on one run per configuration (they
    depend on nothing else); None when those runs do not make one setting."""
    from arena.leaderboard import settings_of
    from arena.results import cell_labels

    sub = rows.sort_values(_STORE_ORDER)
    runs, combos = _run_dicts(frame, sub), sub["combo"].tolist()
    first: dict[int, dict[str, Any]] = {}
    for c, r in zip(combos, runs):
        first.setdefault(c, r)
    found = settings_of(list(first.values()), {})
    if len(found) != 1:
        return None
    s = found[0]
    names = cell_labels(list(first.values()))
    cell_of = {c: names[r["key"]] for c, r in first.items()}
    s.runs, s.values = {}, {}
    for c, r, v in zip(combos, runs, sub["value"].tolist()):
        s.runs.setdefault(cell_of[c], []).append(r)
        s.values.setdefault(cell_of[c], {})[r["seed"]] = None if math.isnan(v) else v
    for group in s.runs.values():
        group.sort(key=lambda r: r["seed"])
    return s


def _block(frame: Frame, rows: pd.DataFrame, label: str, track: str) -> list[dict[str, Any]]:
    """``task_board`` of one setting's rows (labelled as in the whole store, not this slice)."""
    from arena.leaderboard import setting_rows, task_board

    s = _setting(frame, rows)
    block = setting_rows(s) if s is not None else task_board(FrameStore(frame, rows), track=track)
    for r in block:
        r["setting"] = label
    return block


def _selection_key(frame: Frame, rows: pd.DataFrame) -> str:
    """Names a selection of the frame's rows (its store revision and row positions)."""
    h = hashlib.blake2b(f"{frame.url}\n{frame.revision!r}".encode(), digest_size=16)
    h.update(rows.index.to_numpy(dtype=np.int64).tobytes())
    return h.hexdigest()


def _settings(frame: Frame, rows: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame, str]]:
    """(setting id, its rows, the cache digest of its board), setting by setting (the digests are
    worked out once per selection of a frame)."""
    groups = rows.groupby("setting", sort=True, observed=True).indices
    digests = frame.memo(f"board-digests-{_selection_key(frame, rows)}", lambda: {
        int(sid): rows_hash(frame, rows.iloc[idx], "board", frame.settings.at[int(sid), "track"])
        for sid, idx in groups.items()})
    for sid, idx in groups.items():
        yield int(sid), rows.iloc[idx], digests[int(sid)]


def board(frame: Frame, rows: pd.DataFrame, progress: Callable[[int, int], None] | None = None, *,
          ready_only: bool = False) -> list[dict[str, Any]]:
    """``arena.leaderboard.task_board`` rows for the selected runs, one cached block per setting
    (a setting has one track; rows of several tracks give their settings track by track, as
    ``task_board`` does, never pooled). ``ready_only``: only the settings already cached."""
    out: list[dict[str, Any]] = []
    settings = list(_settings(frame, rows))
    for i, (sid, sub, digest) in enumerate(settings):
        if ready_only and not is_cached("board", digest):
            continue
        label, track = str(frame.settings.at[sid, "label"]), str(frame.settings.at[sid, "track"])
        block = cached("board", digest, lambda sub=sub, label=label, track=track: _block(frame, sub, label, track))
        out.extend({**r, "setting_id": sid} for r in block)
        if progress:
            progress(i + 1, len(settings))
    return out


def uncached_runs(frame: Frame, rows: pd.DataFrame) -> int:
    """How many of these runs are in settings whose board is not cached yet."""
    return sum(len(sub) for _, sub, digest in _settings(frame, rows) if not is_cached("board", digest))


def waiting_rows(frame: Frame, rows: pd.DataFrame, settings: Iterable[int]) -> list[dict[str, Any]]:
    """Board-shaped rows for settings whose statistics are not ready: each cell (named as the
    board names it) with its number of finished runs, ``waiting`` True and nothing computed."""
    from arena.results import cell_labels

    wanted = rows[rows["setting"].isin(list(settings)) & rows["status"].isin(RESULT_STATUSES)]
    counts: dict[int, dict[int, int]] = {}
    for (sid, combo), n in wanted.groupby(["setting", "combo"], sort=True).size().items():
        counts.setdefault(int(sid), {})[int(combo)] = int(n)
    out = []
    for sid, by_combo in counts.items():
        names = cell_labels(representatives(frame.combos, by_combo))
        by_cell: dict[str, int] = {}
        for combo, n in by_combo.items():
            by_cell[names[combo]] = by_cell.get(names[combo], 0) + n
        s = {c: frame.settings.at[sid, c] for c in ("track", "task", "preset", "label", "metric", "higher")}
        out.extend({"setting_id": sid, "track": s["track"], "task": s["task"], "preset": s["preset"],
                    "setting": s["label"], "metric": f"{s['metric']} {'↑' if s['higher'] else '↓'}", "cell": cell,
                    "n": n, "waiting": True} for cell, n in by_cell.items())
    return out


class BoardJob:
    """:func:`board` of one selection, computed in a background thread once :meth:`start` is
    called (after the page is drawn, so the two do not share the interpreter)."""

    def __init__(self, frame: Frame, rows: pd.DataFrame) -> None:
        self.total, self.finished = int(rows["setting"].nunique()), 0
        self._thread = threading.Thread(target=self._run, args=(frame, rows), name="arena-app-board", daemon=True)
        self._done = threading.Event()

    def _run(self, frame: Frame, rows: pd.DataFrame) -> None:
        try:  # an error goes to the server's log; the page then computes the board itself and shows it
            board(frame, rows, lambda i, _total: setattr(self, "finished", i))
        finally:
            self._done.set()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        with _lock:
            if not self.started:
                self._thread.start()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


_jobs: OrderedDict[str, BoardJob] = OrderedDict()


def board_job(frame: Frame, rows: pd.DataFrame) -> BoardJob:
    """The one job of this selection (created, not started, the first time it is asked for)."""
    key = _selection_key(frame, rows)
    with _lock:
        job = _jobs.get(key)
        if job is None:
            job = _jobs[key] = BoardJob(frame, rows)
            while len(_jobs) > 8:
                _jobs.popitem(last=False)
        return job


def wait_for_jobs(timeout: float | None = None) -> bool:
    """Wait until every started board job is done (what benchmarks and tests need)."""
    with _lock:
        jobs = list(_jobs.values())
    return all(j.wait(timeout) for j in jobs if j.started)


# -- the other computed views -----------------------------------------------------------------
def cell_sizes(rows: pd.DataFrame) -> dict[tuple[int, str], dict[str, int | None]]:
    """(setting id, cell) → its model size as ``Setting.sizes`` gives it: the median (the upper
    one of an even count) of ``body_params``, ``width`` and ``state_size`` over its runs."""
    out: dict[tuple[int, str], dict[str, int | None]] = {}
    for (sid, cell), sub in rows.groupby(["setting", rows["cell"].astype(str)], sort=False, observed=True):
        size: dict[str, int | None] = {}
        for c in ("body_params", "width", "state_size"):
            vals = sorted(v for v in ints(sub[c]) if v is not None)
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
    labels = setting_labels(representatives(frame.combos, first["combo"]))
    out = {}
    for c, sid in zip(first["combo"], first["setting"]):
        combo = frame.combos[int(c)]
        out[(combo["track"], combo["task"], combo["preset"], labels[int(c)])] = int(sid)
    return out
