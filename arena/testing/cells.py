"""The cell contract checks (CELL_CHECKS): :func:`check_cell` and the checks themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from arena.testing.common import (CELL_CHECKS, SMOKE_MAX_FRACTION_OF_CHANCE, SMOKE_TASK, SMOKE_TASK_PARAMS,
                                  SMOKE_TRAIN, CheckFailed, CheckResult, CheckSkipped, _clone_state, _close,
                                  _max_diff, _no_grad, _require_finite, _require_finite_number, _run_all, _select,
                                  _short, _states)


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
    return _run_all(subject, "cell", names, runner)
