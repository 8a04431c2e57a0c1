"""The app's read side in one namespace: what the pages, scripts and tests call ``data.…``.

Nothing is defined here; each name comes from the module of what it reads:

- :mod:`arena.app.access`: which store, opened read-only, and its revision;
- :mod:`arena.app.frame`: the runs frame (every run with its main test metric) and selections of it;
- :mod:`arena.app.cache`: the cache folder and the results kept by digest;
- :mod:`arena.app.boards`: arena's statistics on a selection (board, aggregate, comparisons);
- :mod:`arena.app.reads`: per-run reads (curves, the runs table, one run, benchmark rows).
"""
from __future__ import annotations

from arena.app.access import DB_ENV, db_url, forget, open_readonly, problem_kind, revision, shown
from arena.app.boards import (BoardJob, FrameStore, aggregate, aggregate_digest, board, board_job, cell_sizes,
                              compare_pair, pairwise, rows_hash, uncached_runs, wait_for_jobs, waiting_rows)
from arena.app.cache import CACHE_ENV, cache_dir, cached, clear_memory, is_cached
from arena.app.frame import (RESULT_STATUSES, Frame, load_frame, model_params, one_track, select_rows, setting_title,
                             tracks_of)
from arena.app.reads import curve_names, curves, run_detail, search_runs, throughput

__all__ = ["CACHE_ENV", "DB_ENV", "RESULT_STATUSES", "BoardJob", "Frame", "FrameStore", "aggregate", "aggregate_digest",
           "board", "board_job", "cache_dir", "cached", "cell_sizes", "clear_memory", "compare_pair", "curve_names",
           "curves", "db_url", "forget", "is_cached", "load_frame", "model_params", "one_track", "open_readonly",
           "pairwise", "problem_kind", "revision", "rows_hash", "run_detail", "search_runs", "select_rows",
           "setting_title", "shown", "throughput", "tracks_of", "uncached_runs", "wait_for_jobs", "waiting_rows"]
