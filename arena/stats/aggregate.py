"""Across tasks: failures as results, per-task normalisation, IQM and mean with stratified bootstrap CIs."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as st

from arena.stats.bootstrap import (ALPHA, N_BOOT, check_alpha, check_n_boot, make_rng,
                                   percentile_interval)

#: Statuses that are results. ``failed`` and ``diverged`` count at the chance-level score.
RESULT_STATUSES = ("done", "failed", "diverged")
#: Statuses that are not (yet) results: excluded, and counted in ``n_excluded``.
PENDING_STATUSES = ("planned", "running", "interrupted")


def with_failures(values: Sequence[float | None], statuses: Sequence[str], chance: float) -> dict[str, Any]:
    """Apply arena's failure convention to one cell's runs on one task: failures are results.

    Convention
    ----------
    - ``done`` with a finite value: the value.
    - ``failed``, ``diverged``, or ``done`` with a missing/NaN/inf value: ``chance`` (the score
      of an input-blind predictor in the metric's own units; pass 0.0 for scores already
      normalised with :func:`normalise`). These count as failures.
    - ``planned``, ``running``, ``interrupted``: not results; left out and counted in
      ``n_excluded``.

    Returns ``{"values", "n", "n_done", "n_failed", "n_diverged", "n_excluded",
    "failure_rate"}`` where ``values`` are the scores to feed to the other functions (in input
    order), ``n`` their count, ``n_failed`` counts ``failed`` runs plus ``done`` runs without a
    finite value, and ``failure_rate = (n_failed + n_diverged) / n`` (None when ``n == 0``).
    Raises ValueError for unequal lengths, an unknown status or a non-finite ``chance``.
    """
    if len(values) != len(statuses):
        raise ValueError(f"len(values)={len(values)} != len(statuses)={len(statuses)}")
    chance = float(chance)
    if not math.isfinite(chance):
        raise ValueError(f"chance must be finite, not {chance}")
    out_vals: list[float] = []
    n_done = n_failed = n_diverged = n_excluded = 0
    for v, s in zip(values, statuses):
        if s in PENDING_STATUSES:
            n_excluded += 1
        elif s == "done" and v is not None and math.isfinite(float(v)):
            out_vals.append(float(v))
            n_done += 1
        elif s in ("done", "failed"):
            out_vals.append(chance)
            n_failed += 1
        elif s == "diverged":
            out_vals.append(chance)
            n_diverged += 1
        else:
            raise ValueError(f"unknown run status {s!r}")
    n = len(out_vals)
    return {"values": out_vals, "n": n, "n_done": n_done, "n_failed": n_failed,
            "n_diverged": n_diverged, "n_excluded": n_excluded,
            "failure_rate": (n_failed + n_diverged) / n if n else None}


def normalise(value: float, *, chance: float, best: float, higher_is_better: bool) -> float:
    """Map a score so that ``chance`` → 0 and ``best`` → 1, for either metric direction.

    Method: ``(value - chance) / (best - chance)``. The same formula serves both directions
    (for a lower-is-better metric such as MSE, ``best < chance`` and the denominator is
    negative); larger normalised scores are always better. Not clipped: a score better than
    ``best`` exceeds 1, one worse than chance is negative. ``best`` is the task's reference
    (e.g. the GRU baseline's score or the best known / perfect score) and ``chance`` the
    input-blind score (``arena show <task>``). Raises ValueError when ``best`` equals
    ``chance`` or lies on the wrong side of it for ``higher_is_better``.
    """
    value, chance, best = float(value), float(chance), float(best)
    if best == chance:
        raise ValueError("best must differ from chance")
    if (best > chance) != bool(higher_is_better):
        raise ValueError(f"best={best} is {'below' if best < chance else 'above'} chance={chance}, "
                         f"but higher_is_better={higher_is_better}")
    return (value - chance) / (best - chance)


def iqm(scores: Any) -> float:
    """Interquartile mean of all scores pooled: ``scipy.stats.trim_mean(x, 0.25)`` (rliable's IQM)."""
    x = np.asarray(scores, dtype=float).ravel()
    return float(st.trim_mean(x[~np.isnan(x)], 0.25))


def _task_mean(m: np.ndarray) -> float:
    return float(np.mean([np.mean(col[~np.isnan(col)]) for col in m.T]))


def aggregate(per_cell: Mapping[str, Any], *, seed: int = 0, n_boot: int = N_BOOT,
              alpha: float = ALPHA) -> dict[str, dict[str, Any]]:
    """IQM and mean over all (run, task) normalised scores per cell, with stratified bootstrap CIs.

    ``per_cell`` maps cell → array of shape runs × tasks of **normalised** scores
    (:func:`normalise`, failures already mapped by :func:`with_failures`). A task with fewer
    runs than others pads its column with NaN (missing, not failed).

    Method (rliable's, Agarwal et al. 2021)
    ------
    - ``iqm``: interquartile mean of all scores of the cell pooled over runs and tasks
      (``scipy.stats.trim_mean(…, 0.25)``; with missing entries, tasks weigh by their runs).
    - ``mean``: mean over tasks of the per-task mean (each task weighs equally; with a full
      matrix this is the plain mean of all scores).
    - CIs: **stratified percentile bootstrap**: in each of ``n_boot`` replicates the runs of
      each task are resampled with replacement independently (within the task, keeping each
      task's run count), both aggregates are recomputed, and the ``alpha/2``, ``1 - alpha/2``
      percentiles give ``iqm_ci_low/high`` and ``mean_ci_low/high``. Tasks are not resampled.
    - ``n_runs``: runs per task (the smallest count when they differ), ``runs_per_task`` the
      list, ``n_tasks`` the number of tasks, ``n_scores`` the number of scores.
    - When any task has fewer than 2 runs the bootstrap cannot see that task's variability
      (rliable issue #20), so no CI is reported (``ci_method`` says so).

    Randomness: each cell's replicates come from ``make_rng(seed, cell)`` (default seed 0).
    Raises ValueError for a non-2-D array, a task with no scores, or inf.
    """
    n_boot = check_n_boot(n_boot)
    alpha = check_alpha(alpha)
    out: dict[str, dict[str, Any]] = {}
    for cell, scores in per_cell.items():
        m = np.asarray(scores, dtype=float)
        if m.ndim != 2:
            raise ValueError(f"{cell}: scores must be a 2-D runs × tasks array, got shape {m.shape}")
        if np.isinf(m).any():
            raise ValueError(f"{cell}: scores contain inf")
        cols = [col[~np.isnan(col)] for col in m.T]
        counts = [len(c) for c in cols]
        if not cols or min(counts) == 0:
            raise ValueError(f"{cell}: every task needs at least one score (got runs per task {counts})")
        res: dict[str, Any] = {"iqm": iqm(m), "mean": _task_mean(m), "n_runs": min(counts),
                               "runs_per_task": counts, "n_tasks": len(cols), "n_scores": sum(counts),
                               "iqm_ci_low": None, "iqm_ci_high": None,
                               "mean_ci_low": None, "mean_ci_high": None}
        if min(counts) < 2:
            res["ci_method"] = "none (a task has fewer than 2 runs)"
        else:
            rng = make_rng(seed, cell)
            bounds = np.cumsum([0] + counts)
            iqms, means = [], []
            # Replicates in chunks of at most ~2M resampled scores, to bound memory.
            chunk = max(1, min(n_boot, 2_000_000 // sum(counts)))
            for start in range(0, n_boot, chunk):
                reps = min(chunk, n_boot - start)
                # Row r of `boot` is replicate r's resampled runs, task after task.
                boot = np.concatenate([col[rng.integers(0, len(col), size=(reps, len(col)))] for col in cols], axis=1)
                iqms.append(st.trim_mean(boot, 0.25, axis=1))
                means.append(np.mean([boot[:, bounds[t]:bounds[t + 1]].mean(axis=1) for t in range(len(cols))], axis=0))
            res["iqm_ci_low"], res["iqm_ci_high"] = percentile_interval(np.concatenate(iqms), alpha)
            res["mean_ci_low"], res["mean_ci_high"] = percentile_interval(np.concatenate(means), alpha)
            res["ci_method"] = f"stratified percentile bootstrap over runs within tasks (n_boot={n_boot})"
        out[cell] = res
    return out
