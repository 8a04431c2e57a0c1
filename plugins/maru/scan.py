"""MARU's selective scan s_t = exp(Δ_t ⊗ A) ⊙ s_{t−1} + B_t ⊗ (Δ_t ⊙ u_t), y_t = C_t s_t (time-major).

Two forms, same contract (``selective_scan``):

* ``"sequential"``: a TorchScript loop with exp(Δ·A) computed as exp2(Δ·A·log₂e) (exp2 is ~4×
  cheaper than exp on this CPU); its backward recomputes the states chunk by chunk (16 steps)
  from checkpoints, so no (T, B, N, E) tensor is kept.
  Mamba-2's chunked "SSD" form does not apply: it needs one scalar decay per head, while Mamba-1's
  A is diagonal with a different decay for each of the N·E state entries, so a chunk's
  state-to-output map is an (L, L, N, E) tensor (L times the sequential scan's work, and a
  factored exp(A·cumΔ) form overflows); the scan is elementwise work either way.
* ``"parallel"`` is a Blelloch-style work-efficient associative scan (depth 2·log₂T; every
  coefficient a product of decays in (0, 1], nothing overflows) with the Mamba block through
  autograd; ``"auto"`` takes it on non-CPU devices (the usual GPU choice; not measured, no GPU
  was available) and the sequential loop on CPU, where the parallel form streams several
  (T, B, N, E) tensors and was ~6× slower (measured before the rewrite). ``mamba_ssm``'s fused kernel is not used: it takes no
  initial SSM state, so chunked runs and ``step`` could not carry it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .constants import CHUNK, LOG2E


# --- selective scan (time-major: every per-step slice is contiguous) --------------------------
# State layout (N, E): every broadcast and reduction runs along the long contiguous E axis.

@torch.jit.script
def _scan_fwd(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, A2: Tensor, s0: Tensor,
              L: int) -> tuple[Tensor, Tensor, Tensor]:
    """s_t = exp2(Δ_t ⊗ A2) ⊙ s_{t−1} + B_t ⊗ (Δ_t ⊙ u_t), y_t = C_t s_t, without autograd.

    delta, u: (T, B, E); Bm, C: (T, B, N); A2 = Aᵀ·log2(e): (N, E); s0: (B, N, E). Returns y
    (T, B, E), s_T and, if L > 0, the states entering every L-th step (the backward's checkpoints).
    """
    T, Bsz, E = delta.shape
    N = A2.shape[0]
    nck = (T + L - 1) // L if L > 0 else 0
    ck = torch.empty(nck, Bsz, N, E, dtype=s0.dtype, device=s0.device)
    y = torch.empty(T, Bsz, 1, E, dtype=s0.dtype, device=s0.device)
    x = delta * u
    dA = torch.empty(Bsz, N, E, dtype=s0.dtype, device=s0.device)
    s = s0.clone()
    for t in range(T):
        if L > 0 and t % L == 0:
            ck[t // L].copy_(s)
        torch.mul(delta[t].unsqueeze(1), A2, out=dA).exp2_()
        s.mul_(dA).addcmul_(Bm[t].unsqueeze(2), x[t].unsqueeze(1))
        torch.bmm(C[t].unsqueeze(1), s, out=y[t])
    return y.view(T, Bsz, E), s, ck


@torch.jit.script
def _scan_bwd(gy: Tensor, gsT: Tensor, delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,
              ck: Tensor, L: int) -> list[Tensor]:
    """Adjoint of ``_scan_fwd``, chunk by chunk from the end: the chunk's states are recomputed
    from its checkpoint (buffers that stay in cache instead of the (T, B, N, E) states autograd
    would keep), then G_t = ∂L/∂s_t runs backwards, G_t = C_t ⊗ ∂y_t + dA_{t+1} ⊙ G_{t+1}, and
    ∂x = Bᵀ G, ∂B = G x, ∂C = s ∂y, W = G ⊙ dA ⊙ s_{t−1}: ∂Δ = Σ_n W A + ∂x u, ∂A = Σ W Δ.
    Returns [∂delta, ∂u, ∂B, ∂C, ∂Aᵀ, ∂s0].
    """
    T, Bsz, E = delta.shape
    N = At.shape[0]
    A2 = At * 1.4426950408889634  # log2(e), as LOG2E
    x = delta * u
    gdelta = torch.empty(T, Bsz, E, dtype=gy.dtype, device=gy.device)
    gu = torch.empty(T, Bsz, E, dtype=gy.dtype, device=gy.device)
    gB = torch.empty(T, Bsz, 1, N, dtype=gy.dtype, device=gy.device)
    gC = torch.empty(T, Bsz, 1, N, dtype=gy.dtype, device=gy.device)
    S = torch.empty(L + 1, Bsz, N, E, dtype=gy.dtype, device=gy.device)
    D = torch.empty(L, Bsz, N, E, dtype=gy.dtype, device=gy.device)
    W = torch.empty(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    gA = torch.zeros(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    G = gsT.clone()  # ∂L/∂s, updated in place from s_T back to s_0
    for c in range(ck.shape[0] - 1, -1, -1):
        t0 = c * L
        n = min(T, t0 + L) - t0
        S[0].copy_(ck[c])
        for i in range(n):
            t = t0 + i
            torch.mul(delta[t].unsqueeze(1), A2, out=D[i]).exp2_()
            torch.mul(S[i], D[i], out=S[i + 1]).addcmul_(Bm[t].unsqueeze(2), x[t].unsqueeze(1))
        for i in range(n - 1, -1, -1):
            t = t0 + i
            gyt = gy[t].unsqueeze(1)
            G.addcmul_(C[t].unsqueeze(2), gyt)  # G_t = C_t ⊗ ∂y_t + dA_{t+1} ⊙ G_{t+1}
            torch.bmm(gyt, S[i + 1].transpose(1, 2), out=gC[t])
            torch.bmm(x[t].unsqueeze(1), G.transpose(1, 2), out=gB[t])
            gx = torch.bmm(Bm[t].unsqueeze(1), G).squeeze(1)
            G.mul_(D[i])
            torch.mul(G, S[i], out=W)
            gA.addcmul_(W, delta[t].unsqueeze(1))
            torch.addcmul(W.mul_(At).sum(1), gx, u[t], out=gdelta[t])
            torch.mul(gx, delta[t], out=gu[t])
    return [gdelta, gu, gB.view(T, Bsz, N), gC.view(T, Bsz, N), gA.sum(0), G]


class _SelectiveScan(torch.autograd.Function):
    """y, s_T = scan(delta, u, B, C, Aᵀ, s_0) (time-major) with the checkpointed backward."""

    @staticmethod
    def forward(ctx: Any, delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,  # type: ignore[override]
                s0: Tensor) -> tuple[Tensor, Tensor]:
        y, sT, ck = _scan_fwd(delta, u, Bm, C, At * LOG2E, s0, CHUNK)
        ctx.save_for_backward(delta, u, Bm, C, At, ck)
        return y, sT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, gy: Tensor | None, gsT: Tensor | None) -> tuple[Tensor, ...]:  # type: ignore[override]
        delta, u, Bm, C, At, ck = ctx.saved_tensors
        gy = torch.zeros_like(delta) if gy is None else gy.contiguous()
        gsT = torch.zeros_like(ck[0]) if gsT is None else gsT.contiguous()
        return tuple(_scan_bwd(gy, gsT, delta, u, Bm, C, At, ck, CHUNK))


def _assoc_scan(a: Tensor, b: Tensor) -> Tensor:
    """All s_t = a_t s_{t−1} + b_t (s_{−1} = 0) along dim 0, work-efficient (Blelloch) form.

    Adjacent pairs are combined into one step ((a₀, b₀) then (a₁, b₁) = (a₁a₀, a₁b₀ + b₁)), the
    half-length problem is solved recursively for the odd positions, and the even positions are
    filled in from their left neighbours: O(T) work, depth 2·log₂T.
    """
    T = a.shape[0]
    if T == 1:
        return b
    if T % 2 == 1:  # pad with the identity step (a = 1, b = 0)
        a = torch.cat([a, torch.ones_like(a[:1])], 0)
        b = torch.cat([b, torch.zeros_like(b[:1])], 0)
    a0, a1 = a[0::2], a[1::2]
    b0, b1 = b[0::2], b[1::2]
    s_odd = _assoc_scan(a1 * a0, torch.addcmul(b1, a1, b0))
    s_even = torch.cat([b0[:1], torch.addcmul(b0[1:], a0[1:], s_odd[:-1])], 0)
    return torch.stack([s_even, s_odd], 1).flatten(0, 1)[:T]


def _ssm_parallel(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,
                  s0: Tensor) -> tuple[Tensor, Tensor]:
    """Same contract as ``_scan_fwd`` (time-major), via the associative scan with autograd."""
    dA = torch.exp(delta.unsqueeze(2) * At)
    bx = Bm.unsqueeze(3) * (delta * u).unsqueeze(2)
    # The carried state enters through the first step: b_0 ← b_0 + a_0 s_0.
    bx = torch.cat([torch.addcmul(bx[:1], dA[:1], s0.unsqueeze(0)), bx[1:]], 0)
    s = _assoc_scan(dA, bx)
    y = torch.matmul(C.unsqueeze(2), s).squeeze(2)
    return y, s[-1]


def selective_scan(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor, s0: Tensor,
                   parallel: bool) -> tuple[Tensor, Tensor]:
    """y (T, B, E) without the D skip, and the last state (B, N, E); time-major, At = Aᵀ (N, E)."""
    args = (delta.contiguous(), u.contiguous(), Bm.contiguous(), C.contiguous(), At.contiguous(),
            s0.contiguous())
    if parallel:
        return _ssm_parallel(*args)
    if torch.is_grad_enabled() and any(a.requires_grad for a in args):
        return _SelectiveScan.apply(*args)
    y, sT, _ = _scan_fwd(*args[:4], args[4] * LOG2E, args[5], 0)
    return y, sT
