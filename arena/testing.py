"""arena.testing: the contract checks every cell and every task must pass, for any plugin's tests.

Installed as a pytest plugin (entry point ``pytest11``: ``arena``), so a plugin's test suite
only needs::

    from arena.testing import make_cell_tests, make_task_tests

    TestMyCell = make_cell_tests("mycell")                      # one pytest test per check
    TestMyTask = make_task_tests("mytask", reference=slow_labels)

or, outside pytest, ``check_cell("mycell")`` / ``check_task("mytask")``, which return a list of
:class:`CheckResult` (``arena test-plugin DIST`` prints them).

Cell checks (:data:`CELL_CHECKS`), on CPU at a tiny size (batch 2, length 7, input 3, hidden 5):

- ``construct``      the factory builds an ``arena.Cell`` with the sizes asked for;
- ``shapes``         ``forward``/``step`` shapes and dtypes, state structure, lengths 1 and T;
- ``finite``         the outputs and final states of ``forward`` and ``step`` on standard-normal
                     input are finite (no NaN or inf);
- ``initial-state``  ``state=None`` equals passing ``initial_state(...)`` explicitly;
- ``step``           T calls of ``step`` equal one ``forward`` (float64);
- ``chunked``        chunks with the state carried equal one whole run, and the caller's state
                     is not modified in place (float64);
- ``determinism``    the same seed gives the same weights and outputs, twice;
- ``gradients``      a loss reaches every parameter and the input with finite, non-zero gradients;
- ``grad-check``     autograd agrees with a finite difference of the loss along a random
                     direction of parameters, input and carried state (float64); skipped for
                     cells that set ``exact_gradients = False`` (surrogate or truncated gradients);
- ``parameters``     the parameter count (sum of ``numel``) is > 0, all trainable parameters
                     are initialised, and ``state_size()`` matches ``initial_state``;
- ``info``           ``impl`` is a string and ``extra_info()`` is a JSON-serialisable dict;
- ``smoke-train``    arena's real ``train_run`` on a tiny counting task (count the ones in 10
                     random bits: T=10, hidden 16, 1600 samples, 8 epochs of Adam at lr 0.01;
                     2-4 s on one CPU thread) ends with a test MSE below 0.75 × chance (2.5).
                     Measured over seeds 0-2: gru ≤ 0.003, lstm ≤ 0.08, rnn ≤ 0.17,
                     mingru 1.2-1.5, IndRNN ≤ 0.001. Counting needs memory over the whole
                     sequence but no multiplicative gating, so every kind of cell can learn
                     it in a few hundred steps; a cell that does not carry its state stays
                     near chance (≈ 0.9 × chance from the last input alone).

Task checks (:data:`TASK_CHECKS`), at the task's ``smoke`` preset:

- ``construct``         the factory builds an ``arena.Task``; sizes are positive integers;
- ``presets``           every preset builds, ``smoke`` and the default preset exist;
- ``data-determinism``  ``data()`` is the same for the same seed and differs for another seed;
- ``data-shapes``       split sizes, dtypes and ranges of ``x``, ``y`` and ``mask``;
- ``metrics``           ``evaluate()`` returns exactly the metrics of ``TaskInfo`` as finite
                        floats, and ``loss()`` is a finite scalar that back-propagates;
- ``chance``            ``chance()`` and ``solved()`` cover the main metric, name only known
                        metrics, and anchor a score (solved on the better side of chance);
- ``reference``         labels of a few test samples equal a slow reference the author supplies
                        (skipped without one);
- ``smoke-run``         one epoch of GRU through ``train_run`` at the smoke preset.

Every cell check that compares tensors or numbers fails on NaN or inf with a message that says
the values are not finite: NaN is never equal to itself, and inf equals inf, so a comparison
alone would report a misleading difference (or none).

This module imports torch only inside the checks, so loading the pytest plugin stays cheap.
"""
from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass, field
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


def _select(checks: Iterable[str] | None, skip: Iterable[str], known: Sequence[str]) -> list[str]:
    chosen = list(known if checks is None else checks)
    skip = set(skip)  # may name checks of either kind, e.g. skip=TRAINING_CHECKS
    unknown = [c for c in chosen if c not in known] + [c for c in skip if c not in {*CELL_CHECKS, *TASK_CHECKS}]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {list(known)}")
    return [c for c in chosen if c not in skip]


# -- cells --------------------------------------------------------------------------------------
@dataclass
class CellTarget:
    """A cell to check: its name, factory, options and the version stored with runs."""

    name: str
    factory: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)
    version: str = "1"


def resolve_cell(cell: Any, options: Mapping[str, Any] | None = None) -> CellTarget:
    """A registered cell name, a ``"module:Class"`` string, or a class/callable."""
    from arena.registry import resolve

    if isinstance(cell, CellTarget):
        return CellTarget(cell.name, cell.factory, {**cell.options, **(options or {})}, cell.version)
    if isinstance(cell, str) and ":" not in cell:
        from arena.host import get_host

        entry = get_host().cells.get(cell)
        return CellTarget(entry.name, entry.load(), {**entry.info.options, **(options or {})}, entry.info.version)
    factory = resolve(cell)
    name = cell.rsplit(":", 1)[-1] if isinstance(cell, str) else getattr(factory, "__name__", "cell")
    return CellTarget(name, factory, dict(options or {}))


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


class _CellChecks:
    def __init__(self, target: CellTarget, input_size: int, hidden_size: int, batch: int, seq_len: int, seed: int,
                 device: str) -> None:
        self.t = target
        self.input_size, self.hidden_size, self.batch, self.seq_len = input_size, hidden_size, batch, seq_len
        self.seed = seed
        self.device = device

    # helpers
    def make(self, dtype: Any = None, seed: int | None = None) -> Any:
        import torch

        from arena.cell import Cell

        torch.manual_seed(self.seed if seed is None else seed)
        cell = self.t.factory(self.input_size, self.hidden_size, **self.t.options)
        if not isinstance(cell, Cell):
            raise CheckFailed(f"the factory returned {type(cell).__name__}, not a subclass of arena.Cell")
        cell = cell.to(self.device)
        return cell.to(dtype) if dtype is not None else cell

    def x(self, dtype: Any, batch: int | None = None, seq_len: int | None = None, seed: int = 1) -> Any:
        import torch

        gen = torch.Generator().manual_seed(seed)
        shape = (batch or self.batch, seq_len or self.seq_len, self.input_size)
        return torch.randn(shape, generator=gen, dtype=dtype).to(self.device)

    def f64(self) -> Any:
        import torch

        cell = self.make(torch.float64)
        cell.eval()
        return cell, self.x(torch.float64)

    # checks
    def construct(self) -> str:
        cell = self.make()
        if (cell.input_size, cell.hidden_size) != (self.input_size, self.hidden_size):
            raise CheckFailed(f"built with ({self.input_size}, {self.hidden_size}) but input_size, hidden_size "
                              f"are ({cell.input_size}, {cell.hidden_size}); call "
                              "super().__init__(input_size, hidden_size)")
        out = cell.output_size
        if not isinstance(out, int) or out < 1:
            raise CheckFailed(f"output_size must be a positive int, got {out!r}")
        return f"{type(cell).__name__}({self.input_size}, {self.hidden_size}, {self.t.options or ''})"

    def shapes(self) -> str:
        import torch

        cell = self.make()
        for batch, T in ((self.batch, self.seq_len), (1, 1)):
            x = self.x(torch.float32, batch, T)
            init = _states(cell.initial_state(batch, x.device, x.dtype))
            y, state = cell(x)
            if not isinstance(y, torch.Tensor):
                raise CheckFailed(f"forward must return (y, state), y a tensor; got {type(y).__name__}")
            if tuple(y.shape) != (batch, T, cell.output_size):
                raise CheckFailed(f"forward(x[{batch}, {T}, {self.input_size}]) gave y of shape {tuple(y.shape)}, "
                                  f"expected ({batch}, {T}, {cell.output_size}) = (batch, time, output_size)")
            if y.dtype != x.dtype:
                raise CheckFailed(f"y has dtype {y.dtype} for input {x.dtype}")
            parts = _states(state)
            if [tuple(s.shape) for s in parts] != [tuple(s.shape) for s in init]:
                raise CheckFailed(f"final state shapes {[tuple(s.shape) for s in parts]} differ from "
                                  f"initial_state shapes {[tuple(s.shape) for s in init]}")
            if any(s.shape[0] != batch for s in parts):
                raise CheckFailed("every state tensor must have the batch as its first dimension")
            y_t, s_t = cell.step(x[:, 0])
            if tuple(y_t.shape) != (batch, cell.output_size):
                raise CheckFailed(f"step(x_t[{batch}, {self.input_size}]) gave y_t of shape {tuple(y_t.shape)}, "
                                  f"expected ({batch}, {cell.output_size})")
            if [tuple(s.shape) for s in _states(s_t)] != [tuple(s.shape) for s in init]:
                raise CheckFailed("step's state has other shapes than forward's")
        return f"y [B, T, {cell.output_size}], state {[tuple(s.shape[1:]) for s in init]} per sequence"

    def finite(self) -> str:
        import torch

        cell = self.make()  # float32 in training mode, as train_run uses it
        x = self.x(torch.float32)
        with _no_grad():
            y, state = cell(x)
            _require_finite("forward's output y on standard-normal input", y)
            _require_finite("forward's final state on standard-normal input", *_states(state))
            s = None
            for t in range(x.shape[1]):
                y_t, s = cell.step(x[:, t], s)
                _require_finite(f"step's output at t={t} on standard-normal input", y_t)
                _require_finite(f"step's state after t={t} on standard-normal input", *_states(s))
        return f"forward and {x.shape[1]} steps give finite outputs and states"

    def initial_state(self) -> str:
        cell, x = self.f64()
        with _no_grad():
            y_none, s_none = cell(x)
            y_init, s_init = cell(x, cell.initial_state(x.shape[0], x.device, x.dtype))
        _close(y_init, y_none, "forward(x, initial_state(...)) vs forward(x, None)")
        for a, b in zip(_states(s_init), _states(s_none)):
            _close(a, b, "final state with initial_state(...) vs None")
        return ""

    def step(self) -> str:
        cell, x = self.f64()
        with _no_grad():
            y, state = cell(x)
            s = None
            for t in range(x.shape[1]):
                y_t, s = cell.step(x[:, t], s)
                _close(y_t, y[:, t], f"step output at t={t} vs forward")
        for a, b in zip(_states(s), _states(state)):
            _close(a, b, "state after T steps vs forward's final state")
        return f"{x.shape[1]} steps = forward"

    def chunked(self) -> str:
        import torch

        cell, x = self.f64()
        T = x.shape[1]
        cuts = [0, 1, 3, T] if T > 3 else [0, 1, T]
        with _no_grad():
            y, state = cell(x)
            outs, s = [], None
            for a, b in zip(cuts, cuts[1:]):
                before = None if s is None else _clone_state(s)
                if before is not None:  # NaN ≠ NaN would read as "modified in place" below
                    _require_finite(f"the state carried into the chunk starting at t={a}", *_states(before))
                y_c, s_next = cell(x[:, a:b], s)
                if before is not None:
                    for old, now in zip(_states(before), _states(s)):
                        if not torch.equal(old, now):
                            raise CheckFailed(f"forward modified the state passed in (chunk starting at t={a}) "
                                              "in place; return a new state instead")
                outs.append(y_c)
                s = s_next
        _close(torch.cat(outs, 1), y, f"chunks {cuts} with carried state vs one call")
        for a, b in zip(_states(s), _states(state)):
            _close(a, b, "final state of the chunked run vs one call")
        return f"chunks at {cuts[1:-1]} = whole run"

    def determinism(self) -> str:
        import torch

        x = self.x(torch.float32)
        a, b = self.make(seed=self.seed + 7), self.make(seed=self.seed + 7)
        sa, sb = a.state_dict(), b.state_dict()
        for k in sa:
            if not torch.equal(sa[k], sb[k]):
                # Identical infs (a mask buffer) are reproducible; a NaN never equals itself.
                _require_finite(f"the initial value of {k!r}", sa[k], sb[k])
                raise CheckFailed(f"two cells built under torch.manual_seed({self.seed + 7}) differ in {k!r}; "
                                  "draw every random number from torch's global generator")
        a.eval()
        b.eval()
        with _no_grad():
            y1, _ = a(x)
            y2, _ = a(x)
            y3, _ = b(x)
        _require_finite("outputs of two calls and of a second cell of the same seed (eval mode)", y1, y2, y3)
        if not torch.equal(y1, y2):
            raise CheckFailed(f"two calls on the same input differ (max {_max_diff(y1, y2):.3g}) in eval mode")
        if not torch.equal(y1, y3):
            raise CheckFailed(f"two cells of the same seed give different outputs (max {_max_diff(y1, y3):.3g})")
        return ""

    def _loss(self, cell: Any, x: Any, state: Any, weights: Any) -> Any:
        y, s = cell(x, state)
        total = (y * weights[0]).sum()
        for part, w in zip(_states(s), weights[1:]):
            total = total + (part * w).sum()
        return total

    def _weights(self, cell: Any, x: Any, state: Any) -> list[Any]:
        import torch

        gen = torch.Generator().manual_seed(3)
        with _no_grad():
            y, s = cell(x, state)
        return [torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device) for t in (y, *_states(s))]

    def gradients(self) -> str:
        import torch

        cell = self.make(torch.float64)
        cell.train()
        x = self.x(torch.float64).requires_grad_()
        loss = self._loss(cell, x, None, self._weights(cell, x.detach(), None))
        _require_finite_number("the loss (a random weighted sum of outputs and final state)", float(loss.detach()))
        loss.backward()
        params = [(n, p) for n, p in cell.named_parameters() if p.requires_grad]
        if not params:
            raise CheckFailed("the cell has no trainable parameters")
        none = [n for n, p in params if p.grad is None]
        if none:
            raise CheckFailed(f"no gradient reaches {none} (unused, or detached from the output)")
        bad = [n for n, p in params if not torch.isfinite(p.grad).all()]
        if bad:
            raise CheckFailed(f"the gradients of {bad} are not finite")
        zero = [n for n, p in params if not p.grad.abs().sum() > 0]
        if zero:
            raise CheckFailed(f"the gradient is exactly zero for {zero}")
        if x.grad is None or not x.grad.abs().sum() > 0:
            if x.grad is not None:
                _require_finite("the gradient of the input x", x.grad)
            raise CheckFailed("no gradient reaches the input x")
        return f"{len(params)} parameter tensors get finite, non-zero gradients"

    def grad_check(self) -> str:
        import torch

        cell = self.make(torch.float64)
        if getattr(cell, "exact_gradients", True) is False:
            raise CheckSkipped(f"{type(cell).__name__}.exact_gradients is False (surrogate or truncated gradients)")
        cell.eval()
        x = self.x(torch.float64)
        with _no_grad():
            _, prev = cell(self.x(torch.float64, seq_len=3, seed=5))  # a real carried state
        carried = [t.detach().clone() for t in _states(prev)]
        state_in = carried[0] if isinstance(prev, torch.Tensor) else tuple(carried)
        weights = self._weights(cell, x, state_in)
        params = [p for p in cell.parameters() if p.requires_grad]
        leaves = [*params, x, *carried]
        for leaf in (x, *carried):
            leaf.requires_grad_()
        loss = self._loss(cell, x, state_in, weights)
        _require_finite_number("the loss (a random weighted sum of outputs and final state)", float(loss.detach()))
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
        gen = torch.Generator().manual_seed(11)
        direction = [torch.randn(v.shape, generator=gen, dtype=v.dtype).to(v.device) for v in leaves]
        analytic = sum(float((g * d).sum()) for g, d in zip(grads, direction) if g is not None)
        # |nan - nan| > tol is False: without this a NaN cell would pass as "nan ≈ nan".
        _require_finite_number("autograd's directional derivative", analytic)
        eps = 1e-6

        def shifted(sign: float) -> float:
            with _no_grad():
                for v, d in zip(leaves, direction):
                    v.data.add_(sign * eps * d)
                value = float(self._loss(cell, x, state_in, weights))
                for v, d in zip(leaves, direction):
                    v.data.sub_(sign * eps * d)
            return value

        numeric = _require_finite_number("the finite difference of the loss",
                                         (shifted(1.0) - shifted(-1.0)) / (2 * eps))
        scale = max(abs(numeric), abs(analytic), 1e-6)
        if abs(numeric - analytic) > 1e-4 * scale:
            raise CheckFailed(f"autograd's directional derivative {analytic:.8g} differs from the finite difference "
                              f"{numeric:.8g} (parameters, input and carried state; float64); a custom backward, "
                              "a detach or a non-differentiable step is wrong - set exact_gradients = False on the "
                              "class only if that is intended")
        return f"directional derivative {analytic:.6g} ≈ finite difference {numeric:.6g}"

    def parameters(self) -> str:
        import torch

        from arena.model import count_parameters

        cell = self.make()
        params = list(cell.parameters())
        uninit = [n for n, p in cell.named_parameters() if isinstance(p, torch.nn.parameter.UninitializedParameter)]
        if uninit:
            raise CheckFailed(f"lazy parameters {uninit} are not initialised at construction")
        total = sum(p.numel() for p in params)  # parameters() lists a shared tensor once
        trainable = count_parameters(cell)  # what train_run stores as the cell's parameter count
        if trainable <= 0:
            raise CheckFailed("the cell has no trainable parameters (sum of numel is 0)")
        with _no_grad():
            cell(self.x(torch.float32))
        if count_parameters(cell) != trainable:
            raise CheckFailed("the parameter count changed after the first forward (create parameters in __init__)")
        other = count_parameters(self.make(seed=self.seed + 1))
        if other != trainable:
            raise CheckFailed(f"the parameter count depends on the seed ({trainable} vs {other})")
        init = _states(cell.initial_state(1, torch.device("cpu"), torch.float32))
        numel = sum(s.numel() for s in init)
        if cell.state_size() != numel or numel <= 0:
            raise CheckFailed(f"state_size() is {cell.state_size()} but initial_state(1) holds {numel} numbers")
        frozen = f", {total - trainable} frozen" if total != trainable else ""
        return f"{trainable} parameters{frozen} at input {self.input_size}, hidden {self.hidden_size}; state {numel}"

    def info(self) -> str:
        cell = self.make()
        impl = cell.impl
        if not isinstance(impl, str) or not impl:
            raise CheckFailed(f"impl must be a non-empty string, got {impl!r}")
        extra = cell.extra_info()
        if not isinstance(extra, dict):
            raise CheckFailed(f"extra_info() must return a dict, got {type(extra).__name__}")
        try:
            json.dumps(extra)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"extra_info() is not JSON-serialisable: {exc}") from None
        return f"impl {impl!r}"

    def smoke_train(self) -> str:
        import torch

        from arena.contracts import TrainConfig
        from arena.model import count_parameters
        from arena.plan import RunSpec
        from arena.tasks.counting import INFO, CountingTask
        from arena.training import train_run

        spec = RunSpec(cell=self.t.name, cell_version=self.t.version, cell_options=dict(self.t.options),
                       task=SMOKE_TASK, task_version=INFO.version, preset="arena.testing",
                       params={**INFO.params, **SMOKE_TASK_PARAMS}, train={**TrainConfig().as_dict(), **SMOKE_TRAIN},
                       seed=self.seed)
        out = train_run(spec, CountingTask, self.t.factory, torch.device(self.device))
        if out.status != "done":
            raise CheckFailed(f"the run ended {out.status}: {out.error}")
        torch.manual_seed(0)
        task = CountingTask(**spec.params)
        expected = count_parameters(self.t.factory(task.input_size, SMOKE_TRAIN["hidden"], **self.t.options))
        if out.cell_params != expected:
            raise CheckFailed(f"train_run reported {out.cell_params} cell parameters, the cell has {expected}")
        mse, chance = out.metrics["test"]["mse"], task.chance()["mse"]
        _require_finite_number("the test MSE", mse)
        limit = SMOKE_MAX_FRACTION_OF_CHANCE * chance
        if not mse < limit:
            raise CheckFailed(f"test MSE {mse:.4f} after {out.epochs} epochs does not beat chance {chance:.4f} "
                              f"(needs < {limit:.4f})")
        return f"counting T=10: test MSE {mse:.4f} vs chance {chance:.4f} after {out.epochs} epochs"


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


def check_cell(cell: Any, *, options: Mapping[str, Any] | None = None, checks: Iterable[str] | None = None,
               skip: Iterable[str] = (), input_size: int = 3, hidden_size: int = 5, batch: int = 2,
               seq_len: int = 7, seed: int = 0, device: str = "cpu") -> list[CheckResult]:
    """Run the contract checks on a cell; never raises for a broken cell (see :func:`assert_checks`).

    ``cell`` is a registered name (``"gru"``), a ``"module:Class"`` string or the class itself;
    ``options`` override the registered defaults; ``checks``/``skip`` choose from
    :data:`CELL_CHECKS`.
    """
    names = _select(checks, skip, CELL_CHECKS)
    try:
        target = resolve_cell(cell, options)
    except Exception as exc:  # noqa: BLE001
        label = cell if isinstance(cell, str) else getattr(cell, "__name__", repr(cell))
        return [CheckResult(f"cell {label}", "construct", "fail", f"cannot resolve the cell: {_short(exc)}")]
    runner = _CellChecks(target, input_size, hidden_size, batch, seq_len, seed, device)
    subject = f"cell {target.name}"
    results: list[CheckResult] = []
    for name in names:
        if results and results[0].name == "construct" and results[0].status == "fail":
            results.append(CheckResult(subject, name, "skip", "the cell cannot be built"))
            continue
        results.append(_run(subject, name, getattr(runner, name.replace("-", "_"))))
    return results


# -- tasks --------------------------------------------------------------------------------------
@dataclass
class TaskTarget:
    name: str
    factory: Callable[..., Any]
    info: Any
    params: dict[str, Any]
    preset: str


def resolve_task(task: Any, params: Mapping[str, Any] | None = None, preset: str | None = None) -> TaskTarget:
    """A registered task name, a ``"module:Class"`` string, or a ``Task`` subclass."""
    from arena.registry import resolve

    if isinstance(task, str) and ":" not in task:
        from arena.host import get_host

        entry = get_host().tasks.get(task)
        name, factory, info = entry.name, entry.load(), entry.info
    else:
        factory = resolve(task)
        info = factory.info
        name = task.rsplit(":", 1)[-1] if isinstance(task, str) else getattr(factory, "__name__", "task")
    if preset is None:
        preset = "smoke" if "smoke" in info.presets else info.default_preset
    elif preset not in info.presets:
        raise ValueError(f"task {name!r} has no preset {preset!r}; presets: {list(info.presets)}")
    base = dict(info.params)
    if preset in info.presets:
        base.update(info.presets[preset].params)
    base.update(params or {})
    return TaskTarget(name, factory, info, base, preset)


class _TaskChecks:
    def __init__(self, target: TaskTarget, reference: Reference | None, n_reference: int, seed: int,
                 device: str) -> None:
        self.t = target
        self.ref = reference
        self.n_reference = n_reference
        self.seed = seed
        self.device = device
        self._task: Any = None
        self._missing: str | None = None

    def task(self) -> Any:
        if self._task is None:
            self._task = self.t.factory(**self.t.params)
            try:
                self._task.prepare()
            except Exception as exc:  # noqa: BLE001
                from arena.datasets import DataMissingError

                if not isinstance(exc, DataMissingError):
                    raise
                self._missing = str(exc)
        return self._task

    def data_task(self) -> Any:
        task = self.task()
        if self._missing:
            raise CheckSkipped(f"data not available: {self._missing}")
        return task

    def data(self, split: str, seed: int | None = None, epoch: int = 0) -> dict[str, Any]:
        import torch

        out = self.data_task().data(split, seed=self.seed if seed is None else seed, epoch=epoch,
                                    device=torch.device(self.device))
        if not isinstance(out, dict) or "x" not in out or "y" not in out:
            raise CheckFailed(f"data({split!r}) must return a dict with at least 'x' and 'y', got "
                              f"{sorted(out) if isinstance(out, dict) else type(out).__name__}")
        return out

    # checks
    def construct(self) -> str:
        from arena.contracts import TaskInfo
        from arena.task import Task

        task = self.task()
        if not isinstance(task, Task):
            raise CheckFailed(f"the factory returned {type(task).__name__}, not a subclass of arena.Task")
        if not isinstance(task.info, TaskInfo):
            raise CheckFailed("info must be an arena.TaskInfo")
        for what in ("input_size", "output_size"):
            value = getattr(task, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CheckFailed(f"{what} must be a positive int, got {value!r}")
        note = f"; {self._missing}" if self._missing else ""
        return f"preset {self.t.preset!r}: input_size {task.input_size}, output_size {task.output_size}{note}"

    def presets(self) -> str:
        info = self.t.info
        if "smoke" not in info.presets:
            raise CheckFailed("no 'smoke' preset (seconds on a CPU); tests and `arena run --preset smoke` use it")
        if info.default_preset not in info.presets:
            raise CheckFailed(f"default_preset {info.default_preset!r} is not among the presets {list(info.presets)}")
        for name, preset in info.presets.items():
            try:
                self.t.factory(**{**info.params, **preset.params})
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"preset {name!r} does not build: {_short(exc)}") from None
        return f"{len(info.presets)} presets: {', '.join(info.presets)}"

    def data_determinism(self) -> str:
        import torch

        for split in ("train", "val", "test"):
            a, b = self.data(split), self.data(split)
            if set(a) != set(b):
                raise CheckFailed(f"data({split!r}) returned different keys on two calls")
            for k in a:
                if not torch.equal(a[k], b[k]):
                    raise CheckFailed(f"data({split!r}, seed={self.seed}) differs between two calls in {k!r}; "
                                      "draw every random number from the generator passed to generate()")
        other = self.data("test", seed=self.seed + 1)
        if torch.equal(other["x"], self.data("test")["x"]):
            raise CheckFailed("data('test') is the same for two different seeds")
        fresh = ""
        if self.task().fresh_train_data():
            if torch.equal(self.data("train", epoch=1)["x"], self.data("train")["x"]):
                raise CheckFailed("fresh training data is the same in epochs 0 and 1")
            fresh = "; fresh training data per epoch"
        return f"same seed, same data; another seed, other data{fresh}"

    def data_shapes(self) -> str:
        import torch

        task = self.data_task()
        info = task.info
        batch = self.data("val")
        x, y, mask = batch["x"], batch["y"], batch.get("mask")
        n = task.split_size("val")
        for k, v in batch.items():
            if not isinstance(v, torch.Tensor) or v.shape[0] != n:
                raise CheckFailed(f"{k!r} must be a tensor with the {n} samples of split 'val' first, "
                                  f"got shape {tuple(getattr(v, 'shape', ()))}")
        custom_encoder = getattr(task, "build_encoder", None) is not None
        if info.input_kind == "tokens" and not custom_encoder:
            if x.dtype.is_floating_point or x.dim() != 2:
                raise CheckFailed(f"token inputs must be integer [n, T], got {x.dtype} {tuple(x.shape)}")
            if int(x.min()) < 0 or int(x.max()) >= task.input_size:
                raise CheckFailed(f"token ids span [{int(x.min())}, {int(x.max())}], outside [0, input_size="
                                  f"{task.input_size})")
        elif info.input_kind == "features":
            if not x.dtype.is_floating_point or x.dim() != 3 or x.shape[-1] != task.input_size:
                raise CheckFailed(f"feature inputs must be float [n, T, input_size={task.input_size}], got "
                                  f"{x.dtype} {tuple(x.shape)}")
        if info.output_kind == "classes":
            if y.dtype.is_floating_point:
                raise CheckFailed(f"class labels must be integers, got {y.dtype}")
            if int(y.min()) < 0 or int(y.max()) >= task.output_size:
                raise CheckFailed(f"labels span [{int(y.min())}, {int(y.max())}], outside [0, output_size="
                                  f"{task.output_size})")
        elif not y.dtype.is_floating_point:
            raise CheckFailed(f"regression targets must be floating point, got {y.dtype}")
        if mask is not None:
            if info.readout != "every" or tuple(mask.shape) != tuple(x.shape[:2]):
                raise CheckFailed(f"mask must be [n, T] = {tuple(x.shape[:2])} with readout 'every', got "
                                  f"{tuple(mask.shape)} with readout {info.readout!r}")
            if not mask.bool().any(dim=1).all():
                raise CheckFailed("some samples have no masked (scored) position")
        return f"x {x.dtype} {tuple(x.shape[1:])}, y {y.dtype} {tuple(y.shape[1:])}" + (
            f", mask {tuple(mask.shape[1:])}" if mask is not None else "")

    def _outputs(self, batch: Mapping[str, Any]) -> Any:
        import torch

        from arena.contracts import TrainConfig
        from arena.model import build_model
        from arena.plugins.baselines import GRU

        torch.manual_seed(0)
        model = build_model(self.data_task(), GRU, {}, TrainConfig(hidden=8)).to(self.device)
        return model, model(batch["x"], batch.get("lengths"))

    def metrics(self) -> str:
        import torch

        task = self.data_task()
        info = task.info
        names = [m.name for m in info.metrics]
        if len(set(names)) != len(names):
            raise CheckFailed(f"metric names repeat: {names}")
        batch = {k: v[:64] for k, v in self.data("val").items()}
        model, out = self._outputs(batch)
        loss = task.loss(out, batch)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not torch.isfinite(loss):
            raise CheckFailed(f"loss() must return a finite scalar tensor, got {loss!r}")
        loss.backward()
        if all(p.grad is None for p in model.parameters()):
            raise CheckFailed("loss() does not back-propagate into the model")
        with torch.no_grad():
            values = task.evaluate(out.detach(), batch)
        if not isinstance(values, dict) or set(values) != set(names):
            got = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise CheckFailed(f"evaluate() returned {got}; TaskInfo.metrics are {sorted(names)}")
        bad = {k: v for k, v in values.items()
               if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)}
        if bad:
            raise CheckFailed(f"evaluate() must return finite floats; got {bad}")
        arrows = ", ".join(f"{m.name} {m.arrow}" for m in info.metrics)
        return f"evaluate() gives {arrows}; main {info.main_metric}"

    def chance(self) -> str:
        info = self.t.info
        chance = self.task().chance()
        if not isinstance(chance, dict):
            raise CheckFailed(f"chance() must return a dict, got {type(chance).__name__}")
        names = {m.name for m in info.metrics}
        unknown = set(chance) - names
        if unknown:
            raise CheckFailed(f"chance() names unknown metrics {sorted(unknown)}; metrics are {sorted(names)}")
        if info.main_metric not in chance:
            raise CheckFailed(f"chance() does not cover the main metric {info.main_metric!r}")
        bad = {k: v for k, v in chance.items() if not isinstance(v, (int, float)) or not math.isfinite(v)}
        if bad:
            raise CheckFailed(f"chance() must give finite numbers; got {bad}")
        solved = self.task().solved()
        if not isinstance(solved, dict) or set(solved) - names:
            got = sorted(set(solved) - names) if isinstance(solved, dict) else type(solved).__name__
            raise CheckFailed(f"solved() must map known metrics to their solved levels; got {got}")
        if info.main_metric not in solved:
            raise CheckFailed(f"no solved level for the main metric {info.main_metric!r}: declare "
                              f"Metric(..., solved=LEVEL) (1.0 for an accuracy) or override solved(); the board scores "
                              f"runs from chance (0) to solved (1)")
        from arena.stats.scores import Anchors

        for name, level in solved.items():
            m = info.metric(name)
            problem = Anchors(m.higher_is_better, m.scale, chance.get(name), level).problem
            if name in chance and problem:
                raise CheckFailed(f"metric {name!r}: {problem}")
        main = info.metric(info.main_metric)
        return (", ".join(f"{k} {v:.4g}" for k, v in chance.items())
                + f"; solved {main.name} {solved[main.name]:.4g} ({main.scale} scale)")

    def reference(self) -> str:
        import torch

        if self.ref is None:
            raise CheckSkipped("no slow reference given (pass reference=... to check_task / make_task_tests)")
        batch = self.data("test")
        n = min(self.n_reference, batch["x"].shape[0])
        for i in range(n):
            sample = batch["x"][i].detach().cpu()
            expected = self.ref(sample, dict(self.t.params))
            want = expected if isinstance(expected, dict) else {"y": expected}
            for key, value in want.items():
                if key not in batch:
                    raise CheckFailed(f"the reference gives {key!r}, which data() does not return")
                got = batch[key][i].detach().cpu()
                value = torch.as_tensor(value)
                if value.numel() != got.numel():
                    raise CheckFailed(f"test sample {i}: the reference gives {value.numel()} numbers for {key!r}, "
                                      f"data() has {got.numel()}")
                value = value.to(got.dtype).reshape(got.shape)
                if got.dtype.is_floating_point:
                    same = torch.allclose(got, value, rtol=1e-5, atol=1e-6)
                else:
                    same = torch.equal(got, value)
                if not same:
                    raise CheckFailed(f"test sample {i}: {key} is {got.tolist()}, the reference says {value.tolist()}")
        return f"{n} test samples agree with the reference"

    def smoke_run(self) -> str:
        import torch

        from arena.contracts import TrainConfig
        from arena.plan import RunSpec
        from arena.plugins.baselines import GRU
        from arena.training import train_run

        self.data_task()
        info = self.t.info
        preset = info.presets.get(self.t.preset)
        train = {**TrainConfig().as_dict(), **(preset.train if preset else {}), "epochs": 1}
        spec = RunSpec(cell="gru", cell_version="1", cell_options={}, task=self.t.name, task_version=info.version,
                       preset=self.t.preset, params=dict(self.t.params), train=train, seed=self.seed)
        t0 = time.perf_counter()
        out = train_run(spec, self.t.factory, GRU, torch.device(self.device))
        if out.status != "done":
            raise CheckFailed(f"one epoch of gru ended {out.status}: {out.error}")
        got = set(out.metrics.get("test", {}))
        if got != {m.name for m in info.metrics}:
            raise CheckFailed(f"test metrics {sorted(got)} differ from TaskInfo.metrics")
        main = out.metrics["test"][info.main_metric]
        seconds = time.perf_counter() - t0
        return f"1 epoch of gru at {self.t.preset!r}: test {info.main_metric} {main:.4g} ({seconds:.1f}s)"


def check_task(task: Any, *, params: Mapping[str, Any] | None = None, preset: str | None = None,
               reference: Reference | None = None, n_reference: int = 4, checks: Iterable[str] | None = None,
               skip: Iterable[str] = (), seed: int = 0, device: str = "cpu") -> list[CheckResult]:
    """Run the contract checks on a task; never raises for a broken task.

    ``task`` is a registered name, a ``"module:Class"`` string or the class. The task is built at
    ``preset`` (default ``smoke``) with ``params`` on top. ``reference(x, params)`` gets one test
    sample's input (a CPU tensor) and the task parameters, and returns that sample's expected
    ``y`` (anything ``torch.as_tensor`` takes) or a dict of expected tensors (``{"y": ..., "mask": ...}``).
    """
    names = _select(checks, skip, TASK_CHECKS)
    try:
        target = resolve_task(task, params, preset)
    except Exception as exc:  # noqa: BLE001
        label = task if isinstance(task, str) else getattr(task, "__name__", repr(task))
        return [CheckResult(f"task {label}", "construct", "fail", f"cannot resolve the task: {_short(exc)}")]
    runner = _TaskChecks(target, reference, n_reference, seed, device)
    subject = f"task {target.name}"
    results: list[CheckResult] = []
    for name in names:
        if results and results[0].name == "construct" and results[0].status == "fail":
            results.append(CheckResult(subject, name, "skip", "the task cannot be built"))
            continue
        results.append(_run(subject, name, getattr(runner, name.replace("-", "_"))))
    return results


# -- pytest -------------------------------------------------------------------------------------
def _pytest_outcome(result: CheckResult) -> None:
    import pytest

    if result.status == "skip":
        pytest.skip(result.detail)
    if result.status == "fail":
        pytest.fail(f"{result.subject}: {result.name}: {result.detail}", pytrace=False)


def _params(checks: Sequence[str]) -> list[Any]:
    import pytest

    return [pytest.param(c, id=c, marks=[pytest.mark.arena_train] if c in TRAINING_CHECKS else []) for c in checks]


def make_cell_tests(cell: Any, *, checks: Iterable[str] | None = None, skip: Iterable[str] = (),
                    **settings: Any) -> type:
    """A pytest test class with one test per contract check of ``cell``::

        TestMyCell = make_cell_tests("mycell")                    # in tests/test_mycell.py
        TestWide = make_cell_tests("mycell", options={"width": 4}, skip=["smoke-train"])

    ``settings`` go to :func:`check_cell`. Checks that train are marked ``arena_train``
    (``pytest -m "not arena_train"`` leaves them out).
    """
    import pytest

    names = _select(checks, skip, CELL_CHECKS)

    class CellContract:
        @pytest.mark.parametrize("check", _params(names))
        def test_contract(self, check: str) -> None:
            (result,) = check_cell(cell, checks=[check], **settings)
            _pytest_outcome(result)

    label = cell if isinstance(cell, str) else getattr(cell, "__name__", "cell")
    CellContract.__name__ = CellContract.__qualname__ = f"TestCellContract_{label}"
    return CellContract


def make_task_tests(task: Any, *, reference: Reference | None = None, checks: Iterable[str] | None = None,
                    skip: Iterable[str] = (), **settings: Any) -> type:
    """A pytest test class with one test per contract check of ``task`` (see :func:`check_task`)."""
    import pytest

    names = _select(checks, skip, TASK_CHECKS)

    class TaskContract:
        @pytest.mark.parametrize("check", _params(names))
        def test_contract(self, check: str) -> None:
            (result,) = check_task(task, checks=[check], reference=reference, **settings)
            _pytest_outcome(result)

    label = task if isinstance(task, str) else getattr(task, "__name__", "task")
    TaskContract.__name__ = TaskContract.__qualname__ = f"TestTaskContract_{label}"
    return TaskContract


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "arena_train: an arena contract check that trains a model (seconds)")


try:  # fixtures exist only where pytest is installed; the checks above never need it
    import pytest as _pt
except ImportError:  # pragma: no cover
    _pt = None  # type: ignore[assignment]

if _pt is not None:

    @_pt.fixture
    def arena_host() -> Any:
        """A freshly loaded plugin host (every installed ``arena`` entry point)."""
        from arena.host import get_host, reset_host

        reset_host()
        yield get_host()
        reset_host()

    @_pt.fixture
    def arena_check_cell() -> Callable[..., list[CheckResult]]:
        """``arena_check_cell("mycell", **settings)``: run every cell check; fail the test on any failure."""
        return lambda cell, **kw: assert_checks(check_cell(cell, **kw))

    @_pt.fixture
    def arena_check_task() -> Callable[..., list[CheckResult]]:
        """``arena_check_task("mytask", reference=...)``: run every task check; fail on any failure."""
        return lambda task, **kw: assert_checks(check_task(task, **kw))
