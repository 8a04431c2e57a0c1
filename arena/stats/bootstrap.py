"""Per cell × setting summaries over seeds (t or BCa intervals), and the random machinery the
other modules share.

Every random draw in :mod:`arena.stats` comes from a NumPy ``Generator`` built by
:func:`make_rng` from an explicit integer ``seed`` (default 0) plus, where several groups are
resampled, a stable per-group key (the CRC-32 of the group's name). The same inputs, seed and
``n_boot`` therefore give the same numbers on every machine and in every process, and adding
or removing one cell does not change the resamples drawn for the others.
"""
from __future__ import annotations

import math
import zlib
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import stats as st

#: Bootstrap replicates used by every function unless told otherwise. 10,000 replicates put
#: the Monte-Carlo error of a 95 % percentile endpoint at roughly 1 % of the CI's width and
#: take a few milliseconds for a handful of seeds.
N_BOOT = 10_000
#: Default significance level (two-sided) and hence 95 % intervals.
ALPHA = 0.05
#: Below this many seeds no interval is reported: the values are shown instead.
MIN_SEEDS_FOR_CI = 5


def make_rng(seed: int = 0, *keys: str) -> np.random.Generator:
    """A PCG64 generator seeded from ``seed`` and the CRC-32 of each key (stable across runs)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    entropy = [int(seed)] + [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def check_n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, not {n_boot!r}")
    return int(n_boot)


def check_alpha(alpha: float) -> float:
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, not {alpha!r}")
    return float(alpha)


def finite_array(values: Iterable[Any], what: str = "values") -> np.ndarray:
    """``values`` as a 1-D float array; None, NaN or ±inf raise ValueError.

    Missing and non-finite results are never dropped silently: map failed and diverged runs
    to a score first with :func:`arena.stats.score_runs`.
    """
    vals = list(values)
    if any(v is None for v in vals):
        raise ValueError(f"{what} contain None; score runs with arena.stats.score_runs() first")
    arr = np.asarray(vals, dtype=float).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contain NaN or inf; score runs with arena.stats.score_runs() first")
    return arr


def percentile_interval(samples: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """The (alpha/2, 1 - alpha/2) percentiles of bootstrap replicates (linear interpolation)."""
    lo, hi = np.quantile(np.asarray(samples, dtype=float), [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` means of resamples (with replacement, same size) of ``values``."""
    n = len(values)
    idx = rng.integers(0, n, size=(n_boot, n))
    return values[idx].mean(axis=1)


def t_interval(values: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """Student-t interval of the mean: mean ± t(1 − alpha/2, n − 1) · sd / sqrt(n) (n >= 2)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("a t-interval needs at least 2 values")
    half = float(st.t.ppf(1 - alpha / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    m = float(x.mean())
    return m - half, m + half


def bca_interval(values: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                 alpha: float = ALPHA) -> tuple[float, float]:
    """BCa bootstrap interval of the mean (``scipy.stats.bootstrap(method="BCa")``)."""
    x = np.asarray(values, dtype=float)
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = st.bootstrap((x,), np.mean, n_resamples=n_boot, confidence_level=1 - alpha, method="BCa",
                       random_state=make_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


CI_METHODS = ("t", "bca")


def summarise(values: Sequence[float], *, alpha: float = ALPHA, method: str = "t", n_boot: int = N_BOOT,
              seed: int = 0) -> dict[str, Any]:
    """Summary of one cell's per-seed scores on one setting, with an honest interval.

    ``mean``, ``median``, ``min``, ``max``; ``std`` is the sample standard deviation
    (``ddof=1``), None below two values; ``values`` lists the scores themselves.

    Interval, only with ``n >= MIN_SEEDS_FOR_CI`` (5): the Student-t interval of the mean
    (``method="t"``, n − 1 degrees of freedom; its coverage is exact for normal scores and
    close for others at n = 5, where a percentile bootstrap covers about 83 %), or the BCa
    bootstrap interval (``method="bca"``, ``n_boot`` resamples, for clearly skewed scores).
    ``ci_method`` names the method (and the resamples). Below 5 values no interval is
    computed: ``ci_low``/``ci_high`` are None and the values are to be shown instead.

    Raises ValueError for None, NaN or inf in ``values``, or an unknown method.
    """
    alpha = check_alpha(alpha)
    if method not in CI_METHODS:
        raise ValueError(f"method must be one of {CI_METHODS}, not {method!r}")
    x = finite_array(values)
    n = len(x)
    out: dict[str, Any] = {"n": n, "mean": None, "std": None, "median": None, "min": None, "max": None,
                           "ci_low": None, "ci_high": None, "ci_method": None, "values": [float(v) for v in x]}
    if n == 0:
        return out
    out.update(mean=float(x.mean()), std=float(x.std(ddof=1)) if n >= 2 else None,
               median=float(np.median(x)), min=float(x.min()), max=float(x.max()))
    if n < MIN_SEEDS_FOR_CI:
        out["ci_method"] = f"none (n={n} < {MIN_SEEDS_FOR_CI}: values shown)"
    elif method == "t":
        out["ci_low"], out["ci_high"] = t_interval(x, alpha)
        out["ci_method"] = f"t ({n - 1} df)"
    else:
        n_boot = check_n_boot(n_boot)
        out["ci_low"], out["ci_high"] = bca_interval(x, n_boot=n_boot, seed=seed, alpha=alpha)
        out["ci_method"] = f"BCa bootstrap (n_boot={n_boot})"
    return out
