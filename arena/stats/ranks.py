"""Rankings that carry their uncertainty: bootstrap rank intervals per task, Friedman + Nemenyi."""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as st

from arena.stats.bootstrap import (ALPHA, N_BOOT, bootstrap_means, check_alpha, check_n_boot,
                                   finite_array, make_rng)
from arena.stats.pairwise import holm, two_sample_p


def rank_intervals(scores: Mapping[str, Sequence[float]], *, higher_is_better: bool, seed: int = 0,
                   n_boot: int = N_BOOT, alpha: float = ALPHA, paired: bool = False) -> dict[str, dict[str, Any]]:
    """Rank of each cell on one task with a bootstrap rank interval and a "tied with the leader" flag.

    ``scores`` maps cell → its per-seed scores on the task (the counts may differ).

    Method
    ------
    - ``rank``: rank of the observed means, 1 = best (direction from ``higher_is_better``),
      ties get the average rank (``scipy.stats.rankdata(method="average")``).
    - ``rank_low``/``rank_high``: in each of ``n_boot`` replicates every cell's seeds are
      resampled with replacement independently (its own n), the resampled means are ranked as
      above, and the interval is the ``alpha/2`` quantile (rounded down to an attained rank,
      NumPy ``method="lower"``) to the ``1 - alpha/2`` quantile (rounded up, ``"higher"``) of
      the cell's bootstrap ranks. A cell with n = 1 has no resampling variance of its own, and
      with n < 5 the interval is optimistic; read it together with ``n``.
    - ``leader``: True for the cell(s) with the best observed mean.
    - ``p_vs_leader_raw``: two-sided t-test of the cell against the leader (the first leader
      in ``scores`` order when several share the best mean): Welch's unequal-variance t-test
      (``scipy.stats.ttest_ind(equal_var=False)``), or with ``paired=True`` (lists aligned by
      seed, equal lengths) the paired ``ttest_rel``. None when a side has fewer than two seeds.
    - ``p_vs_leader``: those p-values Holm-adjusted over the k - 1 comparisons (:func:`holm`).
    - ``tied_with_leader`` — **the rule**: True for the leader(s) and for every cell that is
      not shown worse than the leader, i.e. whose Holm-adjusted p >= ``alpha`` or could not be
      tested (None), **or** whose rank interval reaches rank 1 (``rank_low <= 1``).

      Why: the Holm-corrected comparison with the leader controls the family-wise error rate
      of every "behind the leader" claim at ``alpha`` (a multiple-comparison-with-the-best
      procedure), which a bootstrap rank interval does not, and percentile-bootstrap intervals
      of a mean from 5 seeds are known to be too narrow. A t-test rather than a rank test:
      the ranking is by means, and with 5 seeds the exact Wilcoxon test cannot reach p < 0.05
      at all. The rank-interval clause is kept so the flag never contradicts the interval
      shown next to it: a cell that might rank first is never marked as behind.

    Cells with no scores are reported with ``n = 0`` and None everywhere, and take no part.
    Randomness: each cell's resamples come from ``make_rng(seed, cell)``, so they do not
    depend on which other cells are present. Raises ValueError for None, NaN or inf.
    """
    n_boot = check_n_boot(n_boot)
    alpha = check_alpha(alpha)
    arrays = {c: finite_array(v, f"scores[{c!r}]") for c, v in scores.items()}
    if paired and len({len(v) for v in arrays.values()}) > 1:
        raise ValueError("paired=True needs the same number of seed-aligned scores for every cell")
    present = [c for c, v in arrays.items() if len(v)]
    out: dict[str, dict[str, Any]] = {
        c: {"n": 0, "mean": None, "rank": None, "rank_low": None, "rank_high": None, "leader": False,
            "tied_with_leader": None, "p_vs_leader_raw": None, "p_vs_leader": None, "test": None}
        for c in arrays if c not in present}
    if not present:
        return out
    sign = 1.0 if higher_is_better else -1.0
    means = np.array([arrays[c].mean() for c in present])
    obs_rank = st.rankdata(-sign * means)
    boot = np.column_stack([bootstrap_means(arrays[c], n_boot, make_rng(seed, c)) for c in present])
    boot_rank = st.rankdata(-sign * boot, axis=1)
    low = np.quantile(boot_rank, alpha / 2, axis=0, method="lower")
    high = np.quantile(boot_rank, 1 - alpha / 2, axis=0, method="higher")

    best = means.max() if higher_is_better else means.min()
    is_leader = means == best
    ref = present[int(np.flatnonzero(is_leader)[0])]
    test = "paired t-test (ttest_rel)" if paired else "Welch t-test (ttest_ind, equal_var=False)"
    others = [c for c, lead in zip(present, is_leader) if not lead]
    raw = [two_sample_p(arrays[c], arrays[ref], paired=paired) for c in others]
    adj = dict(zip(others, holm(raw)))
    raw_by = dict(zip(others, raw))
    for i, c in enumerate(present):
        p_adj = adj.get(c)
        tied = bool(is_leader[i] or p_adj is None or p_adj >= alpha or low[i] <= 1.0)
        out[c] = {
            "n": int(len(arrays[c])), "mean": float(means[i]), "rank": float(obs_rank[i]),
            "rank_low": float(low[i]), "rank_high": float(high[i]), "leader": bool(is_leader[i]),
            "tied_with_leader": tied, "p_vs_leader_raw": raw_by.get(c), "p_vs_leader": p_adj,
            "test": None if is_leader[i] else test,
        }
    return {c: out[c] for c in scores}


def nemenyi_cd(k: int, n_blocks: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Nemenyi critical difference of mean ranks and the studentized-range quantile it uses.

    CD = q / sqrt(2) · sqrt(k (k + 1) / (6 N)), with q the ``1 - alpha`` quantile of the
    studentized range for k groups and infinite degrees of freedom
    (``scipy.stats.studentized_range.ppf(1 - alpha, k, inf)``); Demšar (2006), eq. 5.
    """
    q = float(st.studentized_range.ppf(1 - alpha, k, np.inf))
    return q / math.sqrt(2) * math.sqrt(k * (k + 1) / (6.0 * n_blocks)), q


def _cliques(order: list[str], mean_ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """Maximal runs of consecutive cells (in mean-rank order) whose mean ranks span <= CD."""
    r = [mean_ranks[c] for c in order]
    groups, reach = [], -1
    for i in range(len(r)):
        j = max((j for j in range(i + 1, len(r)) if r[j] - r[i] <= cd), default=None)
        if j is not None and j > reach:
            groups.append(order[i:j + 1])
            reach = j
    return groups


def friedman_nemenyi(matrix: Any, cells: Sequence[str], *, higher_is_better: bool = True,
                     alpha: float = ALPHA) -> dict[str, Any]:
    """Friedman test over blocks, then (only if it rejects) Nemenyi groups of tied cells.

    ``matrix`` is blocks × cells (typically tasks × cells, each entry a cell's seed-averaged
    score on a task); ``cells`` names its columns.

    Method
    ------
    - Within each block the cells are ranked, 1 = best (direction from ``higher_is_better``),
      ties averaged; ``mean_ranks`` averages over blocks, ``order`` lists cells best first.
    - ``p_value``/``statistic``: ``scipy.stats.friedmanchisquare`` (chi-square approximation,
      tie-corrected). Needs k >= 3 cells and N >= 2 blocks; otherwise p_value, statistic and
      cd are None, nothing is claimed, and ``note`` says why (use :func:`paired` for two
      cells). When every block is fully tied the test is undefined: p_value None.
    - ``reject``: p_value < alpha.
    - ``cd``: the Nemenyi critical difference at ``alpha`` (:func:`nemenyi_cd`), ``q`` its
      studentized-range quantile. Two cells differ significantly when their mean ranks differ
      by more than CD.
    - ``cliques``: maximal sets of cells, consecutive in rank order, whose mean ranks span at
      most CD (autorank's convention: a cell different from all others is in no clique).
    - ``groups`` — what to display: the cliques when Friedman rejects, otherwise one group
      holding every cell (no difference is claimed). ``different_pairs`` lists (better, worse)
      pairs that differ significantly, empty unless Friedman rejects.
    - ``text``: a one-paragraph statement built from these same fields, so the words and any
      critical-difference diagram drawn from ``groups`` cannot disagree.

    No randomness. Raises ValueError for a shape/name mismatch, duplicate names or non-finite
    entries.
    """
    alpha = check_alpha(alpha)
    cells = [str(c) for c in cells]
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] != len(cells):
        raise ValueError(f"matrix must be blocks × cells with {len(cells)} columns, got shape {m.shape}")
    if len(set(cells)) != len(cells):
        raise ValueError("cell names must be unique")
    finite_array(m.ravel(), "matrix entries")
    n_blocks, k = m.shape
    sign = 1.0 if higher_is_better else -1.0
    out: dict[str, Any] = {"n_blocks": n_blocks, "n_cells": k, "alpha": alpha,
                           "higher_is_better": bool(higher_is_better), "statistic": None, "p_value": None,
                           "reject": False, "cd": None, "q": None, "mean_ranks": {}, "order": [],
                           "cliques": [], "groups": [], "different_pairs": [], "note": None}
    if n_blocks == 0 or k == 0:
        out["note"] = "no data"
        out["text"] = "No data: nothing to test."
        return out
    ranks = st.rankdata(-sign * m, axis=1)
    mean_ranks = {c: float(r) for c, r in zip(cells, ranks.mean(axis=0))}
    order = sorted(cells, key=lambda c: (mean_ranks[c], cells.index(c)))
    out.update(mean_ranks=mean_ranks, order=order, groups=[list(order)])
    rank_txt = ", ".join(f"{c} {mean_ranks[c]:.2f}" for c in order)
    head = f"Friedman test over {n_blocks} blocks × {k} cells (mean ranks, 1 = best: {rank_txt})"
    if k < 3 or n_blocks < 2:
        out["note"] = ("Friedman needs at least 3 cells; compare two cells with arena.stats.paired()"
                       if k < 3 else "Friedman needs at least 2 blocks")
        out["text"] = f"{head}: not run ({out['note']}); no differences are claimed."
        return out
    if np.all(ranks == ranks[:, :1]):
        out["note"] = "every block is fully tied; the Friedman test is undefined"
        out["text"] = f"{head}: not run ({out['note']}); no differences are claimed."
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = st.friedmanchisquare(*m.T)
    stat, p = float(res.statistic), float(res.pvalue)
    cd, q = nemenyi_cd(k, n_blocks, alpha)
    cliques = _cliques(order, mean_ranks, cd)
    reject = p < alpha
    out.update(statistic=stat, p_value=p, reject=reject, cd=cd, q=q, cliques=cliques)
    cd_txt = f"Nemenyi critical difference CD = {cd:.3g} mean-rank units at alpha {alpha:g}, on ranks 1–{k}"
    if reject:
        out["groups"] = cliques
        out["different_pairs"] = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]
                                  if mean_ranks[b] - mean_ranks[a] > cd]
        grp = "; ".join("{" + ", ".join(g) + "}" for g in cliques) or "none"
        alone = [c for c in order if not any(c in g for g in cliques)]
        out["text"] = (f"{head}: chi² = {stat:.3g}, p = {p:.3g} < {alpha:g}, so the cells differ. "
                       f"{cd_txt}. Not significantly different: {grp}."
                       + (f" Different from every other cell: {', '.join(alone)}." if alone else ""))
    else:
        out["text"] = (f"{head}: chi² = {stat:.3g}, p = {p:.3g} >= {alpha:g}; no significant differences "
                       f"are claimed and the Nemenyi test is not applied (its CD would be {cd:.3g} mean-rank units "
                       f"at alpha {alpha:g}, on ranks 1–{k}).")
    return out
