"""Rankings that carry their uncertainty: the leader of a setting and who is shown worse, Friedman +
Nemenyi across settings, and the rank intervals they support."""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats as st

from arena.stats.bootstrap import ALPHA, check_alpha, finite_array
from arena.stats.pairwise import holm, one_sample_p, two_sample_p


def _ranks(keys: list[tuple[float, float]]) -> list[float]:
    """1-based ranks of sort keys (smaller is better), equal keys sharing their average rank."""
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    ranks = [0.0] * len(keys)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and keys[order[j + 1]] == keys[order[i]]:
            j += 1
        for t in range(i, j + 1):
            ranks[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def leader_decisions(scores: Mapping[str, Mapping[Any, float]], *, higher_is_better: bool = True,
                     chance: float | None = None, tiebreak: Mapping[str, float] | None = None,
                     alpha: float = ALPHA) -> dict[str, dict[str, Any]]:
    """Who leads one setting, who is shown worse than the leader, and whether the leader beats chance.

    ``scores`` maps cell → {seed: score}; ``tiebreak`` (e.g. failure counts) orders cells with
    equal means, smaller first; ``chance`` is the chance level on the scores' scale (0 for
    normalised scores), or None when unknown.

    Method
    ------
    - ``rank``: cells ordered by mean (best first), then by ``tiebreak``; cells equal in both
      share their average rank. ``leader``: the first cell in that order (exactly one).
    - Each other cell against the leader: a two-sided t-test of the difference, paired
      (``ttest_rel`` on the seeds both have) when the two cells have the same seeds, else
      Welch's ``ttest_ind``; ``p_vs_leader_raw``, then ``p_vs_leader`` Holm-adjusted over the
      k − 1 comparisons (the family). ``verdict``: ``worse`` when the adjusted p < alpha,
      ``inconclusive`` otherwise (including when a side has fewer than 2 seeds); the leader's
      verdict is ``leader``. "Inconclusive" is not "tied": no equivalence is claimed.
    - ``p_vs_chance``/``better_than_chance`` (leader only): two-sided one-sample t-test of the
      leader's scores against ``chance``; better when p < alpha and the mean is on the better
      side. The board's ★ is this flag.

    Cells without scores get ``n = 0`` and no rank. No randomness. Raises ValueError for
    None, NaN or inf.
    """
    alpha = check_alpha(alpha)
    sign = 1.0 if higher_is_better else -1.0
    data = {}
    for c, by_seed in scores.items():
        by_seed = dict(by_seed)
        data[c] = dict(zip(by_seed, finite_array(list(by_seed.values()), f"scores[{c!r}]").tolist()))
    present = [c for c in data if data[c]]
    out: dict[str, dict[str, Any]] = {
        c: {"n": 0, "mean": None, "rank": None, "leader": False, "verdict": None, "p_vs_leader_raw": None,
            "p_vs_leader": None, "test": None, "p_vs_chance": None, "better_than_chance": False}
        for c in data if c not in present}
    if not present:
        return {c: out[c] for c in data}
    means = {c: float(np.mean(list(data[c].values()))) for c in present}
    tb = tiebreak or {}
    keys = [(-sign * means[c], float(tb.get(c, 0.0))) for c in present]
    ranks = dict(zip(present, _ranks(keys)))
    leader = min(present, key=lambda c: (keys[present.index(c)], present.index(c)))
    others = [c for c in present if c != leader]
    raw, tests = [], {}
    for c in others:
        same = set(data[c]) == set(data[leader])
        seeds = sorted(data[c]) if same else None
        a = np.array([data[c][k] for k in seeds]) if same else np.array(list(data[c].values()))
        b = np.array([data[leader][k] for k in seeds]) if same else np.array(list(data[leader].values()))
        raw.append(two_sample_p(a, b, paired=same))
        tests[c] = "paired t-test (ttest_rel)" if same else "Welch t-test (ttest_ind, equal_var=False)"
    adj = dict(zip(others, holm(raw)))
    raw_by = dict(zip(others, raw))
    lead_scores = list(data[leader].values())
    p_chance = one_sample_p(lead_scores, chance) if chance is not None else None
    better = bool(p_chance is not None and p_chance < alpha and sign * (means[leader] - chance) > 0)
    for c in present:
        is_leader = c == leader
        p_adj = adj.get(c)
        out[c] = {
            "n": len(data[c]), "mean": means[c], "rank": ranks[c], "leader": is_leader,
            "verdict": "leader" if is_leader else ("worse" if p_adj is not None and p_adj < alpha else "inconclusive"),
            "p_vs_leader_raw": raw_by.get(c), "p_vs_leader": p_adj, "test": tests.get(c),
            "p_vs_chance": p_chance if is_leader else None, "better_than_chance": better if is_leader else False,
        }
    return {c: out[c] for c in data}


def cd_rank_intervals(mean_ranks: Mapping[str, float], cd: float | None, reject: bool) -> dict[str, tuple[int, int]]:
    """Rank intervals that the Friedman/Nemenyi analysis supports, never narrower.

    When Friedman rejects, a cell's interval runs from 1 + (cells whose mean rank is better by
    more than CD) to k − (cells worse by more than CD). When it does not reject (or was not
    run), every cell's interval is [1, k]: no ordering is claimed."""
    k = len(mean_ranks)
    if not reject or cd is None:
        return {c: (1, k) for c in mean_ranks}
    return {c: (1 + sum(1 for o in mean_ranks.values() if o < r - cd), k - sum(1 for o in mean_ranks.values() if o > r + cd))
            for c, r in mean_ranks.items()}


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
    """Friedman test over blocks, then (only if it rejects) Nemenyi groups of cells not shown different.

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
