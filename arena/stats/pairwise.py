"""Two cells on one setting: paired tests on matched seeds, the interval of the difference,
three-way decisions (better / worse / inconclusive), equivalence (TOST), P(A better), Holm."""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
from scipy import stats as st

from arena.stats.bootstrap import (ALPHA, MIN_SEEDS_FOR_CI, N_BOOT, check_alpha, check_n_boot,
                                   finite_array, make_rng, percentile_interval, t_interval)

#: Decisions of a difference test, from A's side.
DECISIONS = ("better", "worse", "inconclusive")
#: Decisions of an equivalence test.
EQUIVALENCE = ("equivalent", "not shown equivalent", "different")


def _p(value: Any) -> float | None:
    """A p-value from SciPy as a float, NaN → None."""
    v = float(value)
    return None if math.isnan(v) else v


def wilcoxon_mode(d: np.ndarray) -> str:
    """How ``scipy.stats.wilcoxon(..., method="auto")`` computes its p-value for differences ``d``.

    The rule of SciPy 1.17 (the version arena's tests run on; older SciPy may pick otherwise):
    more than 50 pairs → normal approximation; otherwise, no zero differences and no tied
    ``|d|`` → the exact null distribution; ties or zeros with at most 13 pairs → an exhaustive
    permutation test (exact given the ties); ties or zeros with 14–50 pairs → normal
    approximation (with tie correction).
    """
    n = len(d)
    if n > 50:
        return "approx (normal, n>50)"
    nonzero = np.abs(d[d != 0])
    zeros = len(nonzero) < n
    ties = len(np.unique(nonzero)) < len(nonzero)
    if not (zeros or ties):
        return "exact"
    if n <= 13:
        return "exact permutation (ties/zeros, n<=13)"
    return "approx (normal, ties/zeros, n>13)"


def paired(a: Sequence[float], b: Sequence[float], *, higher_is_better: bool, seed: int = 0,
           n_boot: int = N_BOOT, alpha: float = ALPHA) -> dict[str, Any]:
    """Compare cells A and B on one task over matched seeds (``a[i]`` and ``b[i]`` share seed i).

    Method
    ------
    ``d = a - b`` per seed; ``mean_diff`` is the mean of ``d`` (raw, not direction-adjusted);
    ``diff_ci_low``/``diff_ci_high`` its Student-t interval (n − 1 df, level ``1 - alpha``),
    only with ``n >= 5`` (below, the differences are to be shown: ``diffs``).

    - ``p_ttest``: ``scipy.stats.ttest_rel(a, b)``, two-sided (assumes roughly normal
      differences). None when ``n < 2`` or every difference is zero (the test is undefined;
      SciPy would return NaN). Constant non-zero differences give SciPy's p = 0.
    - ``p_wilcoxon``: ``scipy.stats.wilcoxon(a, b)``, two-sided, ``zero_method="wilcox"``
      (zero differences dropped), ``method="auto"``; ``wilcoxon_method`` says which mode SciPy
      used (:func:`wilcoxon_mode`). None when ``n == 0`` or every difference is zero (SciPy
      would return a meaningless 1.0 with a division warning). Note: with n = 5 seeds the
      smallest possible exact two-sided p is 0.0625, so Wilcoxon cannot reject at 0.05.
    - ``effect_size``: paired Cohen's d_z = mean(d) / sd(d, ddof=1), signed so that positive
      means A is better given the metric's direction (negated for lower-is-better metrics).
      0.0 when every difference is zero; ±inf when the differences are non-zero but constant;
      None when ``n < 2`` and the single difference is non-zero.
    - ``prob_improvement``: P(A better than B) over the matched pairs: the mean over seeds of
      1 (A better), 1/2 (tie) or 0 (B better), "better" following ``higher_is_better``. This
      is rliable's probability of improvement restricted to matched pairs (rliable compares
      all n×m run pairs of one task).
    - ``ci_low``/``ci_high``: its 95 % (``1 - alpha``) percentile bootstrap CI, resampling the
      pairs with replacement ``n_boot`` times (``numpy.random.default_rng(seed)``), when
      ``n >= 5``; with ``n < 5`` both are None (``ci_method = "none (n<5)"``).

    Raises ValueError when the lengths differ or a value is None, NaN or inf.
    """
    n_boot = check_n_boot(n_boot)
    alpha = check_alpha(alpha)
    x, y = finite_array(a, "a"), finite_array(b, "b")
    if len(x) != len(y):
        raise ValueError(f"paired() needs matched seeds: len(a)={len(x)} != len(b)={len(y)}")
    n = len(x)
    out: dict[str, Any] = {
        "n": n, "mean_a": None, "mean_b": None, "mean_diff": None, "diff_ci_low": None, "diff_ci_high": None,
        "diffs": [], "p_ttest": None,
        "p_wilcoxon": None, "wilcoxon_method": None, "effect_size": None,
        "prob_improvement": None, "ci_low": None, "ci_high": None, "ci_method": None,
        "higher_is_better": bool(higher_is_better),
    }
    if n == 0:
        return out
    d = x - y
    sign = 1.0 if higher_is_better else -1.0
    all_zero = bool(np.all(d == 0))
    out.update(mean_a=float(x.mean()), mean_b=float(y.mean()), mean_diff=float(d.mean()),
               diffs=[float(v) for v in d])
    if n >= MIN_SEEDS_FOR_CI:
        out["diff_ci_low"], out["diff_ci_high"] = t_interval(d, alpha)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if n >= 2 and not all_zero:
            out["p_ttest"] = _p(st.ttest_rel(x, y).pvalue)
        if not all_zero:
            out["p_wilcoxon"] = _p(st.wilcoxon(x, y).pvalue)
            out["wilcoxon_method"] = wilcoxon_mode(d)

    if all_zero:
        out["effect_size"] = 0.0
    elif n >= 2:
        sd = float(d.std(ddof=1))
        m = sign * float(d.mean())
        out["effect_size"] = m / sd if sd > 0 else math.copysign(math.inf, m)

    better = sign * d
    score = np.where(better > 0, 1.0, np.where(better < 0, 0.0, 0.5))
    out["prob_improvement"] = float(score.mean())
    if n >= MIN_SEEDS_FOR_CI:
        rng = make_rng(seed)
        reps = score[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
        out["ci_low"], out["ci_high"] = percentile_interval(reps, alpha)
        out["ci_method"] = f"percentile bootstrap over pairs (n_boot={n_boot})"
    else:
        out["ci_method"] = "none (n<5)"
    return out


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    Method: with m valid p-values sorted ascending p(1) <= … <= p(m), the adjusted value of
    p(i) is max over j <= i of min(1, (m - j + 1) · p(j)) — monotone in the raw p-values and
    capped at 1. Reject at level alpha where the adjusted p < alpha (this controls the
    family-wise error rate under any dependence).

    None and NaN entries (comparisons that could not be tested, e.g. identical results) are
    passed through unchanged (None stays None, NaN stays NaN) and do not count towards m.
    """
    out: list[float | None] = list(pvalues)
    valid = [(float(p), i) for i, p in enumerate(pvalues)
             if p is not None and not math.isnan(float(p))]
    for p, _ in valid:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], not {p}")
    valid.sort()
    m = len(valid)
    running = 0.0
    for rank, (p, i) in enumerate(valid):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def two_sample_p(a: np.ndarray, b: np.ndarray, *, paired: bool) -> float | None:
    """Two-sided t-test p-value of A vs B: ``ttest_rel`` when paired, else Welch's ``ttest_ind``.

    Degenerate cases: None when a group has fewer than two values (paired: fewer than two
    pairs); when both groups are constant (unpaired) or all differences are equal (paired),
    1.0 if the means are equal and 0.0 otherwise.
    """
    if paired:
        if len(a) != len(b):
            raise ValueError("paired comparison needs equal-length, seed-aligned scores")
        if len(a) < 2:
            return None
        d = a - b
        if np.all(d == d[0]):
            return 1.0 if d[0] == 0 else 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return _p(st.ttest_rel(a, b).pvalue)
    if len(a) < 2 or len(b) < 2:
        return None
    if np.all(a == a[0]) and np.all(b == b[0]):
        return 1.0 if a[0] == b[0] else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _p(st.ttest_ind(a, b, equal_var=False).pvalue)


def one_sample_p(x: Sequence[float], mu: float) -> float | None:
    """Two-sided one-sample t-test p-value of mean(x) = mu (``scipy.stats.ttest_1samp``).

    None below two values; for constant values 0.0 if they differ from mu, else 1.0."""
    arr = finite_array(x)
    if len(arr) < 2:
        return None
    if np.all(arr == arr[0]):
        return 1.0 if arr[0] == mu else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _p(st.ttest_1samp(arr, mu).pvalue)


def tost_p(d: Sequence[float], margin: float) -> float | None:
    """Two one-sided tests (TOST) of |mean(d)| < margin on paired differences ``d``.

    p = max(p_low, p_high), the one-sided t-test p-values (n − 1 df) of mean(d) > −margin and
    mean(d) < margin; equivalence is shown at level alpha when p < alpha, i.e. when the
    (1 − 2·alpha) t-interval of the mean difference lies inside (−margin, margin) — the same
    as ``statsmodels.stats.weightstats.ttost_paired``. None below two differences; constant
    differences give 0.0 inside the margin and 1.0 outside. Raises ValueError for a margin <= 0.
    """
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, not {margin!r}")
    x = finite_array(d, "differences")
    n = len(x)
    if n < 2:
        return None
    if np.all(x == x[0]):
        return 0.0 if abs(x[0]) < margin else 1.0
    se = float(x.std(ddof=1)) / math.sqrt(n)
    m = float(x.mean())
    p_low = float(st.t.sf((m + margin) / se, n - 1))
    p_high = float(st.t.cdf((m - margin) / se, n - 1))
    return max(p_low, p_high)


def decide(mean_diff: float | None, p_adjusted: float | None, *, higher_is_better: bool,
           alpha: float = ALPHA) -> str:
    """A against B in words: ``better`` or ``worse`` when the (Holm-adjusted) two-sided p-value
    of their difference is below alpha, in the direction of the mean difference; otherwise
    ``inconclusive`` (which is not "tied": see :func:`equivalence`)."""
    if p_adjusted is None or mean_diff is None or p_adjusted >= alpha or mean_diff == 0:
        return "inconclusive"
    return "better" if (mean_diff > 0) == bool(higher_is_better) else "worse"


def equivalence(p_tost_adjusted: float | None, p_diff_adjusted: float | None, *, alpha: float = ALPHA) -> str:
    """A "no difference" claim in words: ``equivalent`` when TOST shows the difference inside
    the margin; else ``different`` when the difference test rejects; else ``not shown
    equivalent``. Both p-values are meant Holm-adjusted over their families."""
    if p_tost_adjusted is not None and p_tost_adjusted < alpha:
        return "equivalent"
    if p_diff_adjusted is not None and p_diff_adjusted < alpha:
        return "different"
    return "not shown equivalent"
