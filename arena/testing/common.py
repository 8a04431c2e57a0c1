"""What every contract check shares: the check lists, results, and tensor comparisons that fail on NaN."""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

CELL_CHECKS: tuple[str, ...] = ("construct", "shapes", "finite", "initial-state", "step", "chunked",
                                "determinism", "gradients", "grad-check", "parameters", "info", "smoke-train")
TASK_CHECKS: tuple[str, ...] = ("construct", "presets", "data-determinism", "data-shapes", "metrics", "chance",
                                "reference", "smoke-run")
#: Checks that train a model (seconds rather than milliseconds); pytest marks them ``arena_train``.
TRAINING_CHECKS: frozenset[str] = frozenset({"smoke-train", "smoke-run"})

#: The tiny counting task of the ``smoke-train`` check (see the module docstring).
SMOKE_TASK = "counting"
SMOKE_TASK_PARAMS: dict[str, Any] = {"seq_len": 10, "density": 0.5, "n_train": 1600, "n_val": 200, "n_test": 200}
SMOKE_TRAIN: dict[str, Any] = {"hidden": 16, "epochs": 8, "batch_size": 32, "lr": 1e-2, "patience": 8}
#: ``smoke-train`` passes when the test MSE is below this fraction of the chance MSE (2.5).
SMOKE_MAX_FRACTION_OF_CHANCE = 0.75

Reference = Callable[[Any, Mapping[str, Any]], Any]


# -- results ------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """The outcome of one check on one cell or task."""

    subject: str  # "cell gru" or "task copy"
    name: str  # one of CELL_CHECKS / TASK_CHECKS
    status: str  # "pass", "fail" or "skip"
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Passed or skipped."""
        return self.status != "fail"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def line(self) -> str:
        text = f"{self.status.upper():<4}  {self.subject:<24} {self.name:<16} {self.seconds:6.2f}s"
        return f"{text}  {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return self.line()


class CheckFailed(AssertionError):
    """Raised inside a check: the contract is broken (the message says how)."""


class CheckSkipped(Exception):
    """Raised inside a check: it does not apply (the message says why)."""


def assert_checks(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Raise AssertionError listing every failed check; return the results otherwise."""
    results = list(results)
    failed = [r for r in results if r.status == "fail"]
    if failed:
        raise AssertionError("contract checks failed:\n" + "\n".join(r.line() for r in failed))
    return results


def _short(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _run(subject: str, name: str, fn: Callable[[], str | None]) -> CheckResult:
    t0 = time.perf_counter()
    try:
        with _one_thread():
            detail = fn() or ""
        status = "pass"
    except CheckSkipped as exc:
        status, detail = "skip", str(exc)
    except CheckFailed as exc:
        status, detail = "fail", str(exc)
    except Exception as exc:  # noqa: BLE001 - a crash in the cell or task is a failure of that check
        status, detail = "fail", _short(exc)
    return CheckResult(subject, name, status, " ".join(detail.split()), time.perf_counter() - t0)


def _run_all(subject: str, what: str, names: list[str], runner: Any) -> list[CheckResult]:
    """Run the named checks of ``runner`` in order; after a failed ``construct`` the rest skip."""
    results: list[CheckResult] = []
    for name in names:
        if results and results[0].name == "construct" and results[0].status == "fail":
            results.append(CheckResult(subject, name, "skip", f"the {what} cannot be built"))
            continue
        results.append(_run(subject, name, getattr(runner, name.replace("-", "_"))))
    return results


def _select(checks: Iterable[str] | None, skip: Iterable[str], known: Sequence[str]) -> list[str]:
    chosen = list(known if checks is None else checks)
    skip = set(skip)  # may name checks of either kind, e.g. skip=TRAINING_CHECKS
    unknown = [c for c in chosen if c not in known] + [c for c in skip if c not in {*CELL_CHECKS, *TASK_CHECKS}]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {list(known)}")
    return [c for c in chosen if c not in skip]


def _states(state: Any) -> tuple[Any, ...]:
    import torch

    if isinstance(state, torch.Tensor):
        return (state,)
    if isinstance(state, (tuple, list)) and state and all(isinstance(s, torch.Tensor) for s in state):
        return tuple(state)
    raise CheckFailed(f"state must be a tensor or a non-empty tuple of tensors, got {type(state).__name__}")


def _clone_state(state: Any) -> Any:
    parts = tuple(s.detach().clone() for s in _states(state))
    return parts[0] if not isinstance(state, (tuple, list)) else parts


def _n_nonfinite(t: Any) -> int:
    import torch

    return int((~torch.isfinite(t)).sum()) if t.is_floating_point() or t.is_complex() else 0


def _require_finite(what: str, *tensors: Any) -> None:
    """Raise CheckFailed saying ``what`` is not finite if any of ``tensors`` holds NaN or inf."""
    counts = [_n_nonfinite(t) for t in tensors]
    if any(counts):
        parts = [f"{n} of {t.numel()}" for n, t in zip(counts, tensors)]
        which = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        tail = " values" if len(parts) == 1 else " values respectively"
        raise CheckFailed(f"{what}: the values are not finite (NaN or inf in {which}{tail})")


def _require_finite_number(what: str, value: float) -> float:
    if not math.isfinite(value):
        raise CheckFailed(f"{what} is not finite ({value})")
    return value


def _max_diff(a: Any, b: Any, what: str = "compared tensors") -> float:
    """The largest absolute difference; fails on NaN/inf, where a difference means nothing."""
    _require_finite(what, a, b)
    return float((a - b).abs().max()) if a.numel() else 0.0


def _close(a: Any, b: Any, what: str, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """Equal shapes, finite values and allclose (float64 tolerances)."""
    import torch

    if a.shape != b.shape:
        raise CheckFailed(f"{what}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    # allclose calls inf ≈ inf and NaN ≠ NaN: neither says what is wrong.
    _require_finite(what, a, b)
    if not torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False):
        raise CheckFailed(f"{what}: max |difference| {_max_diff(a, b, what):.3g} (float64)")


class _one_thread:
    """Checks run on one CPU thread: their tiny tensors gain nothing from more threads, and on a
    busy machine several threads fighting for cores make a smoke run 5× slower."""

    def __enter__(self) -> None:
        import torch

        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        import torch

        torch.set_num_threads(self._threads)


class _no_grad:
    def __enter__(self) -> None:
        import torch

        self._ctx = torch.no_grad()
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
