"""Paired, interleaved timing of callables, per ../shared/specs/cpu-performance.md §9.

Absolute times on a shared 2-core machine drift by up to 1.5×; ratios of competitors timed in
the same round do not. So every competitor is called once per round, in an order rotated each
round, and the figure of merit is the median over rounds of t(variant) / t(baseline).
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Timing:
    name: str
    first_call_s: float  # warm-up cost: compilation, scripting, allocator growth
    samples_s: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # per round, against the baseline

    @staticmethod
    def _q(values: list[float], q: float) -> float:
        s = sorted(values)
        if not s:
            return float("nan")
        pos = q * (len(s) - 1)
        lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples_s)

    @property
    def p20_s(self) -> float:
        return self._q(self.samples_s, 0.2)

    @property
    def p80_s(self) -> float:
        return self._q(self.samples_s, 0.8)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else float("nan")

    @property
    def ratio_p20(self) -> float:
        return self._q(self.ratios, 0.2)

    @property
    def ratio_p80(self) -> float:
        return self._q(self.ratios, 0.8)


def time_interleaved(fns: dict[str, Callable[[], None]], baseline: str, *, warmup: int = 5, rounds: int = 9,
                     sync: Callable[[], None] | None = None, prepare: Callable[[str], None] | None = None
                     ) -> dict[str, Timing]:
    """Time each callable ``rounds`` times, round-robin with rotating order.

    ``prepare(name)`` runs before every call, outside the timer (e.g. to drop gradients);
    ``sync`` runs before each clock read (``torch.cuda.synchronize`` on GPU).
    """
    if baseline not in fns:
        raise ValueError(f"baseline {baseline!r} is not among the timed callables")
    sync = sync or (lambda: None)
    prepare = prepare or (lambda name: None)
    out: dict[str, Timing] = {}
    for name, fn in fns.items():
        prepare(name)
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        out[name] = Timing(name, time.perf_counter() - t0)
        for _ in range(warmup - 1):
            prepare(name)
            fn()
        sync()
    names = list(fns)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        this_round: dict[str, float] = {}
        for name in order:
            prepare(name)
            sync()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fns[name]()
                sync()
                this_round[name] = time.perf_counter() - t0
            finally:
                gc.enable()
            out[name].samples_s.append(this_round[name])
        for name in names:
            out[name].ratios.append(this_round[name] / this_round[baseline])
    return out
