"""From a run's metric to a score: the metric's scale, fixed anchors, and failures at the floor.

A task declares for its main metric a direction, a scale (``linear`` or ``log``), a chance
level and a solved level. The **normalised score** of a value v is

    s(v) = (g(v) − g(chance)) / (g(solved) − g(chance)),   g = identity (linear) or log10 (log)

so chance → 0 and solved → 1 in either direction, larger is better, and error metrics are
compared by factors. It depends on the task only, never on which cells are on the board.

- On one setting a finished run scores ``max(s, FLOOR)``; a failed or diverged run (or a
  ``done`` run without a finite value) scores ``FLOOR``: it never outranks a finished run.
- Across tasks the score is also capped at ``CEILING`` (solved is solved): every task weighs
  at most 2 units, whatever its metric's range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

#: The lowest score: every failed or diverged run, and finished runs worse than this.
FLOOR = -1.0
#: The highest cross-task score: the solved level.
CEILING = 1.0
#: Error values below this are taken as this before the log (an exact zero has no log).
LOG_FLOOR = 1e-12
#: Statuses that are results; ``failed`` and ``diverged`` score at the floor.
RESULT_STATUSES = ("done", "failed", "diverged")
#: Statuses that are not (yet) results: left out and counted in ``n_excluded``.
PENDING_STATUSES = ("planned", "running", "interrupted")


@dataclass(frozen=True)
class Anchors:
    """How one metric of one task setting is scored: direction, scale, chance and solved level."""

    higher_is_better: bool
    scale: str = "linear"
    chance: float | None = None
    solved: float | None = None

    def transform(self, value: float) -> float:
        """The value on the metric's analysis scale: itself, or log10 (floored at LOG_FLOOR)."""
        v = float(value)
        return math.log10(max(v, LOG_FLOOR)) if self.scale == "log" else v

    @property
    def problem(self) -> str | None:
        """Why values cannot be normalised, or None when they can."""
        if self.scale not in ("linear", "log"):
            return f"unknown scale {self.scale!r}"
        if self.chance is None or self.solved is None:
            missing = " and ".join(n for n, v in (("chance", self.chance), ("solved", self.solved)) if v is None)
            return f"the task declares no {missing} level"
        if not (math.isfinite(self.chance) and math.isfinite(self.solved)):
            return "chance or solved level is not finite"
        if self.scale == "log" and (self.chance <= 0 or self.solved <= 0):
            return "a log-scale metric needs positive chance and solved levels"
        if self.chance == self.solved:
            return "solved level equals chance"
        if (self.solved > self.chance) != bool(self.higher_is_better):
            return f"solved level {self.solved:g} lies on the wrong side of chance {self.chance:g}"
        return None

    def normalise(self, value: float) -> float:
        """s(v): chance → 0, solved → 1 on the metric's scale; not clipped."""
        if self.problem:
            raise ValueError(f"cannot normalise: {self.problem}")
        c, s = self.transform(self.chance), self.transform(self.solved)
        return (self.transform(value) - c) / (s - c)


def normalise(value: float, *, chance: float, solved: float, higher_is_better: bool,
              scale: str = "linear") -> float:
    """Normalised score of ``value`` (chance → 0, solved → 1, larger is better); not clipped.

    ``(g(value) − g(chance)) / (g(solved) − g(chance))`` with g the identity for ``scale =
    "linear"`` and log10 for ``"log"``. Raises ValueError when the anchors cannot normalise
    (equal, solved on the wrong side of chance, non-positive on a log scale)."""
    return Anchors(bool(higher_is_better), scale, float(chance), float(solved)).normalise(value)


def centre(values: Sequence[float], scale: str) -> float | None:
    """The typical value in the metric's units: the mean, or the geometric mean on a log scale."""
    if not len(values):
        return None
    x = np.asarray(values, dtype=float)
    if scale == "log":
        return float(10 ** np.mean(np.log10(np.maximum(x, LOG_FLOOR))))
    return float(x.mean())


def score_runs(values: Sequence[float | None], statuses: Sequence[str], anchors: Anchors) -> dict[str, Any]:
    """One cell's runs on one setting as scores, failures included.

    Returns ``scores`` (one per result run, in input order), ``finished`` (the metric values of
    the runs that finished with a finite value), ``index`` (the input positions the scores
    come from), the counts ``n``, ``n_done``, ``n_failed`` (``failed`` plus ``done`` without a
    finite value), ``n_diverged``, ``n_excluded`` (pending), ``failure_rate`` and ``scored``.

    With usable anchors (``scored`` True) a finished run scores ``max(s(v), FLOOR)`` and a
    failure ``FLOOR``. Without them (``scored`` False, ``note`` says why) the scores are the
    finished values on the analysis scale and failures are left out of them (but counted).
    Raises ValueError for unequal lengths or an unknown status.
    """
    if len(values) != len(statuses):
        raise ValueError(f"len(values)={len(values)} != len(statuses)={len(statuses)}")
    problem = anchors.problem
    scores: list[float] = []
    finished: list[float] = []
    index: list[int] = []
    n_done = n_failed = n_diverged = n_excluded = 0
    for i, (v, s) in enumerate(zip(values, statuses)):
        if s in PENDING_STATUSES:
            n_excluded += 1
            continue
        if s not in RESULT_STATUSES:
            raise ValueError(f"unknown run status {s!r}")
        ok = s == "done" and v is not None and math.isfinite(float(v))
        if ok:
            n_done += 1
            finished.append(float(v))
            scores.append(anchors.transform(v) if problem else max(anchors.normalise(v), FLOOR))
            index.append(i)
            continue
        if s == "diverged":
            n_diverged += 1
        else:
            n_failed += 1
        if not problem:
            scores.append(FLOOR)
            index.append(i)
    n = n_done + n_failed + n_diverged
    return {"scores": scores, "finished": finished, "index": index, "n": n, "n_done": n_done,
            "n_failed": n_failed, "n_diverged": n_diverged, "n_excluded": n_excluded,
            "failure_rate": (n_failed + n_diverged) / n if n else None, "scored": problem is None,
            "note": None if problem is None else f"not normalised ({problem}): failed runs are left out of the scores"}


def cross_task(scores: Any) -> np.ndarray:
    """Scores capped for the across-task view: clipped to [FLOOR, CEILING] (NaN stays NaN)."""
    return np.clip(np.asarray(scores, dtype=float), FLOOR, CEILING)
