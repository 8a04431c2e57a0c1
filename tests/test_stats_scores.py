"""arena.stats.scores: fixed anchors (chance → 0, solved → 1), log scales, failures at the floor."""
import math

import numpy as np
import pytest

import arena.stats as S
from arena.stats.scores import LOG_FLOOR

# (higher_is_better, scale, chance, solved): one of each kind of metric arena's tasks declare.
ANCHOR_CASES = [
    pytest.param(True, "linear", 0.0625, 1.0, id="accuracy-16-classes"),
    pytest.param(False, "linear", 0.167, 0.0, id="error-rate"),
    pytest.param(False, "log", 1.0, 1e-4, id="mse-log"),
    pytest.param(True, "log", 1e-3, 10.0, id="higher-log"),
]


def _g(v, scale):
    return math.log10(v) if scale == "log" else v


# -- normalise ------------------------------------------------------------------------------
@pytest.mark.parametrize("hib,scale,chance,solved", ANCHOR_CASES)
def test_normalise_is_0_at_chance_and_1_at_solved(hib, scale, chance, solved):
    kw = {"chance": chance, "solved": solved, "higher_is_better": hib, "scale": scale}
    assert S.normalise(chance, **kw) == pytest.approx(0.0, abs=1e-12)
    assert S.normalise(solved, **kw) == pytest.approx(1.0, abs=1e-12)
    a = S.Anchors(hib, scale, chance, solved)
    assert a.problem is None
    assert a.normalise(chance) == pytest.approx(0.0, abs=1e-12) and a.normalise(solved) == pytest.approx(1.0)
    # Half-way on the analysis scale (arithmetic or geometric midpoint) scores 1/2.
    mid = math.sqrt(chance * solved) if scale == "log" else (chance + solved) / 2
    assert S.normalise(mid, **kw) == pytest.approx(0.5)
    # Larger is better in either direction; past solved > 1, worse than chance < 0, not clipped.
    if scale == "log":
        better, worse = (solved * 10, chance / 10) if hib else (solved / 10, chance * 10)
    else:
        better, worse = (solved + 0.5, chance - 0.5) if hib else (solved - 0.5, chance + 0.5)
    assert S.normalise(better, **kw) > 1.0 and S.normalise(worse, **kw) < 0.0
    # The formula: (g(v) − g(chance)) / (g(solved) − g(chance)).
    for v in (mid, better, worse):
        ref = (_g(v, scale) - _g(chance, scale)) / (_g(solved, scale) - _g(chance, scale))
        assert S.normalise(v, **kw) == pytest.approx(ref, rel=1e-12)


def test_log_scale_compares_by_factors():
    # MSE: chance 1, solved 1e-4 (four decades). Ten times smaller error is worth 1/4 anywhere,
    # also past solved and worse than chance.
    kw = {"chance": 1.0, "solved": 1e-4, "higher_is_better": False, "scale": "log"}
    for v in (1e3, 1.0, 3e-2, 1e-3, 1e-6, 5e-9):
        assert S.normalise(v / 10, **kw) - S.normalise(v, **kw) == pytest.approx(0.25, rel=1e-12)
        assert S.normalise(v / 2, **kw) - S.normalise(v, **kw) == pytest.approx(math.log10(2) / 4, rel=1e-12)
    # On a linear scale the same factor is worth very different amounts.
    lin = {"chance": 1.0, "solved": 1e-4, "higher_is_better": False, "scale": "linear"}
    assert S.normalise(1e-2, **lin) - S.normalise(1e-1, **lin) > 50 * (S.normalise(1e-4, **lin) - S.normalise(1e-3, **lin))


def test_transform_and_log_floor():
    a = S.Anchors(False, "log", 1.0, 1e-4)
    assert a.transform(1e-3) == pytest.approx(-3.0)
    assert a.transform(0.0) == a.transform(-5.0) == math.log10(LOG_FLOOR)   # no log of 0: floored
    assert S.Anchors(True, "linear").transform(-5.0) == -5.0


def test_normalise_direction_flip():
    # A lower-is-better metric reads like the negated higher-is-better one.
    for v in (0.0, 0.05, 0.1, 0.3):
        assert S.normalise(v, chance=0.167, solved=0.0, higher_is_better=False) == pytest.approx(
            S.normalise(-v, chance=-0.167, solved=0.0, higher_is_better=True))


@pytest.mark.parametrize("anchors,why", [
    (S.Anchors(True, "linear", 0.5, 0.5), "equals chance"),
    (S.Anchors(True, "linear", 0.167, 0.0), "wrong side"),
    (S.Anchors(False, "linear", 0.0, 0.167), "wrong side"),
    (S.Anchors(False, "log", 1.0, 0.0), "positive"),
    (S.Anchors(True, "log", -1.0, 10.0), "positive"),
    (S.Anchors(True, "linear", float("nan"), 1.0), "not finite"),
    (S.Anchors(True, "linear", 0.0, float("inf")), "not finite"),
    (S.Anchors(True, "sqrt", 0.0, 1.0), "unknown scale"),
    (S.Anchors(True, "linear", None, 1.0), "no chance level"),
    (S.Anchors(True, "linear", 0.1, None), "no solved level"),
    (S.Anchors(True, "linear"), "no chance and solved"),
])
def test_anchors_that_cannot_normalise(anchors, why):
    assert why in anchors.problem
    with pytest.raises(ValueError, match="cannot normalise"):
        anchors.normalise(0.3)
    if anchors.chance is not None and anchors.solved is not None:
        with pytest.raises(ValueError):
            S.normalise(0.3, chance=anchors.chance, solved=anchors.solved,
                        higher_is_better=anchors.higher_is_better, scale=anchors.scale)


# -- score_runs -----------------------------------------------------------------------------
ACC = S.Anchors(True, "linear", 0.0625, 1.0)


def test_score_runs_failures_at_the_floor_pending_left_out():
    values = [0.9, None, 0.5, float("nan"), None, 0.01, 0.7, 0.3, float("inf")]
    statuses = ["done", "failed", "done", "done", "running", "done", "diverged", "planned", "done"]
    r = S.score_runs(values, statuses, ACC)
    s = [(v - 0.0625) / 0.9375 for v in (0.9, 0.5, 0.01)]
    # done without a finite value is a failure; a diverged run's value is ignored.
    assert r["scores"] == pytest.approx([s[0], -1.0, s[1], -1.0, s[2], -1.0, -1.0])
    assert r["index"] == [0, 1, 2, 3, 5, 6, 8]
    assert r["finished"] == [0.9, 0.5, 0.01]
    assert (r["n"], r["n_done"], r["n_failed"], r["n_diverged"], r["n_excluded"]) == (7, 3, 3, 1, 2)
    assert r["failure_rate"] == pytest.approx(4 / 7)
    assert r["scored"] and r["note"] is None
    assert -1.0 < r["scores"][4] < 0.0   # a finished run a little worse than chance is not floored


def test_score_runs_floors_finished_runs_far_worse_than_chance():
    err = S.Anchors(False, "linear", 0.167, 0.0)
    r = S.score_runs([0.9, 0.1, None], ["done", "done", "diverged"], err)
    assert r["scores"] == pytest.approx([-1.0, (0.1 - 0.167) / -0.167, -1.0])
    assert S.FLOOR == -1.0 and S.CEILING == 1.0


@pytest.mark.parametrize("hib,scale,chance,solved", ANCHOR_CASES)
def test_failures_never_score_above_a_finished_run(hib, scale, chance, solved):
    a = S.Anchors(hib, scale, chance, solved)
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        # Values anywhere from far worse than chance to past solved (log: over decades).
        lo, hi = sorted((_g(chance, scale), _g(solved, scale)))
        span = hi - lo
        raw = rng.uniform(lo - 5 * span, hi + span, n)
        values = list(10 ** raw) if scale == "log" else list(raw)
        statuses = list(rng.choice(["done", "done", "failed", "diverged", "running"], n))
        r = S.score_runs(values, statuses, a)
        fin = [sc for sc, i in zip(r["scores"], r["index"]) if statuses[i] == "done"]
        fail = [sc for sc, i in zip(r["scores"], r["index"]) if statuses[i] != "done"]
        assert all(sc == S.FLOOR for sc in fail)
        assert all(sc >= S.FLOOR for sc in fin)
        assert len(r["scores"]) == r["n"] == n - statuses.count("running")


def test_score_runs_all_failed_and_nothing_yet():
    r = S.score_runs([None] * 5, ["failed"] * 3 + ["diverged"] * 2, ACC)
    assert r["scores"] == [-1.0] * 5 and r["failure_rate"] == 1.0 and r["finished"] == []
    empty = S.score_runs([None, None], ["planned", "interrupted"], ACC)
    assert empty["n"] == 0 and empty["scores"] == [] and empty["failure_rate"] is None and empty["n_excluded"] == 2


@pytest.mark.parametrize("anchors", [S.Anchors(True, "linear"), S.Anchors(True, "linear", 0.167, 0.0),
                                     S.Anchors(False, "log", chance=1.0)])
def test_score_runs_without_usable_anchors_leaves_failures_out_and_counts_them(anchors):
    values = [0.2, None, 0.05, 0.4, None]
    statuses = ["done", "failed", "done", "done", "diverged"]
    r = S.score_runs(values, statuses, anchors)
    assert not r["scored"] and anchors.problem in r["note"] and "left out" in r["note"]
    # Finished values on the analysis scale, in input order; failures not scored but counted.
    assert r["scores"] == pytest.approx([anchors.transform(v) for v in (0.2, 0.05, 0.4)])
    assert r["index"] == [0, 2, 3] and r["finished"] == [0.2, 0.05, 0.4]
    assert (r["n"], r["n_done"], r["n_failed"], r["n_diverged"]) == (5, 3, 1, 1)
    assert r["failure_rate"] == pytest.approx(2 / 5)


def test_score_runs_refuses_bad_input():
    with pytest.raises(ValueError, match="len"):
        S.score_runs([0.1, 0.2], ["done"], ACC)
    with pytest.raises(ValueError, match="status"):
        S.score_runs([0.1], ["exploded"], ACC)
    with pytest.raises(ValueError, match="status"):
        S.score_runs([0.1], ["DONE"], ACC)
    assert set(S.RESULT_STATUSES) == {"done", "failed", "diverged"}
    assert set(S.PENDING_STATUSES) == {"planned", "running", "interrupted"}


# -- cross_task / centre --------------------------------------------------------------------
def test_cross_task_clips_to_floor_and_ceiling():
    out = S.cross_task([-3.0, -1.0, -0.2, 0.5, 1.0, 7.0, float("nan")])
    assert list(out[:-1]) == [-1.0, -1.0, -0.2, 0.5, 1.0, 1.0] and math.isnan(out[-1])
    m = S.cross_task(np.array([[2.0, -2.0], [0.3, 0.4]]))
    assert m.shape == (2, 2) and m.max() == 1.0 and m.min() == -1.0


def test_centre_mean_or_geometric_mean():
    assert S.centre([0.2, 0.4, 0.9], "linear") == pytest.approx(0.5)
    assert S.centre([1e-2, 1e-4], "log") == pytest.approx(1e-3)
    assert S.centre([0.0, 1e-4], "log") == pytest.approx(math.sqrt(LOG_FLOOR * 1e-4))
    assert S.centre([], "linear") is None and S.centre([], "log") is None
