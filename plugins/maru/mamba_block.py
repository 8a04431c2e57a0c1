"""The Mamba block between in_proj and out_proj as one autograd Function, with its backward written out.

Mamba block (``"sequential"`` scan): conv → SiLU → x_proj/dt_proj → softplus → scan → D skip →
SiLU(z) gate is one autograd Function (``_MambaCore``) whose backward is written out: a few
in-place passes over (T, B, E) tensors instead of autograd's dozens of temporaries (fresh
large tensors cost page faults here), and x_proj/dt_proj weight gradients as single products.
The scan inside it is ``scan.py``'s. ``_mamba_core_autograd`` is the same block through autograd
with the parallel scan (the GPU path).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .constants import CHUNK, LOG2E
from .scan import _scan_bwd, _scan_fwd, _ssm_parallel


# --- Mamba block core: conv → SiLU → x_proj/dt_proj → scan → gate, one autograd Function --------

def _conv_tm(xs: Tensor, win: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Depthwise causal conv along time: xs (T, B, E) continued from win (k−1, B, E), weight (E, k).

    pre[t] = b + Σ_j w_j ⊙ xp[t + j] with xp = [win; xs]; no (T + k − 1)-step copy of the input.
    """
    T = xs.shape[0]
    k = w.shape[1]
    wt = w.t().contiguous()  # tap j's weights as a contiguous row: broadcasts along E vectorise
    pre = torch.addcmul(b, xs, wt[k - 1])
    for j in range(k - 1):
        s = k - 1 - j  # this tap reaches s steps back
        if T > s:
            pre[s:].addcmul_(xs[:T - s], wt[j])
        m = min(s, T)
        pre[:m].addcmul_(win[j:j + m], wt[j])
    return pre


def _new_window(xs: Tensor, win: Tensor) -> Tensor:
    """The last k−1 conv inputs (B, k−1, E) after xs (T, B, E) followed win (k−1, B, E)."""
    km1, T = win.shape[0], xs.shape[0]
    if T >= km1:
        return xs[T - km1:].transpose(0, 1).contiguous()
    return torch.cat([win[T:], xs], 0).transpose(0, 1).contiguous()


def _mamba_core_fwd(xz: Tensor, win: Tensor, cw: Tensor, cb: Tensor, W_xp: Tensor, W_dt: Tensor, b_dt: Tensor,
                    At: Tensor, D: Tensor, s0: Tensor, L: int) -> tuple[Tensor, ...]:
    T, B, E2 = xz.shape
    E = E2 // 2
    N, Rdt = At.shape[0], W_dt.shape[1]
    xs, z = xz[..., :E], xz[..., E:]
    win_t = win.transpose(0, 1)
    pre = _conv_tm(xs, win_t, cw, cb)
    xi = F.silu(pre)
    dbc = torch.mm(xi.view(T * B, E), W_xp.t())
    delta = F.softplus(torch.addmm(b_dt, dbc[:, :Rdt], W_dt.t())).view(T, B, E)
    Bm = dbc[:, Rdt:Rdt + N].reshape(T, B, N).contiguous()
    C = dbc[:, Rdt + N:].reshape(T, B, N).contiguous()
    # Aᵀ comes in as a transposed view: a non-contiguous operand makes every per-step broadcast
    # with it several times slower
    y, sT, ck = _scan_fwd(delta, xi, Bm, C, (At * LOG2E).contiguous(), s0.contiguous(), L)
    y.addcmul_(xi, D)  # y + D ⊙ ξ
    out = y * F.silu(z)
    return out, _new_window(xs, win_t), sT, pre, xi, dbc, delta, Bm, C, y, ck


class _MambaCore(torch.autograd.Function):
    """out = (scan(Δ, ξ, B, C) + D ⊙ ξ) ⊙ SiLU(z), ξ = SiLU(conv(x̃)), [δ, B, C] = x_proj ξ,
    Δ = softplus(dt_proj δ), for xz = [x̃, z] (T, B, 2E), with a hand-written backward: the
    elementwise chain's adjoint is written out (a few passes over (T, B, E) instead of autograd's
    dozens of temporaries), the scan's is ``_scan_bwd``, and x_proj/dt_proj's weight gradients
    are single (T·B)-row matmuls. Returns out (T, B, E), the new conv window and s_T.
    """

    @staticmethod
    def forward(ctx: Any, xz: Tensor, win: Tensor, cw: Tensor, cb: Tensor, W_xp: Tensor, W_dt: Tensor,  # type: ignore[override]
                b_dt: Tensor, At: Tensor, D: Tensor, s0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        At = At.contiguous()
        out, new_win, sT, pre, xi, dbc, delta, Bm, C, ypd, ck = _mamba_core_fwd(
            xz, win, cw, cb, W_xp, W_dt, b_dt, At, D, s0, CHUNK)
        ctx.save_for_backward(xz, win, cw, W_xp, W_dt, At, D, pre, xi, dbc, delta, Bm, C, ypd, ck)
        return out, new_win, sT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g_out: Tensor | None, g_win: Tensor | None,  # type: ignore[override]
                 g_sT: Tensor | None) -> tuple[Tensor | None, ...]:
        xz, win, cw, W_xp, W_dt, At, D, pre, xi, dbc, delta, Bm, C, ypd, ck = ctx.saved_tensors
        T, B, E2 = xz.shape
        E, k = E2 // 2, cw.shape[1]
        N, Rdt = At.shape[0], W_dt.shape[1]
        xs, z = xz[..., :E], xz[..., E:]
        g_xz = torch.empty_like(xz)
        g_xs, g_z = g_xz[..., :E], g_xz[..., E:]
        # Few fresh (T, B, E) tensors, chains in place: each fresh large tensor costs page faults.
        if g_out is None:
            g_y = torch.zeros_like(xi)
            g_z.zero_()
        else:
            g_out = g_out.contiguous()
            sig = torch.sigmoid(z)
            g_y = torch.mul(g_out, z).mul_(sig)  # ∂(y + D ξ) = ∂out ⊙ SiLU(z)
            # SiLU'(z) = σ (1 + z (1 − σ))
            torch.mul(g_out, ypd, out=g_z).mul_(sig.neg().add_(1.0).mul_(z).add_(1.0).mul_(sig))
            del sig
        tmp = torch.mul(g_y, xi)
        g_D = tmp.sum((0, 1))
        gsT = torch.zeros_like(ck[0]) if g_sT is None else g_sT.contiguous()
        g_delta, g_xi, g_B, g_C, g_At, g_s0 = _scan_bwd(g_y, gsT, delta, xi, Bm, C, At, ck, CHUNK)
        g_xi.addcmul_(g_y, D)
        del g_y
        # Δ = softplus(a): ∂a = ∂Δ σ(a), σ(a) = 1 − exp(−Δ)
        g_a = torch.neg(delta, out=tmp).expm1_().neg_().mul_(g_delta).view(T * B, E)
        del g_delta
        g_dbc = torch.empty(T * B, Rdt + 2 * N, dtype=xz.dtype, device=xz.device)
        torch.mm(g_a, W_dt, out=g_dbc[:, :Rdt])
        g_dbc[:, Rdt:Rdt + N] = g_B.view(T * B, N)
        g_dbc[:, Rdt + N:] = g_C.view(T * B, N)
        g_W_dt = torch.mm(g_a.t(), dbc[:, :Rdt])
        g_b_dt = g_a.sum(0)
        g_W_xp = torch.mm(g_dbc.t(), xi.view(T * B, E))
        g_xi.view(T * B, E).addmm_(g_dbc, W_xp)
        # ξ = SiLU(pre): SiLU'(pre) = σ + ξ (1 − σ)
        sp = torch.sigmoid(pre, out=tmp.view(T, B, E))
        g_pre = g_xi.mul_(torch.neg(sp).add_(1.0).mul_(xi).add_(sp))
        # depthwise causal conv: pre[t] = b + Σ_j w_j xp[t + j]
        win_t = win.transpose(0, 1)
        g_win_t = torch.zeros_like(win_t)
        g_cw = torch.empty_like(cw)
        cwt = cw.t().contiguous()
        torch.mul(g_pre, cwt[k - 1], out=g_xs)
        prod = tmp.view(T, B, E)  # reused for every tap's products
        g_cw[:, k - 1] = torch.mul(g_pre, xs, out=prod).sum((0, 1))
        for j in range(k - 1):
            s = k - 1 - j
            m = min(s, T)
            acc = (g_pre[:m] * win_t[j:j + m]).sum((0, 1))
            g_win_t[j:j + m].addcmul_(g_pre[:m], cwt[j])
            if T > s:
                g_xs[:T - s].addcmul_(g_pre[s:], cwt[j])
                acc = acc + torch.mul(g_pre[s:], xs[:T - s], out=prod[:T - s]).sum((0, 1))
            g_cw[:, j] = acc
        g_cb = g_pre.sum((0, 1))
        if g_win is not None:  # the new window is the last k − 1 conv inputs
            g_nw = g_win.transpose(0, 1)
            km1 = k - 1
            if T >= km1:
                g_xs[T - km1:] += g_nw
            else:
                g_win_t[T:] += g_nw[:km1 - T]
                g_xs += g_nw[km1 - T:]
        return (g_xz, g_win_t.transpose(0, 1), g_cw, g_cb, g_W_xp, g_W_dt, g_b_dt, g_At, g_D, g_s0)


def mamba_core(xz: Tensor, win: Tensor, cw: Tensor, cb: Tensor, W_xp: Tensor, W_dt: Tensor, b_dt: Tensor,
               At: Tensor, D: Tensor, s0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The Mamba block between in_proj and out_proj (time-major); stores nothing without grad."""
    args = (xz.contiguous(), win, cw, cb, W_xp, W_dt, b_dt, At, D, s0)
    if torch.is_grad_enabled() and any(a.requires_grad for a in args):
        return _MambaCore.apply(*args)
    out = _mamba_core_fwd(*args, 0)
    return out[0], out[1], out[2]


def _mamba_core_autograd(xz: Tensor, win: Tensor, cw: Tensor, cb: Tensor, W_xp: Tensor, W_dt: Tensor,
                         b_dt: Tensor, At: Tensor, D: Tensor, s0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``mamba_core`` through autograd with the parallel scan (the GPU path)."""
    T, _, E2 = xz.shape
    E, k = E2 // 2, cw.shape[1]
    N, Rdt = At.shape[0], W_dt.shape[1]
    xs, z = xz[..., :E], xz[..., E:]
    xp = torch.cat([win.transpose(0, 1), xs], 0)
    pre = cb + sum(xp[j:j + T] * cw[:, j] for j in range(k))
    xi = F.silu(pre)
    dt, Bm, C = F.linear(xi, W_xp).split([Rdt, N, N], -1)
    delta = F.softplus(F.linear(dt, W_dt, b_dt))
    y, sT = _ssm_parallel(delta, xi, Bm, C, At, s0)
    out = torch.addcmul(y, xi, D) * F.silu(z)
    return out, xp[T:].transpose(0, 1), sT
