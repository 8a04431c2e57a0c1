import time

import pytest

from arena.bench.timing import time_interleaved


def test_paired_ratios_measure_relative_cost():
    calls = []

    def fast():
        calls.append("fast")
        time.sleep(0.004)

    def slow():
        calls.append("slow")
        time.sleep(0.012)

    t = time_interleaved({"fast": fast, "slow": slow}, "fast", warmup=2, rounds=5)
    assert len(t["slow"].samples_s) == 5 and len(t["slow"].ratios) == 5
    assert t["fast"].ratio == 1.0
    assert 2.0 < t["slow"].ratio < 4.5
    assert t["slow"].p20_s <= t["slow"].median_s <= t["slow"].p80_s
    # Warm-up calls, then rounds whose order rotates (fast first, then slow first, ...).
    rounds = calls[4:]
    assert rounds[0:2] == ["fast", "slow"] and rounds[2:4] == ["slow", "fast"]


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError):
        time_interleaved({"a": lambda: None}, "b")
