"""arena.stats against independent implementations: rliable, autorank and statsmodels.

The oracles are test-only dependencies (the ``test`` extra); each test is skipped where its
oracle is not installed. Bootstrap CIs cannot share random streams across implementations
(rliable draws through NumPy's global generator), so CI endpoints are compared with a
tolerance of 8 % of the CI width: with 2,000 rliable replicates and 10,000 of ours the
Monte-Carlo standard error of an endpoint is about 1.7 % of the width, so 8 % is ~5 standard
errors, while a bootstrap over the wrong axis or a wrong aggregate misses by far more
(checked below). Deterministic statistics are compared exactly (to rounding).
"""
import contextlib
import io
import math
import warnings

import numpy as np
import pytest
from scipy import stats as st

import arena.stats as S

TOL = 0.08   # of the CI width


@pytest.fixture(scope="module")
def rliable():
    lib = pytest.importorskip("rliable.library")
    metrics = pytest.importorskip("rliable.metrics")
    return lib, metrics


@pytest.fixture(scope="module")
def weightstats():
    return pytest.importorskip("statsmodels.stats.weightstats")


@contextlib.contextmanager
def _global_numpy_seed(seed):
    """rliable's stratified bootstraps draw with ``np.random.choice`` (the global generator),
    whatever ``random_state`` says: seed it for reproducible oracles, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        np.random.set_state(state)


def _rliable_iqm(rliable, per_cell, reps=2000):
    lib, metrics = rliable

    def agg(x):
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    with _global_numpy_seed(0):
        return lib.get_interval_estimates(per_cell, agg, reps=reps)


def _close(lo, hi, ref_lo, ref_hi, tol=TOL):
    width = ref_hi - ref_lo
    return abs(lo - ref_lo) < tol * width and abs(hi - ref_hi) < tol * width


# -- IQM and its stratified bootstrap: rliable ----------------------------------------------
def test_iqm_and_stratified_bootstrap_match_rliable(rliable):
    rng = np.random.default_rng(1)
    # Skewed, task-dependent scores: 10 runs × 6 tasks, the shape rliable expects.
    per_cell = {"a": rng.normal(0.7, 0.2, (10, 6)) + np.linspace(-0.3, 0.3, 6),
                "b": rng.beta(2, 5, (10, 6))}
    points, intervals = _rliable_iqm(rliable, per_cell)
    ours = S.aggregate(per_cell)
    for cell in per_cell:
        o = ours[cell]
        assert o["iqm"] == pytest.approx(points[cell][0], rel=1e-12)
        assert o["mean"] == pytest.approx(points[cell][1], rel=1e-12)
        (iqm_lo, _), (iqm_hi, _) = intervals[cell]
        assert _close(o["iqm_ci_low"], o["iqm_ci_high"], iqm_lo, iqm_hi), (cell, o, iqm_lo, iqm_hi)


def test_tolerance_detects_an_unstratified_bootstrap(rliable):
    # Pooled resampling (ignoring tasks) gives a much wider IQM CI here: the tolerance above
    # is tight enough to tell the two schemes apart.
    m = np.random.default_rng(2).normal(0, 0.05, (8, 5)) + np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    _, intervals = _rliable_iqm(rliable, {"x": m})
    ref_lo, ref_hi = intervals["x"][:, 0]
    pooled = st.trim_mean(m.ravel()[np.random.default_rng(0).integers(0, m.size, (10_000, m.size))], 0.25, axis=1)
    lo, hi = np.quantile(pooled, [0.025, 0.975])
    assert (hi - lo) > 2 * (ref_hi - ref_lo) and not _close(lo, hi, ref_lo, ref_hi)
    ours = S.aggregate({"x": m})["x"]
    assert _close(ours["iqm_ci_low"], ours["iqm_ci_high"], ref_lo, ref_hi)


# -- the mean over tasks: Welch–Satterthwaite t-interval ------------------------------------
def test_mean_interval_on_equal_variances_is_the_pooled_anova_interval():
    """Equal runs per task and equal sample variances: the Welch–Satterthwaite df become the
    pooled T(n − 1) and the interval is the one-way ANOVA (fixed task effects) t-interval of
    the mean of the task means,

        ȳ ± t(1 − α/2, N − T) · s_p / sqrt(n T),   s_p² = Σ_t Σ_i (y_ti − ȳ_t)² / (N − T),

    also statsmodels' OLS on task dummies, contrast (1/T, …, 1/T)."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    T, n = 6, 5
    z = rng.normal(0, 0.1, n)
    mu = rng.uniform(-0.5, 0.8, T)
    # Every task: the same residuals permuted and sign-flipped, so equal sample variances.
    cols = [mu[t] + rng.choice([-1, 1]) * rng.permutation(z) for t in range(T)]
    lo, hi, df = S.mean_interval(cols)
    assert df == pytest.approx(T * (n - 1), rel=1e-12)
    y = np.concatenate(cols)
    sp = math.sqrt(sum(((c - c.mean()) ** 2).sum() for c in cols) / (T * n - T))
    half = st.t.ppf(0.975, T * n - T) * sp / math.sqrt(n * T)
    assert (lo, hi) == pytest.approx((y.mean() - half, y.mean() + half), rel=1e-12)
    X = np.kron(np.eye(T), np.ones((n, 1)))
    fit = sm.OLS(y, X).fit()
    ref = fit.t_test(np.full((1, T), 1.0 / T)).conf_int(alpha=0.05)[0]
    assert (lo, hi) == pytest.approx(tuple(ref), rel=1e-10)
    for alpha in (0.1, 0.01):
        assert S.mean_interval(cols, alpha)[:2] == pytest.approx(
            tuple(fit.t_test(np.full((1, T), 1.0 / T)).conf_int(alpha=alpha)[0]), rel=1e-10)


def test_mean_interval_unequal_variances_is_never_narrower_than_pooled():
    # Equal n: the SE equals the pooled one, the WS df are at most T(n − 1).
    rng = np.random.default_rng(4)
    for _ in range(50):
        T, n = int(rng.integers(2, 8)), int(rng.integers(2, 10))
        cols = [rng.normal(0, sd, n) for sd in rng.uniform(0.01, 1.0, T)]
        lo, hi, df = S.mean_interval(cols)
        sp = math.sqrt(np.mean([np.var(c, ddof=1) for c in cols]))
        pooled_half = st.t.ppf(0.975, T * (n - 1)) * sp / math.sqrt(n * T)
        assert df <= T * (n - 1) * (1 + 1e-12) and (hi - lo) / 2 >= pooled_half * (1 - 1e-12)


def test_mean_interval_of_two_tasks_is_half_the_welch_difference_interval(weightstats):
    # Var(ȳ1/2 + ȳ2/2) = Var(ȳ1 − ȳ2)/4 and the Satterthwaite df are the same for both.
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.2, 0.05, 6), rng.normal(0.7, 0.3, 9)
    lo, hi, df = S.mean_interval([a, b])
    cm = weightstats.CompareMeans(weightstats.DescrStatsW(a), weightstats.DescrStatsW(b))
    d_lo, d_hi = cm.tconfint_diff(usevar="unequal")
    assert (hi - lo) == pytest.approx((d_hi - d_lo) / 2, rel=1e-10)
    assert df == pytest.approx(st.ttest_ind(a, b, equal_var=False).df, rel=1e-10)
    assert (lo + hi) / 2 == pytest.approx((a.mean() + b.mean()) / 2)


# -- t-intervals and tests: statsmodels -----------------------------------------------------
def test_t_intervals_match_statsmodels(weightstats):
    x = np.array([0.31, 0.35, 0.29, 0.40, 0.33, 0.37, 0.30])
    s = S.summarise(x, alpha=0.1)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(weightstats.DescrStatsW(x).tconfint_mean(alpha=0.1), rel=1e-12)
    a = [0.350, 0.338, 0.361, 0.347, 0.352, 0.340]
    b = [0.221, 0.310, 0.120, 0.255, 0.199, 0.300]
    r = S.paired(a, b, higher_is_better=True, n_boot=100)
    ref = weightstats.DescrStatsW(np.subtract(a, b)).tconfint_mean()
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx(ref, rel=1e-12)
    assert S.one_sample_p(x, 0.3) == pytest.approx(weightstats.DescrStatsW(x).ttest_mean(0.3)[1], rel=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.004, -0.004, 0.02, -0.02])
@pytest.mark.parametrize("margin", [0.002, 0.005, 0.01, 0.03, 0.1])
def test_tost_matches_statsmodels_ttost_paired(weightstats, shift, margin):
    rng = np.random.default_rng(6)
    b = rng.normal(0.5, 0.05, 8)
    a = b + shift + rng.normal(0, 0.006, 8)
    ref = weightstats.ttost_paired(a, b, -margin, margin)[0]
    assert S.tost_p(a - b, margin) == pytest.approx(ref, rel=1e-10, abs=1e-300)


# -- probability of improvement and performance profiles: rliable ---------------------------
@pytest.mark.parametrize("shape_x,shape_y,seed", [((5, 4), (5, 4), 0), ((8, 3), (6, 3), 1), ((3, 1), (10, 1), 2)])
def test_probability_of_improvement_matches_rliable(rliable, shape_x, shape_y, seed):
    _, metrics = rliable
    rng = np.random.default_rng(seed)
    # Scores rounded to 0.1 so that many run pairs tie; task 0 identical in x and y when shapes match.
    x = np.round(rng.normal(0.3, 0.3, shape_x), 1)
    y = np.round(rng.normal(0.2, 0.3, shape_y), 1)
    if shape_x == shape_y:
        y[:, 0] = x[:, 0]
    ours = S.probability_of_improvement(x, y, n_boot=200)
    assert ours["p"] == pytest.approx(metrics.probability_of_improvement(x, y), rel=1e-12)
    assert S.probability_of_improvement(y, x, n_boot=200)["p"] == pytest.approx(metrics.probability_of_improvement(y, x))


def test_probability_of_improvement_interval_near_rliable(rliable):
    lib, metrics = rliable
    rng = np.random.default_rng(9)
    x, y = rng.normal(0.3, 0.2, (8, 3)), rng.normal(0.2, 0.2, (6, 3))
    with _global_numpy_seed(0):
        _, ci = lib.get_interval_estimates({"xy": [x, y]}, metrics.probability_of_improvement, reps=800)
    ref_lo, ref_hi = np.ravel(ci["xy"])
    ours = S.probability_of_improvement(x, y)
    # Loosely: fewer rliable replicates and a discrete statistic.
    assert _close(ours["ci_low"], ours["ci_high"], ref_lo, ref_hi, tol=0.12), (ours, ref_lo, ref_hi)


def test_performance_profile_matches_rliable_score_distribution(rliable):
    lib, _ = rliable
    rng = np.random.default_rng(10)
    taus = np.linspace(-1.0, 1.0, 21)
    per_cell = {"a": np.clip(rng.normal(0.4, 0.4, (7, 5)), -1, 1), "b": np.round(rng.uniform(-1, 1, (5, 5)), 1)}
    for m in per_cell.values():
        assert S.performance_profile(m, taus) == pytest.approx(list(lib.score_distributions(m, taus)), abs=1e-12)
    with _global_numpy_seed(0):
        profiles, _ = lib.create_performance_profile(per_cell, taus, reps=50)
    for cell, m in per_cell.items():
        assert S.performance_profile(m, taus) == pytest.approx(list(profiles[cell]), abs=1e-12)


# -- Friedman + Nemenyi: autorank -----------------------------------------------------------
def _autorank(df, order):
    autorank = pytest.importorskip("autorank")
    util = pytest.importorskip("autorank._util")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = autorank.autorank(df, alpha=0.05, verbose=False, order=order, force_mode="nonparametric")
    _, names, groups = util.get_sorted_rank_groups(res, reverse=False)
    return res, {frozenset(names[i:j + 1]) for i, j in groups}


@pytest.mark.parametrize("higher_is_better", [True, False])
@pytest.mark.parametrize("seed,n,offsets", [
    (3, 12, np.linspace(0, 2.5, 6)),   # overlapping cliques
    (4, 7, np.linspace(0, 3.0, 5)),    # few blocks, wide CD
    (5, 10, np.linspace(0, 4.0, 8)),
    (6, 15, [0, 0, 0, 0, 5.0]),        # one cell different from all others: in no clique
    (7, 8, [0, 0, 0, 0]),              # Friedman does not reject
])
def test_friedman_nemenyi_matches_autorank(seed, n, offsets, higher_is_better):
    pd = pytest.importorskip("pandas")
    k = len(offsets)
    m = np.random.default_rng(seed).normal(0, 1, (n, k)) + np.asarray(offsets)
    if not higher_is_better:
        m = -m
    cells = [f"cell{i}" for i in range(k)]
    res, groups = _autorank(pd.DataFrame(m, columns=cells), "descending" if higher_is_better else "ascending")
    assert res.omnibus == "friedman" and res.posthoc == "nemenyi"
    ours = S.friedman_nemenyi(m, cells, higher_is_better=higher_is_better)
    assert ours["p_value"] == pytest.approx(res.pvalue, rel=1e-9)
    for c in cells:
        assert ours["mean_ranks"][c] == pytest.approx(res.rankdf.loc[c, "meanrank"])
    # autorank uses statsmodels' qsturng table interpolation; SciPy integrates exactly.
    assert ours["cd"] == pytest.approx(res.cd, rel=1e-4)
    assert {frozenset(g) for g in ours["cliques"]} == groups
    if ours["reject"]:
        assert {frozenset(g) for g in ours["groups"]} == groups
    # The rank intervals: a cell in a clique with the best cell may rank first.
    iv = S.cd_rank_intervals(ours["mean_ranks"], ours["cd"], ours["reject"])
    best = ours["order"][0]
    for c in cells:
        together = any(best in g and c in g for g in groups) or not ours["reject"]
        assert (iv[c][0] == 1) == (together or c == best)


# -- Holm: statsmodels ----------------------------------------------------------------------
@pytest.mark.parametrize("seed,m", [(0, 9), (1, 2), (2, 15), (3, 1)])
def test_holm_matches_statsmodels(seed, m):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(seed).uniform(0, 0.2, m)
    reject, ref, _, _ = multitest.multipletests(p, alpha=0.05, method="holm")
    ours = S.holm(list(p))
    assert ours == pytest.approx(list(ref), rel=1e-12)
    assert [o < 0.05 for o in ours] == list(reject)
