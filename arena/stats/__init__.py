"""arena.stats: the statistics behind `arena compare` and `arena leaderboard`.

Pure functions on plain Python / NumPy data, NumPy and SciPy only. Every function documents
its method in its docstring; docs/methodology.md collects them. All randomness comes from an
explicit ``seed`` (default 0); bootstrap functions take ``n_boot`` (default :data:`N_BOOT`,
10,000) and ``alpha`` (default 0.05, i.e. 95 % intervals).

- :func:`summarise` — one cell on one task over seeds (bootstrap CI; min–max when n < 5)
- :func:`paired` — two cells on matched seeds: t-test, Wilcoxon, d_z, P(A better) with CI
- :func:`holm` — Holm–Bonferroni adjusted p-values
- :func:`rank_intervals` — bootstrap rank intervals and who is tied with the leader
- :func:`normalise`, :func:`with_failures` — chance → 0 / best → 1; failures as results
- :func:`aggregate` — IQM and mean across tasks with stratified bootstrap CIs
- :func:`friedman_nemenyi` — Friedman test, Nemenyi critical difference and groups
"""
from arena.stats.aggregate import aggregate, iqm, normalise, with_failures
from arena.stats.bootstrap import ALPHA, MIN_SEEDS_FOR_CI, N_BOOT, make_rng, summarise
from arena.stats.pairwise import holm, paired, wilcoxon_mode
from arena.stats.ranks import friedman_nemenyi, nemenyi_cd, rank_intervals

__all__ = [
    "ALPHA", "MIN_SEEDS_FOR_CI", "N_BOOT", "aggregate", "friedman_nemenyi", "holm", "iqm",
    "make_rng", "nemenyi_cd", "normalise", "paired", "rank_intervals", "summarise",
    "with_failures", "wilcoxon_mode",
]
