"""minGRU: the minimal GRU whose gates depend on the input only, so it trains in parallel.

Reference: Feng, Tung, Ahmed, Bengio, Hajimirsadeghi 2024, "Were RNNs All We Needed?"
(arXiv:2410.01201), log-space form of appendix B.3.1; reference code lucidrains/minGRU-pytorch
(minGRU_pytorch/minGRU.py). The scan is Heinsen 2023, "Efficient parallelization of a ubiquitous
sequential computation" (arXiv:2311.06281).

Equations (input x_t ∈ R^d, hidden H, inner width D = int(H·expansion))::

    a_t, k_t = split(W x_t)                 W: one bias-free Linear d → 2D, first half hidden, second gate
    z_t      = σ(k_t)                       h̃_t = g(a_t),  g(x) = x + 0.5 (x ≥ 0) else σ(x)   (> 0)
    h_t      = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t                                  (h_0 = 0)
    y_t      = W_o h_t   (W_o: bias-free Linear D → H, present iff expansion ≠ 1 or proj_out)

Nothing depends on h except the last line's linear recurrence h_t = α_t h_{t−1} + β_t with
α = 1 − z = σ(−k) and β = z·h̃, so all gate maths is done for the whole sequence at once and
two evaluation paths exist:

* ``sequential``: a loop of one multiply-add per step. Gates, candidate and loop form one
  custom autograd node with a hand-written backward (the adjoint recurrence
  G_t = ∂L/∂h_t + α_{t+1} G_{t+1}, also a loop); both loops are TorchScript, without per-step
  autograd bookkeeping. It is the fastest CPU path (shared/specs/cpu-performance.md §2, §8.4:
  the log-space scan is 2.8–4.7× slower than a loop on the 2-core CPU) and exact up to
  ordinary rounding. Not twice differentiable.
* ``scan``: Heinsen's log-space scan, log α = −softplus(k), log β = −softplus(−k) + log g(a),
  a* = cumsum_t log α, log h_t = a*_t + logcumsumexp_t(log β − a*); h = exp(log h). A carried
  state enters as **log h_0** (prepended to log β with a 0 prepended to log α); with no carried
  state the term is omitted (h_0 = 0, no log 0). Its float32 error grows about linearly with T
  (cpu-performance.md §3): ≈1e-4 relative at T=1k, 1e-3 at T≈10k for z≈0.5.

``mode="auto"`` takes ``sequential`` on CPU and ``scan`` elsewhere (CUDA), by the device of the
input; ``impl`` names the path for the device of the parameters ("scripted-loop" or
"parallel-scan"). The state is the inner h (size D), before W_o; the cell's own states are
always > 0, and the scan path rejects a carried state with negative entries (log undefined);
an exactly-zero entry is treated as "no term" there, so its gradient is 0 on the scan path
(the true dh_t/dh_0 = Π α, which the sequential path returns).

Reference differences and bugs:

* lucidrains builds W_o only when expansion ≠ 1; GRUfinity (ekg/grufinity, src/mingru.rs) builds
  it always, even at expansion 1: ``proj_out=True`` reproduces that. GRUfinity uses two separate
  Linears (to_hidden, to_gate) with the same default init, equivalent to the one fused Linear.
* GRUfinity's carried state (and lucidrains' at the time of issue #9) enters the scan as
  log g(h_prev) = log(h_prev + 0.5) instead of log h_prev, inflating the state at each chunk
  boundary. That bug is reproduced, only on request, by ``grufinity_carry_bug=True``: every
  carried-in state (forward or step, either path) is replaced by g(h_prev). It is off by default;
  with it on, chunked runs no longer equal whole runs.
* Initialisation is torch's nn.Linear default, U(±1/√fan_in), as in both references.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from arena.cell import Cell, State

MODES = ("auto", "sequential", "scan")


def g(x: Tensor) -> Tensor:
    """Candidate activation: continuous, increasing and strictly positive."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    # relu keeps the unused branch finite for x < 0 (where() still differentiates it).
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


# --- sequential path -------------------------------------------------------------------------
# The recurrence runs along dim 1 of batch-first (B, T, D) tensors, so the output needs no
# transpose; each step touches B contiguous rows of D numbers.

@torch.jit.script
def _recur_fwd(alpha: Tensor, beta: Tensor, h0: Tensor) -> Tensor:
    out = torch.empty_like(beta)
    h = h0
    for t in range(beta.size(1)):
        h = torch.addcmul(beta.select(1, t), alpha.select(1, t), h, out=out.select(1, t))
    return out


@torch.jit.script
def _recur_bwd(alpha: Tensor, grad_h: Tensor) -> Tensor:
    # Adjoint of h_t = α_t h_{t−1} + β_t:  G_t = ∂L/∂h_t + α_{t+1} G_{t+1}.
    n = grad_h.size(1)
    gacc = torch.empty_like(grad_h)
    acc = gacc.select(1, n - 1)
    acc.copy_(grad_h.select(1, n - 1))
    for t in range(n - 2, -1, -1):
        acc = torch.addcmul(grad_h.select(1, t), alpha.select(1, t + 1), acc, out=gacc.select(1, t))
    return gacc


class _MinGRURecurrence(torch.autograd.Function):
    """All h_t from the pre-activations ``proj`` = [a, k] (B, T, 2D) and h_0 (B, D).

    Gates, candidate and recurrence in one autograd node with a hand-written backward: autograd
    would record ~20 elementwise passes over (B, T, D) plus slice/where backward fills, which cost
    far more than the loop itself on CPU. Backward, with G the adjoint from ``_recur_bwd``:
    ∂a = G·z·g'(a), g' = 1 (a ≥ 0) else h̃(1 − h̃);  ∂k = G·z·α·(h̃ − h_{t−1});  ∂h_0 = G_1·α_1.
    """

    @staticmethod
    def forward(ctx: Any, proj: Tensor, h0: Tensor) -> Tensor:  # type: ignore[override]
        D = h0.size(-1)
        a, k = proj[..., :D], proj[..., D:]
        z = torch.sigmoid(k)
        alpha = torch.sigmoid(-k)  # 1 − z without cancellation when z → 1
        pos = a >= 0
        h_tilde = torch.where(pos, a + 0.5, torch.sigmoid(a))  # g(a)
        h = _recur_fwd(alpha, z * h_tilde, h0)
        ctx.save_for_backward(alpha, z, h_tilde, pos, h, h0)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_h: Tensor) -> tuple[Optional[Tensor], ...]:  # type: ignore[override]
        alpha, z, h_tilde, pos, h, h0 = ctx.saved_tensors
        D = h0.size(-1)
        G = _recur_bwd(alpha, grad_h.contiguous())
        grad_h0 = G[:, 0] * alpha[:, 0] if ctx.needs_input_grad[1] else None
        Gz = G.mul_(z)  # G is ours: reuse its memory
        dproj = torch.empty(h.shape[:-1] + (2 * D,), dtype=h.dtype, device=h.device)
        # ∂k = Gz·α·(h̃ − h_{t−1})
        h_prev = torch.cat([h0.unsqueeze(1), h[:, :-1]], 1)
        dk = torch.sub(h_tilde, h_prev, out=h_prev)
        torch.mul(dk.mul_(alpha), Gz, out=dproj[..., D:])
        # ∂a = Gz·g'(a)
        dg = torch.rsub(h_tilde, 1).mul_(h_tilde).masked_fill_(pos, 1.0)
        torch.mul(dg, Gz, out=dproj[..., :D])
        return dproj, grad_h0


def sequential_recurrence(proj: Tensor, h0: Optional[Tensor], inner: int) -> Tensor:
    """All h_t (B, T, D) from the projected inputs (B, T, 2D); h0 (B, D) or None (= 0)."""
    if h0 is None:
        h0 = proj.new_zeros(proj.shape[0], inner)
    return _MinGRURecurrence.apply(proj.contiguous(), h0.contiguous())


# --- parallel (log-space) path ---------------------------------------------------------------

def heinsen_scan_log(log_alpha: Tensor, log_beta: Tensor, log_h0: Optional[Tensor], dim: int) -> Tensor:
    """h_t = α_t h_{t−1} + β_t from log α, log β (and log h_0) along ``dim``; returns h (not log)."""
    if log_h0 is not None:
        # Position 0 holds h_0 itself: coefficient log 1 = 0, value log h_0.
        log_alpha = torch.cat([torch.zeros_like(log_h0).unsqueeze(dim), log_alpha], dim)
        log_beta = torch.cat([log_h0.unsqueeze(dim), log_beta], dim)
    a_star = torch.cumsum(log_alpha, dim)
    log_h = a_star + torch.logcumsumexp(log_beta - a_star, dim)
    h = torch.exp(log_h)
    if log_h0 is not None:
        h = h.narrow(dim, 1, h.size(dim) - 1)
    return h


class MinGRU(Cell):
    def __init__(self, input_size: int, hidden_size: int, expansion: float = 1.0,
                 proj_out: bool = False, mode: str = "auto", grufinity_carry_bug: bool = False) -> None:
        super().__init__(input_size, hidden_size)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.expansion = float(expansion)
        self.inner_size = int(hidden_size * self.expansion)
        if self.inner_size < 1:
            raise ValueError(f"expansion {expansion} leaves no inner units at hidden {hidden_size}")
        self.mode = mode
        self.grufinity_carry_bug = bool(grufinity_carry_bug)
        self.to_hidden_and_gate = nn.Linear(input_size, 2 * self.inner_size, bias=False)
        self.to_out: Optional[nn.Linear] = (
            nn.Linear(self.inner_size, hidden_size, bias=False)
            if (self.expansion != 1.0 or proj_out) else None)
        if self.to_out is None and self.inner_size != hidden_size:  # pragma: no cover - int() edge
            raise ValueError("no output projection but inner size ≠ hidden size")

    # -- contract ---------------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        return torch.zeros(batch, self.inner_size, device=device, dtype=dtype)

    def path(self, device: torch.device) -> str:
        """"sequential" or "scan": what ``mode`` resolves to on ``device``."""
        if self.mode != "auto":
            return self.mode
        return "sequential" if device.type == "cpu" else "scan"

    @property
    def impl(self) -> str:  # type: ignore[override]
        path = self.path(self.to_hidden_and_gate.weight.device)
        return "scripted-loop" if path == "sequential" else "parallel-scan"

    def extra_info(self) -> dict[str, Any]:
        return {"impl": self.impl, "mode": self.mode, "inner_size": self.inner_size,
                "proj_out": self.to_out is not None, "grufinity_carry_bug": self.grufinity_carry_bug}

    def _carry_in(self, state: Optional[Tensor]) -> Optional[Tensor]:
        if state is not None and self.grufinity_carry_bug:
            return g(state)  # GRUfinity's log g(h_prev) carry, reproduced on request only
        return state

    def _out(self, h: Tensor) -> Tensor:
        return h if self.to_out is None else self.to_out(h)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        h0 = self._carry_in(state)  # type: ignore[arg-type]
        D = self.inner_size
        if self.path(x.device) == "sequential":
            h = sequential_recurrence(self.to_hidden_and_gate(x), h0, D)
            # clone: a view would keep the whole (B, T, D) buffer alive with the carried state
            return self._out(h), h[:, -1].clone()
        proj = self.to_hidden_and_gate(x)
        a, k = proj[..., :D], proj[..., D:]
        log_alpha = -F.softplus(k)
        log_beta = -F.softplus(-k) + log_g(a)
        log_h0 = None
        if h0 is not None:
            if bool((h0 < 0).any()):
                raise ValueError("minGRU's log-space scan needs a carried state ≥ 0 (log h_0)")
            # Zeros give log 0 = −inf (the term drops out); masking keeps their gradient finite.
            pos = h0 > 0
            log_h0 = torch.where(pos, torch.log(torch.where(pos, h0, torch.ones_like(h0))),
                                 torch.full_like(h0, float("-inf")))
        h = heinsen_scan_log(log_alpha, log_beta, log_h0, dim=1)  # (B, T, D)
        return self._out(h), h[:, -1].clone()

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        h0 = self._carry_in(state)  # type: ignore[arg-type]
        D = self.inner_size
        proj = self.to_hidden_and_gate(x_t)
        a, k = proj[..., :D], proj[..., D:]
        beta = torch.sigmoid(k) * g(a)
        h = beta if h0 is None else torch.addcmul(beta, torch.sigmoid(-k), h0)
        return self._out(h), h
