"""arena.stats: the statistics behind `arena leaderboard`, `compare` and the app.

Pure functions on plain Python / NumPy data, NumPy and SciPy only. Every function documents
its method in its docstring; docs/methodology.md states the rules and their reasons. All
randomness comes from an explicit ``seed`` (default 0); bootstrap functions take ``n_boot``
(default :data:`N_BOOT`) and report it with their result; ``alpha`` defaults to 0.05.

- :class:`Anchors`, :func:`normalise`, :func:`score_runs`, :func:`cross_task` — a metric's scale,
  chance = 0 / solved = 1, failures at the floor
- :func:`summarise` — one cell on one setting: t-interval (or BCa) at n >= 5, values below
- :func:`paired`, :func:`decide`, :func:`tost_p`, :func:`equivalence`, :func:`holm` — two cells:
  better / worse / inconclusive, and equivalent / not shown equivalent / different
- :func:`leader_decisions` — the leader of a setting, who is shown worse, ★ against chance
- :func:`aggregate`, :func:`probability_of_improvement`, :func:`performance_profile` — across tasks
- :func:`friedman_nemenyi`, :func:`cd_rank_intervals` — mean ranks, critical difference, and
  the rank intervals they support
"""
from arena.stats.aggregate import aggregate, iqm, mean_interval, performance_profile, probability_of_improvement
from arena.stats.bootstrap import (ALPHA, MIN_SEEDS_FOR_CI, N_BOOT, bca_interval, make_rng, summarise,
                                   t_interval)
from arena.stats.pairwise import (decide, equivalence, holm, one_sample_p, paired, tost_p, two_sample_p,
                                  wilcoxon_mode)
from arena.stats.ranks import cd_rank_intervals, friedman_nemenyi, leader_decisions, nemenyi_cd
from arena.stats.scores import (CEILING, FLOOR, PENDING_STATUSES, RESULT_STATUSES, Anchors, centre,
                                cross_task, normalise, score_runs)

__all__ = [
    "ALPHA", "CEILING", "FLOOR", "MIN_SEEDS_FOR_CI", "N_BOOT", "PENDING_STATUSES", "RESULT_STATUSES",
    "Anchors", "aggregate", "bca_interval", "cd_rank_intervals", "centre", "cross_task", "decide",
    "equivalence", "friedman_nemenyi", "holm", "iqm", "leader_decisions", "make_rng", "mean_interval",
    "nemenyi_cd", "normalise", "one_sample_p", "paired", "performance_profile", "probability_of_improvement",
    "score_runs", "summarise", "t_interval", "tost_p", "two_sample_p", "wilcoxon_mode",
]
