"""HSRU — Hybrid State Recurrent Unit: a leaky integrate-and-fire cell with a toggling binary state.

Reference: hsameerc/hsru (``src/core/hsru.py``, ``DualStateLIFLayer``, snapshot aec0c31) and its
write-up docs/HSRU-LIF-RNN.pdf. Each hidden unit keeps an analog membrane V and a binary
"mirror" bit D that flips whenever the unit spikes::

    α   = exp(−softplus(τ))                  τ ∈ R^H, init N(0, 1)   (α ∈ (0, 1))
    I_t = W_in x_t + b_in
    V_t = α ⊙ V_{t−1} + I_t                  leaky integration, no reset after a spike
    S_t = H(V_t − θ)                         θ ∈ R^H, init 0.5; strict ">" (forward 0/1)
    D_t = D_{t−1} ⊙ (1 − S_t) + (1 − D_{t−1}) ⊙ S_t      toggle (XOR) on a spike
    y_t = tanh(W_out [V_t ; D_t] + b_out)    W_out: H × 2H

V_0 = D_0 = 0; output y_t (size H); state (V, D). The spike's backward uses the fast-sigmoid
surrogate dS/du ≈ 1 / (1 + 10·|u|)², u = V_t − θ. Parameters: I·H + 2H² + 4H. Linear layers keep
torch's default init (the reference uses plain ``nn.Linear`` too).

Two registered variants:

* ``hsru`` (:class:`HSRU`, faithful): the reference detaches V_{t−1} and D_{t−1} at **every**
  step, so no gradient flows through time; W_in, b_in, τ (through α ⊙ detached V_{t−1}), θ and
  W_out learn from the current step only. Parity is still learnable because a unit whose input
  current crosses θ exactly on 1-bits toggles D in step with the running parity.
* ``hsru-bptt`` (:class:`HSRUBPTT`): the same cell with full backpropagation through time (the
  reference's detach is what we consider a limitation; this is the variant without it).

The reference's CUDA extension (forward only, no autograd) is not reproduced; every path here
has full autograd.

Implementation (CPU speed, see shared/specs/cpu-performance.md): the only sequential part of the
forward is V_t = α V_{t−1} + I_t with D's toggle, a scripted loop of two ops per step on the hoisted
input projection; the output layer is one matmul over all steps. ``hsru`` then rebuilds each
step's differentiable graph in parallel from the detached previous states (exactly what per-step
detaching means). ``hsru-bptt`` uses a hand-written backward: two reverse linear recurrences
(for ∂/∂V and ∂/∂D) in one scripted loop, everything else vectorised. The spike is written
straight-through (:func:`spike`), bitwise equal to the reference's autograd Function in value and
gradient. Both variants agree with a per-step autograd transcription of the reference to
rounding (tests/test_hsru.py).
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from arena.cell import Cell, State

SURROGATE_SLOPE = 10.0


def surrogate_grad(u: Tensor) -> Tensor:
    """The reference's surrogate derivative dS/du = (1 / (1 + 10|u|))², same operation order."""
    return (1.0 / (1.0 + SURROGATE_SLOPE * u.abs())).pow(2)


class SurrogateSpike(torch.autograd.Function):
    """Heaviside forward (strict u > 0), fast-sigmoid surrogate backward — as in the reference."""

    @staticmethod
    def forward(ctx, u: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad * surrogate_grad(u)


def spike(u: Tensor, hard: Tensor | None = None) -> Tensor:
    """Straight-through form of :class:`SurrogateSpike`, usable in vectorised/scripted code.

    The forward value is exactly ``hard`` (default H(u)) because ``u − u.detach()`` is exactly 0;
    the gradient is ``grad · surrogate_grad(u)``, the very product SurrogateSpike.backward forms.
    """
    ud = u.detach()
    if hard is None:
        hard = (ud > 0).to(u.dtype)
    return hard + (u - ud) * surrogate_grad(ud)


@torch.jit.script
def _state_scan(
    current: Tensor, alpha: Tensor, theta: Tensor, v: Tensor, d: Tensor
) -> Tuple[Tensor, Tensor]:
    """V_t and D_t for all t from the hoisted I [B, T, H]; called without grad.

    ``where(S, 1 − D, D)`` is bitwise the toggle D(1 − S) + (1 − D)S for S ∈ {0, 1}.
    """
    vs: List[Tensor] = []
    ds: List[Tensor] = []
    for i_t in current.unbind(1):
        v = torch.addcmul(i_t, alpha, v)
        d = torch.where((v - theta) > 0, 1 - d, d)
        vs.append(v)
        ds.append(d)
    return torch.stack(vs, 1), torch.stack(ds, 1)


@torch.jit.script
def _reverse_scans(
    g_v: Tensor, g_d: Tensor, flip: Tensor, k: Tensor, alpha: Tensor
) -> Tuple[Tensor, Tensor]:
    """Total gradients w.r.t. D_t and V_t, running backwards through time.

    ∂D_t = g_d[t] + (1 − 2 S_{t+1}) ∂D_{t+1}             (flip[t] = 1 − 2 S_t)
    ∂V_t = g_v[t] + k[t] ∂D_t + α ∂V_{t+1}               (k[t] = (1 − 2 D_{t−1}) · surrogate_t)
    """
    gvs = g_v.unbind(1)
    gds = g_d.unbind(1)
    flips = flip.unbind(1)
    ks = k.unbind(1)
    steps = len(gvs)
    carry_v = torch.zeros_like(gvs[0])
    carry_d = torch.zeros_like(gvs[0])
    out_v: List[Tensor] = []
    out_d: List[Tensor] = []
    for t in range(steps - 1, -1, -1):
        gd = gds[t] + carry_d
        carry_d = gd * flips[t]
        gv = torch.addcmul(gvs[t], gd, ks[t]) + alpha * carry_v
        carry_v = gv
        out_v.append(gv)
        out_d.append(gd)
    out_v.reverse()
    out_d.reverse()
    return torch.stack(out_v, 1), torch.stack(out_d, 1)


def _shift_in(first: Tensor, seq: Tensor) -> Tensor:
    """[first, seq_0, ..., seq_{T−2}]: the previous-step values for every step."""
    return torch.cat([first.unsqueeze(1), seq[:, :-1]], 1)


class _HSRUCore(torch.autograd.Function):
    """(I, α, θ, V_0, D_0) -> (V, D) over a whole sequence, with exact BPTT through both states."""

    @staticmethod
    def forward(ctx, current: Tensor, alpha: Tensor, theta: Tensor, v0: Tensor, d0: Tensor):  # type: ignore[override]
        v, d = _state_scan(current, alpha, theta, v0, d0)
        ctx.save_for_backward(v, d, alpha, theta, v0, d0)
        return v, d

    @staticmethod
    @once_differentiable
    def backward(ctx, g_v: Tensor, g_d: Tensor):  # type: ignore[override]
        v, d, alpha, theta, v0, d0 = ctx.saved_tensors
        u = v - theta
        flip = 1 - 2 * (u > 0).to(v.dtype)
        d_prev = _shift_in(d0, d)
        k = (1 - 2 * d_prev) * surrogate_grad(u)
        g_vt, g_dt = _reverse_scans(g_v, g_d, flip, k, alpha)
        g_alpha = (g_vt * _shift_in(v0, v)).sum((0, 1))
        g_theta = -(g_dt * k).sum((0, 1))
        return g_vt, g_alpha, g_theta, alpha * g_vt[:, 0], g_dt[:, 0] * flip[:, 0]


class HSRU(Cell):
    """Faithful HSRU (``hsru``): V and D are detached every step — no gradient through time."""

    bptt: bool = False
    #: The spike's gradient is a surrogate, so finite differences cannot check it (arena.testing).
    exact_gradients = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        h = self.hidden_size
        # Same creation order as the reference layer, so one seed gives the same initial weights.
        self.linear_in = nn.Linear(self.input_size, h)
        self.tau = nn.Parameter(torch.randn(h))
        self.theta = nn.Parameter(torch.full((h,), 0.5))
        self.linear_out = nn.Linear(2 * h, h)

    @property
    def impl(self) -> str:  # type: ignore[override]
        loop = "scripted-loop" if isinstance(_state_scan, torch.jit.ScriptFunction) else "eager-loop"
        return loop + ("+manual-bptt" if self.bptt else "+parallel-detached-steps")

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone())

    def alpha(self) -> Tensor:
        return torch.exp(-F.softplus(self.tau))

    def _state(self, x: Tensor, state: State | None) -> Tuple[Tensor, Tensor]:
        if state is None:
            v0, d0 = self.initial_state(x.shape[0], x.device, x.dtype)  # type: ignore[misc]
            return v0, d0
        v0, d0 = state  # type: ignore[misc]
        return v0, d0

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        v0, d0 = self._state(x, state)
        current = self.linear_in(x)
        alpha = self.alpha()
        if self.bptt:
            v, d = _HSRUCore.apply(current, alpha, self.theta, v0, d0)
        else:
            # Everything from the previous step enters detached (made under no_grad): no BPTT.
            with torch.no_grad():
                v_seq, d_seq = _state_scan(current, alpha, self.theta, v0, d0)
                s_hard = ((v_seq - self.theta) > 0).to(x.dtype)
                v_prev, d_prev = _shift_in(v0, v_seq), _shift_in(d0, d_seq)
            # Every step's own graph, rebuilt in parallel from the detached previous states.
            v = torch.addcmul(current, alpha, v_prev)
            s = spike(v - self.theta, s_hard)
            d = d_prev * (1 - s) + (1 - d_prev) * s
        y = torch.tanh(self.linear_out(torch.cat([v, d], -1)))
        return y, (v[:, -1], d[:, -1])

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        v_prev, d_prev = self._state(x_t, state)
        if not self.bptt:
            v_prev, d_prev = v_prev.detach(), d_prev.detach()
        v = torch.addcmul(self.linear_in(x_t), self.alpha(), v_prev)
        s = spike(v - self.theta)
        d = d_prev * (1 - s) + (1 - d_prev) * s
        y = torch.tanh(self.linear_out(torch.cat([v, d], -1)))
        return y, (v, d)

    def extra_info(self) -> dict[str, object]:
        return {"impl": self.impl, "bptt": self.bptt}


class HSRUBPTT(HSRU):
    """HSRU with backpropagation through time (``hsru-bptt``): the reference's detach removed."""

    bptt = True
