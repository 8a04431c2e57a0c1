"""arena.stats against independent implementations: rliable, autorank and statsmodels.

The oracles are test-only dependencies (the ``test`` extra); each test is skipped where its
oracle is not installed. Bootstrap CIs cannot share random streams across implementations
(rliable draws through ``arch``), so CI endpoints are compared with a tolerance of 8 % of the
CI width: with 2,000 rliable replicates and 10,000 of ours the Monte-Carlo standard error of
an endpoint is about 1.7 % of the width, so 8 % is ~5 standard errors, while a bootstrap over
the wrong axis or a wrong aggregate misses by far more (checked below).
"""
import contextlib
import io
import warnings

import numpy as np
import pytest

import arena.stats as S

TOL = 0.08   # of the CI width


@pytest.fixture(scope="module")
def rliable():
    lib = pytest.importorskip("rliable.library")
    metrics = pytest.importorskip("rliable.metrics")
    return lib, metrics


def _rliable_intervals(rliable, per_cell, reps=2000):
    lib, metrics = rliable

    def agg(x):
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.get_interval_estimates(per_cell, agg, reps=reps, random_state=np.random.RandomState(0))


def test_iqm_and_stratified_bootstrap_match_rliable(rliable):
    rng = np.random.default_rng(1)
    # Skewed, task-dependent scores: 10 runs × 6 tasks, the shape rliable expects.
    per_cell = {"a": rng.normal(0.7, 0.2, (10, 6)) + np.linspace(-0.3, 0.3, 6),
                "b": rng.beta(2, 5, (10, 6))}
    points, intervals = _rliable_intervals(rliable, per_cell)
    ours = S.aggregate(per_cell)
    for cell in per_cell:
        o = ours[cell]
        assert o["iqm"] == pytest.approx(points[cell][0], rel=1e-12)
        assert o["mean"] == pytest.approx(points[cell][1], rel=1e-12)
        (iqm_lo, mean_lo), (iqm_hi, mean_hi) = intervals[cell]
        for lo, hi, ref_lo, ref_hi in ((o["iqm_ci_low"], o["iqm_ci_high"], iqm_lo, iqm_hi),
                                       (o["mean_ci_low"], o["mean_ci_high"], mean_lo, mean_hi)):
            width = ref_hi - ref_lo
            assert abs(lo - ref_lo) < TOL * width and abs(hi - ref_hi) < TOL * width, (cell, lo, hi, ref_lo, ref_hi)


def test_tolerance_detects_an_unstratified_bootstrap(rliable):
    # Pooled resampling (ignoring tasks) gives visibly wider CIs here: the tolerance above is
    # tight enough to tell the two schemes apart.
    rng = np.random.default_rng(2)
    m = rng.normal(0, 0.05, (8, 5)) + np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    _, intervals = _rliable_intervals(rliable, {"x": m})
    ref_lo, ref_hi = intervals["x"][:, 1]
    pooled = m.ravel()[np.random.default_rng(0).integers(0, m.size, (10_000, m.size))].mean(axis=1)
    lo, hi = np.quantile(pooled, [0.025, 0.975])
    assert (hi - lo) > 2 * (ref_hi - ref_lo)
    ours = S.aggregate({"x": m})["x"]
    assert abs((ours["mean_ci_high"] - ours["mean_ci_low"]) - (ref_hi - ref_lo)) < TOL * (ref_hi - ref_lo)


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


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(0).uniform(0, 0.2, 9)
    _, ref, _, _ = multitest.multipletests(p, alpha=0.05, method="holm")
    assert S.holm(list(p)) == pytest.approx(list(ref), rel=1e-12)
