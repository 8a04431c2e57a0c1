"""MoGRU (momentum-gated recurrent unit) and its MomentumRNN-style baseline MomGRU.

Reference: Thormatt/mogru (snapshot 08f8191), ``mogru/mogru.py`` (``MoGRUCell``,
``MomentumGRUCell``) and ``mogru/ablation.py``; spec ../shared/specs/cells-and-tasks.md §3.
MomGRU follows Nguyen et al. 2020, "MomentumRNN" (arXiv:2006.06919), applied to a GRU as in
the MoGRU repository.

MoGRU (state ``(h, v)``, both zero at t=0, output h_t)::

    c       = [x_t, h_{t-1}]
    r, u    = σ(W_ru c + b_ru)                      # reset, update
    β       = σ(W_β c + b_β)                        # per-unit momentum retention
    h̃       = tanh(W_h x_t + b_h + U_h (r ⊙ h_{t-1}))   # U_h has no bias
    d       = h̃ − h_{t-1}
    v_t     = β ⊙ v_{t-1} + (1 − β) ⊙ d
    h_t     = LayerNorm(h_{t-1} + u ⊙ v_t)           # affine LN, eps 1e-5

Init (as the reference): xavier_uniform on every ≥2-D weight, biases 0 except b_β = +2
(β ≈ 0.88) and the update half of b_ru = −2 (u ≈ 0.12). Parameters 4H(I+H) + 6H.

Options (all off by default, as in the reference):

* ``velocity_clip`` c > 0: v_t ← clamp(v_t, −c, c)  (0 means off; the reference uses None).
* ``velocity_norm``: v_t ← LayerNorm_v(v_t) (affine, +2H params), applied after the clip.
  The clipped/normalised v_t is what is carried to the next step, as in the reference.
* ``velocity_gate``: v_t = β v_{t−1} + α (1 − β) d, α = σ(W_α c + b_α), b_α = +2
  (+H(I+H)+H params).
* ``damping``: h_t = LN((1 − γ) ⊙ h_{t−1} + u ⊙ v_t), γ = σ(W_γ c + b_γ), b_γ = 0
  (+H(I+H)+H params). As in the reference the damping acts *before* the LayerNorm. Because LN
  is invariant to a common rescaling, a damping that is uniform across units is largely undone
  by the LN when u ⊙ v is small; only the per-unit *relative* damping survives. With
  ``layer_norm=False`` the damping is a genuine decay. We keep the reference order.

Known behaviour, kept as in the reference: with b_h = 0 an input that is exactly zero keeps
h at exactly 0 (h̃ = tanh(0) = 0, so v = 0), the LayerNorm then sees zero variance and its
backward multiplies the gradient by 1/sqrt(eps) ≈ 316 per step. About 15 zero steps from t = 0
overflow float32, so the very first gradient is NaN on tasks whose inputs start with runs of
exact zeros (``counting``'s 0/1 inputs, ``sparse-events``' zero "no event" embedding): MoGRU
diverges there on every seed (docs/reproduction.md; tests/test_mogru.py). ``layer_norm=False``
avoids it. A non-zero b_h init would too; it is not an option yet because a new option changes
every stored MoGRU run's key.

Ablations (reference ``ablation.py``; they compose with the options above, which the reference
ablations never combined with):

* ``beta_mode="fixed"``: β = ``fixed_beta`` (0.9) constant; ``beta_mode="zero"``: β = 0, i.e.
  v_t = d (no momentum), which gives h_t = LN((1 − u) h_{t−1} + u h̃): a Cho-style GRU (reset
  before U_h) *plus* LayerNorm, not exactly a GRU.
* ``layer_norm=False``: no LN on h (−2H params).
* ``reset=False``: r = 1, so U_h acts on h_{t−1} directly (and is fused with the gate matmul).

Deviation in parameter *count* only: the reference ablation subclasses keep the unused W_β
(fixed/zero β) and the unused reset half of W_ru (no reset) allocated, so they report the full
model's count with parameters that never get a gradient. We do not allocate unused weights:
fixed/zero β drops H(I+H)+H, no reset drops H(I+H)+H. The update weights of the no-reset
variant are still drawn with the xavier bound of the reference's (2H, I+H) matrix.

MomGRU (state ``(h, v)`` with v 3H wide, both zero at t=0; μ, ε fixed, not learned)::

    v_t       = μ v_{t−1} + ε (W_x x_t + b_x)       # momentum on the input projection
    a         = U h_{t−1}                            # U: 3H × H, no bias
    r, z      = σ(v_r + a_r), σ(v_z + a_z)
    n         = tanh(v_n + r ⊙ a_n)
    h_t       = (1 − z) ⊙ h_{t−1} + z ⊙ n

Bias layout (as the reference's ``x2h`` Linear with bias and ``h2h`` without): parameters
3H·I + 3H + 3H² = 3H(I+H) + 3H. This reproduces the §3.2 totals: copy (I=H=128, embedding
18×128, head 128→17) 98,688 + 2,304 + 2,193 = 103,185; adding (I=2, head 128→1)
50,304 + 129 = 50,433; trend (I=1) 49,920 + 129 = 50,049. Init: the spec gives none, the
reference code does — xavier_uniform on W_x (3H×I) and U (3H×H) as whole matrices and zero
biases — and we follow the reference rather than torch's GRU default, so results are comparable
with the published MomGRU numbers. Note z here is the "write" gate (h = (1−z)h + z n), the
opposite convention to torch.nn.GRU.

Speed: every x-projection (all gates and the candidate's W_h x + b_h; MomGRU's ε(W_x x + b_x))
is one matmul over the whole sequence before the loop; the loop (TorchScript, ``impl =
"scripted-loop"``) keeps only the h-dependent matmuls and elementwise work, and steps over
``unbind``-ed views. The default MoGRU runs a branch-free copy of the loop (the general one,
with option branches, measured ~15% slower). MomGRU's v recurrence depends on x only, but a
chunked-matmul scan for it measured no faster than the one add per step, so it stays in the loop.
Measured fwd+bwd at B=32, I=64, H=128, T=256 (CPU, paired against nn.GRU): MoGRU ≈ 1.3×,
MomGRU ≈ 1.0–1.1× nn.GRU's time. MoGRU needs two dependent matmuls per step (r acts before U_h).
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from arena.cell import Cell, State

_BETA_MODES = {"learned": 0, "fixed": 1, "zero": 2}


def _mogru_loop_eager(
    xg: Tensor,  # (T, B, G*H) x-parts of the gates (+ W_h x + b_h when ``reset`` is off)
    xh: Tensor,  # (T, B, H) W_h x + b_h (ignored when ``reset`` is off)
    h: Tensor,
    v: Tensor,
    ug: Tensor,  # (H, G*H [+H]) transposed recurrent gate weights [with U_h when reset is off]
    uh: Tensor,  # (H, H) transposed U_h
    ln_w: Optional[Tensor],
    ln_b: Optional[Tensor],
    vln_w: Optional[Tensor],
    vln_b: Optional[Tensor],
    reset: bool,
    beta_mode: int,
    fixed_beta: float,
    gate_alpha: bool,
    damping: bool,
    clip: float,
) -> Tuple[Tensor, Tensor, Tensor]:
    hs = h.size(1)
    # Gate layout: [r] u [β] [α] [γ]; chunk (one autograd node) rather than per-gate slices.
    n_gates = 1 + int(reset) + int(beta_mode == 0) + int(gate_alpha) + int(damping)
    i_u = 1 if reset else 0
    i_b = i_u + 1
    i_a = i_b + 1 if beta_mode == 0 else i_b
    i_g = i_a + 1 if gate_alpha else i_a
    xhs = xh.unbind(0)
    outs: List[Tensor] = []
    t = 0
    for xg_t in xg.unbind(0):
        if reset:
            gs = torch.sigmoid(torch.addmm(xg_t, h, ug)).chunk(n_gates, 1)
            cand = torch.tanh(torch.addmm(xhs[t], gs[0] * h, uh))
        else:
            # r = 1: U_h h rides in the same matmul as the gates.
            a_g, a_h = torch.addmm(xg_t, h, ug).split([n_gates * hs, hs], 1)
            gs = torch.sigmoid(a_g).chunk(n_gates, 1)
            cand = torch.tanh(a_h)
        d = cand - h
        if gate_alpha:
            d = gs[i_a] * d
        if beta_mode == 0:
            v = torch.lerp(d, v, gs[i_b])  # β v + (1 − β) d
        elif beta_mode == 1:
            v = torch.lerp(d, v, fixed_beta)
        else:
            v = d
        if clip > 0.0:
            v = v.clamp(-clip, clip)
        if vln_w is not None:
            v = torch.layer_norm(v, [hs], vln_w, vln_b, 1e-5)
        if damping:
            h = torch.addcmul((1.0 - gs[i_g]) * h, gs[i_u], v)
        else:
            h = torch.addcmul(h, gs[i_u], v)
        if ln_w is not None:
            h = torch.layer_norm(h, [hs], ln_w, ln_b, 1e-5)
        outs.append(h)
        t += 1
    return torch.stack(outs, 1), h, v


def _mogru_default_loop_eager(
    xg: Tensor, xh: Tensor, h: Tensor, v: Tensor, ug: Tensor, uh: Tensor, ln_w: Tensor, ln_b: Tensor
) -> Tuple[Tensor, Tensor, Tensor]:
    """The default cell only (r, u, learned β, LN): the general loop's branches and list-valued
    chunk cost about 15% under TorchScript, and the default is what every benchmark runs."""
    hs = h.size(1)
    xhs = xh.unbind(0)
    outs: List[Tensor] = []
    t = 0
    for xg_t in xg.unbind(0):
        r, u, beta = torch.sigmoid(torch.addmm(xg_t, h, ug)).chunk(3, 1)
        cand = torch.tanh(torch.addmm(xhs[t], r * h, uh))
        v = torch.lerp(cand - h, v, beta)  # β v + (1 − β)(h̃ − h)
        h = torch.layer_norm(torch.addcmul(h, u, v), [hs], ln_w, ln_b, 1e-5)
        outs.append(h)
        t += 1
    return torch.stack(outs, 1), h, v


def _momgru_loop_eager(p: Tensor, h: Tensor, v: Tensor, u_t: Tensor, mu: float) -> Tuple[Tensor, Tensor, Tensor]:
    """p: (T, B, 3H) = ε (W_x x + b_x); u_t: (H, 3H) transposed recurrent weight."""
    hs = h.size(1)
    outs: List[Tensor] = []
    for p_t in p.unbind(0):
        v = torch.add(p_t, v, alpha=mu)
        v_rz, v_n = v.split([2 * hs, hs], 1)
        a_rz, a_n = torch.mm(h, u_t).split([2 * hs, hs], 1)
        r, z = torch.sigmoid(v_rz + a_rz).chunk(2, 1)
        h = torch.lerp(h, torch.tanh(torch.addcmul(v_n, r, a_n)), z)  # (1 − z) h + z n
        outs.append(h)
    return torch.stack(outs, 1), h, v


_mogru_loop = torch.jit.script(_mogru_loop_eager)
_mogru_default_loop = torch.jit.script(_mogru_default_loop_eager)
_momgru_loop = torch.jit.script(_momgru_loop_eager)


def _xavier_(w: Tensor, fan_out: int, fan_in: int) -> None:
    """xavier_uniform_ with explicit fans (so a slice of a reference matrix keeps its bound)."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-bound, bound)


class MoGRU(Cell):
    """Momentum-gated GRU: a velocity state v smooths the steps h̃ − h (see module docstring)."""

    impl = "scripted-loop"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        layer_norm: bool = True,
        reset: bool = True,
        beta_mode: str = "learned",
        fixed_beta: float = 0.9,
        velocity_clip: float = 0.0,
        velocity_norm: bool = False,
        velocity_gate: bool = False,
        damping: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size)
        if beta_mode not in _BETA_MODES:
            raise ValueError(f"beta_mode must be one of {sorted(_BETA_MODES)}, got {beta_mode!r}")
        if not 0.0 <= fixed_beta <= 1.0:
            raise ValueError(f"fixed_beta must lie in [0, 1], got {fixed_beta}")
        if velocity_clip < 0:
            raise ValueError(f"velocity_clip must be >= 0 (0 = off), got {velocity_clip}")
        self.layer_norm = bool(layer_norm)
        self.reset = bool(reset)
        self.beta_mode = beta_mode
        self.fixed_beta = float(fixed_beta)
        self.velocity_clip = float(velocity_clip)
        self.velocity_norm = bool(velocity_norm)
        self.velocity_gate = bool(velocity_gate)
        self.damping = bool(damping)

        self._default = (self.layer_norm and self.reset and beta_mode == "learned" and self.velocity_clip == 0
                         and not (self.velocity_norm or self.velocity_gate or self.damping))
        i, h = self.input_size, self.hidden_size
        c = i + h
        # Gates that read [x, h]: weight (rows, I+H) + bias (rows), as the reference's Linears.
        # Registration order = the gate layout used by the loop.
        self._gates: list[str] = []

        def gate(name: str, rows: int) -> None:
            setattr(self, f"weight_{name}", nn.Parameter(torch.empty(rows, c)))
            setattr(self, f"bias_{name}", nn.Parameter(torch.zeros(rows)))
            self._gates.append(name)

        gate("ru" if self.reset else "u", 2 * h if self.reset else h)
        if beta_mode == "learned":
            gate("beta", h)
        if self.velocity_gate:
            gate("alpha", h)
        if self.damping:
            gate("gamma", h)
        self.weight_h = nn.Parameter(torch.empty(h, i))
        self.bias_h = nn.Parameter(torch.zeros(h))
        self.weight_uh = nn.Parameter(torch.empty(h, h))  # U_h, bias-free
        if self.velocity_norm:
            self.vln_weight = nn.Parameter(torch.ones(h))
            self.vln_bias = nn.Parameter(torch.zeros(h))
        if self.layer_norm:
            self.ln_weight = nn.Parameter(torch.ones(h))
            self.ln_bias = nn.Parameter(torch.zeros(h))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        h = self.hidden_size
        for name in self._gates:
            w = getattr(self, f"weight_{name}")
            # No-reset keeps the bound of the reference's (2H, I+H) W_ru.
            _xavier_(w, 2 * h if name == "u" else w.shape[0], w.shape[1])
            nn.init.zeros_(getattr(self, f"bias_{name}"))
        nn.init.xavier_uniform_(self.weight_h)
        nn.init.zeros_(self.bias_h)
        nn.init.xavier_uniform_(self.weight_uh)
        with torch.no_grad():
            if self.reset:
                self.bias_ru[h:].fill_(-2.0)  # update half: u ≈ 0.12
            else:
                self.bias_u.fill_(-2.0)
            if self.beta_mode == "learned":
                self.bias_beta.fill_(2.0)  # β ≈ 0.88
            if self.velocity_gate:
                self.bias_alpha.fill_(2.0)  # α ≈ 0.88
        if self.velocity_norm:
            nn.init.ones_(self.vln_weight)
            nn.init.zeros_(self.vln_bias)
        if self.layer_norm:
            nn.init.ones_(self.ln_weight)
            nn.init.zeros_(self.ln_bias)

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone())

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        i = self.input_size
        if state is None:
            state = self.initial_state(x.shape[0], x.device, x.dtype)
        h0, v0 = state  # type: ignore[misc]
        ws = [getattr(self, f"weight_{n}") for n in self._gates]
        wx = torch.cat([w[:, :i] for w in ws] + [self.weight_h])
        bx = torch.cat([getattr(self, f"bias_{n}") for n in self._gates] + [self.bias_h])
        uh = self.weight_uh
        u_gates = [w[:, i:] for w in ws]
        u_all = torch.cat(u_gates if self.reset else u_gates + [uh]).t()
        xp = F.linear(x.transpose(0, 1), wx, bx)  # (T, B, G*H + H), all x-work hoisted
        if self.reset:
            xg, xh = xp.split([xp.shape[-1] - self.hidden_size, self.hidden_size], 2)
        else:
            xg, xh = xp, xp[:0]
        if self._default:
            y, h, v = _mogru_default_loop(xg, xh, h0, v0, u_all, uh.t(), self.ln_weight, self.ln_bias)
            return y, (h, v)
        y, h, v = _mogru_loop(
            xg, xh, h0, v0, u_all, uh.t(),
            self.ln_weight if self.layer_norm else None,
            self.ln_bias if self.layer_norm else None,
            self.vln_weight if self.velocity_norm else None,
            self.vln_bias if self.velocity_norm else None,
            self.reset, _BETA_MODES[self.beta_mode], self.fixed_beta,
            self.velocity_gate, self.damping, self.velocity_clip,
        )
        return y, (h, v)

    def extra_info(self) -> dict[str, object]:
        return {"impl": self.impl, "loop": "default" if self._default else "general"}


class MomGRU(Cell):
    """MomentumRNN-style GRU: heavy-ball momentum on the input projection (see module docstring)."""

    impl = "scripted-loop"

    def __init__(self, input_size: int, hidden_size: int, mu: float = 0.9, eps: float = 1.0) -> None:
        super().__init__(input_size, hidden_size)
        self.mu = float(mu)
        self.eps = float(eps)
        h = self.hidden_size
        self.weight_x = nn.Parameter(torch.empty(3 * h, self.input_size))  # rows: r, z, n
        self.bias_x = nn.Parameter(torch.zeros(3 * h))
        self.weight_h = nn.Parameter(torch.empty(3 * h, h))  # bias-free
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight_x)
        nn.init.xavier_uniform_(self.weight_h)
        nn.init.zeros_(self.bias_x)

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        h = self.hidden_size
        return (torch.zeros(batch, h, device=device, dtype=dtype),
                torch.zeros(batch, 3 * h, device=device, dtype=dtype))

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if state is None:
            state = self.initial_state(x.shape[0], x.device, x.dtype)
        h0, v0 = state  # type: ignore[misc]
        p = F.linear(x.transpose(0, 1), self.weight_x, self.bias_x)
        if self.eps != 1.0:
            p = p * self.eps
        y, h, v = _momgru_loop(p, h0, v0, self.weight_h.t(), self.mu)
        return y, (h, v)
