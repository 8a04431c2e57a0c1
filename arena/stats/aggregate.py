"""Across tasks: mean (t-interval) and IQM (stratified bootstrap) of cross-task scores, the
probability of improvement and performance profiles (rliable's definitions)."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as st

from arena.stats.bootstrap import (ALPHA, MIN_SEEDS_FOR_CI, N_BOOT, check_alpha, check_n_boot, make_rng,
                                   percentile_interval)


def iqm(scores: Any) -> float:
    """Interquartile mean of all scores pooled: ``scipy.stats.trim_mean(x, 0.25)`` (rliable's IQM)."""
    x = np.asarray(scores, dtype=float).ravel()
    return float(st.trim_mean(x[~np.isnan(x)], 0.25))


def _columns(cell: str, scores: Any) -> list[np.ndarray]:
    m = np.asarray(scores, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"{cell}: scores must be a 2-D runs × tasks array, got shape {m.shape}")
    if np.isinf(m).any():
        raise ValueError(f"{cell}: scores contain inf")
    cols = [col[~np.isnan(col)] for col in m.T]
    if not cols or min(len(c) for c in cols) == 0:
        raise ValueError(f"{cell}: every task needs at least one score (got runs per task {[len(c) for c in cols]})")
    return cols


def mean_interval(cols: Sequence[np.ndarray], alpha: float = ALPHA) -> tuple[float, float, float]:
    """Student-t interval of the mean over tasks of the per-task means, tasks fixed.

    SE² = Σ_t s_t² / n_t / T² and Welch–Satterthwaite degrees of freedom
    df = (Σ s_t²/n_t)² / Σ (s_t²/n_t)² / (n_t − 1). Returns (low, high, df); a zero SE gives a
    zero-width interval (df = inf). Every task needs at least 2 runs."""
    T = len(cols)
    if min(len(c) for c in cols) < 2:
        raise ValueError("mean_interval needs at least 2 runs in every task")
    v = np.array([float(np.var(c, ddof=1)) / len(c) for c in cols])
    mean = float(np.mean([c.mean() for c in cols]))
    total = float(v.sum())
    if total == 0.0:
        return mean, mean, math.inf
    df = total ** 2 / float(sum(vi ** 2 / (len(c) - 1) for vi, c in zip(v, cols)))
    half = float(st.t.ppf(1 - alpha / 2, df)) * math.sqrt(total) / T
    return mean - half, mean + half, df


def _stratified(cols: Sequence[np.ndarray], reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` stratified resamples: each task's runs resampled within the task; rows are replicates."""
    return np.concatenate([c[rng.integers(0, len(c), size=(reps, len(c)))] for c in cols], axis=1)


def aggregate(per_cell: Mapping[str, Any], *, seed: int = 0, n_boot: int = N_BOOT,
              alpha: float = ALPHA) -> dict[str, dict[str, Any]]:
    """Mean and IQM over tasks per cell, with intervals whose method is stated.

    ``per_cell`` maps cell → array runs × tasks of cross-task scores (normalised, failures at
    the floor, clipped: :mod:`arena.stats.scores`); NaN pads a task with fewer runs.

    - ``mean``: the mean over tasks of each task's mean (tasks weigh equally), with the
      Welch–Satterthwaite t-interval of :func:`mean_interval` (``mean_ci_method``).
    - ``iqm``: interquartile mean of all (run, task) scores pooled (``scipy.stats.trim_mean(…,
      0.25)``, rliable's IQM), with a stratified percentile bootstrap interval: ``n_boot``
      replicates, each resampling every task's runs within the task (rliable's
      ``StratifiedBootstrap``); ``iqm_ci_method`` states ``n_boot``.
    - Intervals only when every task has at least 5 runs (``MIN_SEEDS_FOR_CI``); otherwise
      None, and the methods say why. Both intervals are conditional on the set of tasks.
    - ``n_runs`` (smallest runs per task), ``runs_per_task``, ``n_tasks``, ``n_scores``.

    Randomness: each cell's replicates come from ``make_rng(seed, cell)``.
    """
    n_boot = check_n_boot(n_boot)
    alpha = check_alpha(alpha)
    out: dict[str, dict[str, Any]] = {}
    for cell, scores in per_cell.items():
        cols = _columns(cell, scores)
        counts = [len(c) for c in cols]
        pooled = np.concatenate(cols)
        res: dict[str, Any] = {"iqm": iqm(pooled), "mean": float(np.mean([c.mean() for c in cols])),
                               "n_runs": min(counts), "runs_per_task": counts, "n_tasks": len(cols),
                               "n_scores": int(sum(counts)), "iqm_ci_low": None, "iqm_ci_high": None,
                               "mean_ci_low": None, "mean_ci_high": None}
        if min(counts) < MIN_SEEDS_FOR_CI:
            why = f"none (a task has fewer than {MIN_SEEDS_FOR_CI} runs)"
            res["mean_ci_method"] = res["iqm_ci_method"] = why
        else:
            lo, hi, df = mean_interval(cols, alpha)
            res["mean_ci_low"], res["mean_ci_high"] = lo, hi
            res["mean_ci_method"] = f"t, Welch–Satterthwaite ({df:.3g} df), tasks fixed"
            rng = make_rng(seed, cell)
            iqms = []
            chunk = max(1, min(n_boot, 2_000_000 // int(sum(counts))))  # bounds memory
            for start in range(0, n_boot, chunk):
                iqms.append(st.trim_mean(_stratified(cols, min(chunk, n_boot - start), rng), 0.25, axis=1))
            res["iqm_ci_low"], res["iqm_ci_high"] = percentile_interval(np.concatenate(iqms), alpha)
            res["iqm_ci_method"] = f"stratified percentile bootstrap over runs within tasks (n_boot={n_boot})"
        out[cell] = res
    return out


def _poi(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> float:
    """Mean over tasks of P(X > Y) + P(X = Y)/2 over all run pairs of the task."""
    vals = []
    for x, y in zip(xs, ys):
        diff = x[:, None] - y[None, :]
        vals.append(float(((diff > 0) + 0.5 * (diff == 0)).mean()))
    return float(np.mean(vals))


def probability_of_improvement(x: Any, y: Any, *, seed: int = 0, n_boot: int = N_BOOT,
                               alpha: float = ALPHA) -> dict[str, Any]:
    """P(X > Y) across tasks, rliable's definition (Agarwal et al. 2021).

    ``x`` and ``y`` are runs × tasks score arrays over the same tasks (NaN pads). On each task
    the probability that a run of X scores above a run of Y, ties counting one half, over all
    n_x × n_y run pairs (the Mann–Whitney U statistic over n_x·n_y); then the mean over tasks.
    The interval is a stratified percentile bootstrap (``n_boot`` replicates, runs of each cell
    resampled within each task independently), reported with at least 5 runs per task.
    """
    n_boot = check_n_boot(n_boot)
    alpha = check_alpha(alpha)
    xs, ys = _columns("x", x), _columns("y", y)
    if len(xs) != len(ys):
        raise ValueError(f"x has {len(xs)} tasks, y has {len(ys)}")
    out: dict[str, Any] = {"p": _poi(xs, ys), "ci_low": None, "ci_high": None, "n_tasks": len(xs)}
    if min(len(c) for c in list(xs) + list(ys)) < MIN_SEEDS_FOR_CI:
        out["ci_method"] = f"none (a task has fewer than {MIN_SEEDS_FOR_CI} runs)"
        return out
    rx, ry = make_rng(seed, "poi-x"), make_rng(seed, "poi-y")
    reps = np.zeros(n_boot)
    for x_t, y_t in zip(xs, ys):  # vectorised over replicates, one task at a time
        nx, ny = len(x_t), len(y_t)
        # A replicate's statistic is c_xᵀ W c_y / (n_x n_y): W the win matrix of the original runs,
        # c the resample's counts of each run. Halves summed exactly: equal to comparing every pair.
        win = (x_t[:, None] > y_t[None, :]) + 0.5 * (x_t[:, None] == y_t[None, :])
        cx = _counts(rx.integers(0, nx, size=(n_boot, nx)), nx)
        cy = _counts(ry.integers(0, ny, size=(n_boot, ny)), ny)
        reps += np.einsum("rj,rj->r", cx @ win, cy) / (nx * ny)
    reps /= len(xs)
    out["ci_low"], out["ci_high"] = percentile_interval(reps, alpha)
    out["ci_method"] = f"stratified percentile bootstrap (n_boot={n_boot})"
    return out


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """[replicates, n]: how often each of n items was drawn in each row of ``idx``."""
    rows = np.arange(idx.shape[0])[:, None] * n
    return np.bincount((idx + rows).ravel(), minlength=idx.shape[0] * n).reshape(idx.shape[0], n).astype(float)


def performance_profile(scores: Any, taus: Sequence[float]) -> list[float]:
    """Share of runs scoring above each tau, tasks weighing equally (rliable's run-score
    distribution): for each tau, the mean over tasks of the fraction of the task's runs > tau."""
    cols = _columns("scores", scores)
    return [float(np.mean([np.mean(c > t) for c in cols])) for t in taus]
