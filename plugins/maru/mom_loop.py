"""MARU's mixture-of-memories GRU over a sequence: TorchScript loops and their hand-written backward.

MoM-GRU: a TorchScript loop in one autograd Function with a hand-written backward (the adjoint
is in ``_mom_bwd``'s docstring); the K banks are batched (one bmm over all K·S slots); Mem is
updated in place in one working buffer and the backward recomputes each chunk's memories from
a checkpoint every 16 steps (the previous version kept all T of them, (T, B, K, S, Dm), and
streamed them back from DRAM); every weight gradient is one product after the loop.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .constants import CHUNK


# --- MoM-GRU loop ----------------------------------------------------------------------------
# Forward and backward are TorchScript loops run without autograd inside one autograd.Function;
# every weight gradient is one (T·B)-row matmul after the loop. X's columns are ordered
# [R1 | q | r | z | n] so the h-dependent pre-activations are one addmm onto X[t][:, :P] and the
# memory-read context c feeds the last 3H columns; the 1/√Dm of both attention scores is folded
# into the query and key weights by the caller. Mem is updated in place in one working buffer;
# the backward recomputes each chunk's memories from a checkpoint every CHUNK steps (v1 kept all
# T of them, (T, B, K, S, Dm), which streamed from DRAM in the backward).

@torch.jit.script
def _mom_fwd(X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor, W_c: Tensor,
             W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor, noise: Tensor, tau: Tensor,
             use_noise: bool, update: bool, save: bool, L: int) -> list[Tensor]:
    """The MoM-GRU over T steps with the x-dependent parts precomputed.

    X = [u R1_xᵀ + b_R1 | u Q_xᵀ + b_q | u W_xr + b_r | u W_xz + b_z | u W_xh + b_h]: (T, B, R+Dm+3H);
    W_h = [R1_hᵀ | Q_hᵀ | W_hr | W_hz] (H, R+Dm+2H); W_r2 = R2ᵀ (R, K); W_c = c-rows of
    [W_xr | W_xz | W_xh] (Dm, 3H); W_w = [W_k | W_v | w_g]ᵀ (H, 2Dm+1). lfb, ema: (K,) router
    stabiliser state; noise (T, B, K) Gumbel noise and tau (T,) temperatures, used iff use_noise.
    Returns [hs (T, B, H), h_T, Mem_T, lfb, ema] and, if ``save``, the per-step stacks the backward
    needs, then the memory checkpoints (every L steps).
    """
    T, B = X.shape[0], X.shape[1]
    K, S, Dm = M0.shape[1], M0.shape[2], M0.shape[3]
    H = h0.shape[1]
    R = W_r2.shape[0]
    P = R + Dm + 2 * H
    KS = K * S
    hs = torch.empty(T, B, H, dtype=X.dtype, device=X.device)
    mem = M0.reshape(B, KS, Dm).clone(memory_format=torch.contiguous_format)
    diff = torch.empty(B, KS, Dm, dtype=X.dtype, device=X.device)
    W_cg = W_c[:, :2 * H]
    W_cn = W_c[:, 2 * H:]
    ck: list[Tensor] = []
    ws: list[Tensor] = []
    r1s: list[Tensor] = []
    qs: list[Tensor] = []
    atts: list[Tensor] = []
    cs: list[Tensor] = []
    rzs: list[Tensor] = []
    ns: list[Tensor] = []
    kvgs: list[Tensor] = []
    egs: list[Tensor] = []
    ads: list[Tensor] = []
    wws: list[Tensor] = []
    oms: list[Tensor] = []
    bl = b_r2 + lfb
    h = h0
    for t in range(T):
        if save and t % L == 0:
            ck.append(mem.clone())
        x = X[t]
        pre = torch.addmm(x[:, :P], h, W_h)
        r1 = torch.relu(pre[:, :R])
        logits = torch.addmm(bl, r1, W_r2)
        if use_noise:
            w = torch.softmax((logits + noise[t]) / tau[t], -1)
        else:
            w = torch.softmax(logits, -1)
        if update:  # LFB integral controller (momentum 0.9, rate 0.01) on this step's detached load
            ema = ema * 0.9 + w.mean(0) * 0.1
            lfb = lfb - 0.01 * (ema - 1.0 / K)
            bl = b_r2 + lfb
        memT = mem.transpose(1, 2)
        att = torch.softmax(torch.bmm(pre[:, R:R + Dm].unsqueeze(1), memT).view(B, K, S), -1)
        c = torch.bmm((att * w.unsqueeze(2)).view(B, 1, KS), mem).view(B, Dm)
        rz = torch.sigmoid(torch.addmm(pre[:, R + Dm:], c, W_cg))
        n = torch.tanh(torch.addmm(torch.addmm(x[:, P:], c, W_cn), rz[:, :H] * h, W_hh))
        h = torch.addcmul(n, rz[:, H:], h - n, out=hs[t])  # z⊙h + (1 − z)⊙n
        kvg = torch.addmm(b_w, h, W_w)
        ww = torch.softmax(torch.bmm(kvg[:, :Dm].unsqueeze(1), memT).view(B, K, S), -1)
        eg = torch.sigmoid(kvg[:, Dm:])  # [erase e | gate]
        ad = torch.tanh(kvg[:, Dm:2 * Dm])
        om = ww * (w * eg[:, Dm:]).unsqueeze(2)
        # Mem ⊙ (1 − ω eᵀ) + ω addᵀ  =  Mem + ω (addᵀ − Mem ⊙ eᵀ)
        torch.addcmul(ad.unsqueeze(1), mem, eg[:, :Dm].unsqueeze(1), value=-1.0, out=diff)
        mem.addcmul_(om.view(B, KS, 1), diff)
        if save:
            ws.append(w)
            r1s.append(r1)
            qs.append(pre[:, R:R + Dm])
            atts.append(att)
            cs.append(c)
            rzs.append(rz)
            ns.append(n)
            kvgs.append(kvg)
            egs.append(eg)
            ads.append(ad)
            wws.append(ww)
            oms.append(om)
    out = [hs, h.clone(), mem.view(B, K, S, Dm), lfb, ema]
    if save:
        out += [torch.stack(ws), torch.stack(r1s), torch.stack(qs), torch.stack(atts), torch.stack(cs), torch.stack(rzs),
                torch.stack(ns), torch.stack(kvgs), torch.stack(egs), torch.stack(ads), torch.stack(wws),
                torch.stack(oms)]
        out += ck
    return out


@torch.jit.script
def _mom_bwd(g_hs: Tensor, gh: Tensor, gM: Tensor, h0: Tensor, W_h: Tensor, W_r2: Tensor, W_c: Tensor,
             W_hh: Tensor, W_w: Tensor, tau: Tensor, use_noise: bool, L: int, hs: Tensor, Ws: Tensor,
             R1s: Tensor, Qs: Tensor, ATTs: Tensor, Cs: Tensor, RZs: Tensor, Ns: Tensor, KVGs: Tensor, EGs: Tensor,
             ADs: Tensor, WWs: Tensor, OMs: Tensor, ck: list[Tensor]) -> list[Tensor]:
    """Adjoint of ``_mom_fwd``. Per step (G = ∂L/∂Mem_t, Mem = Mem_{t−1}, ω the write weights):
    ∂ω = G·add − (G⊙Mem)·e, ∂add = ωᵀG, ∂e = −ωᵀ(G⊙Mem) (row-vector bmms); ∂Mem_{t−1} = G ⊙ (1 − ω eᵀ) + π ⊗ ∂c + ∂sc ⊗ q + ∂sw ⊗ key (one baddbmm), with
    softmax adjoints ∂x = p ⊙ (∂p − Σ p ∂p) for router, read and write weights, and the GRU's
    usual adjoint. The chunk's memories are recomputed from its checkpoint first. Weight
    gradients are accumulated after the loop from the stored per-step pre-activation gradients.
    Returns [∂X, ∂h_0, ∂Mem_0, ∂W_h, ∂W_r2, ∂b_r2, ∂W_c, ∂W_hh, ∂W_w, ∂b_w].
    """
    T, B, H = hs.shape
    K, S = ATTs.shape[2], ATTs.shape[3]
    Dm = Cs.shape[2]
    R = R1s.shape[2]
    KS = K * S
    P = R + Dm + 2 * H
    Fx = P + H
    W_hT = W_h.t()
    W_r2T = W_r2.t()
    W_cT = W_c.t()
    W_hhT = W_hh.t()
    W_wT = W_w.t()
    GX = torch.empty(T, B, Fx, dtype=gh.dtype, device=gh.device)  # ∂ pre-activations = ∂X
    GL = torch.empty(T, B, K, dtype=gh.dtype, device=gh.device)  # ∂ router logits
    GK = torch.empty(T, B, 2 * Dm + 1, dtype=gh.dtype, device=gh.device)  # ∂ [key, val, gate]
    MB = torch.empty(L, B, KS, Dm, dtype=gh.dtype, device=gh.device)  # the chunk's Mem_{t−1}
    tmp = torch.empty(B, KS, Dm, dtype=gh.dtype, device=gh.device)
    GM = torch.empty(B, KS, Dm, dtype=gh.dtype, device=gh.device)  # G ⊙ Mem
    G = gM.reshape(B, KS, Dm).clone()
    for c in range(len(ck) - 1, -1, -1):
        t0 = c * L
        n = min(T, t0 + L) - t0
        MB[0].copy_(ck[c])
        for i in range(n - 1):
            t = t0 + i
            torch.addcmul(ADs[t].unsqueeze(1), MB[i], EGs[t][:, :Dm].unsqueeze(1), value=-1.0, out=tmp)
            torch.addcmul(MB[i], OMs[t].view(B, KS, 1), tmp, out=MB[i + 1])
        for i in range(n - 1, -1, -1):
            t = t0 + i
            mf = MB[i]
            w = Ws[t]
            eg = EGs[t]
            e = eg[:, :Dm]
            gate = eg[:, Dm:]
            ad = ADs[t]
            ww = WWs[t]
            om = OMs[t]
            gx = GX[t]
            # write: Mem_t = Mem + ω (addᵀ − Mem ⊙ eᵀ)
            torch.mul(G, mf, out=GM)
            g_om = torch.bmm(ad.unsqueeze(1), G.transpose(1, 2)).sub_(
                torch.bmm(e.unsqueeze(1), GM.transpose(1, 2))).view(B, K, S)
            omr = om.view(B, 1, KS)
            g_ad = torch.bmm(omr, G).view(B, Dm)
            g_e = torch.bmm(omr, GM).view(B, Dm)  # −∂e
            G.addcmul_(G, torch.mul(om.view(B, KS, 1), e.unsqueeze(1), out=tmp), value=-1.0)  # G ⊙ (1 − ω eᵀ)
            v = w * gate
            g_v = (g_om * ww).sum(-1)
            g_ww = g_om * v.unsqueeze(2)
            g_sw = ww * (g_ww - (g_ww * ww).sum(-1, keepdim=True))
            g_key = torch.bmm(g_sw.view(B, 1, KS), mf).view(B, Dm)
            g_val = g_ad * (1.0 - ad * ad) - g_e * e * (1.0 - e)
            g_w = g_v * gate
            g_gate = (g_v * w).sum(-1, keepdim=True)
            g_kvg = torch.cat([g_key, g_val, g_gate * gate * (1.0 - gate)], 1)
            GK[t] = g_kvg
            ghn = torch.addmm(g_hs[t] + gh, g_kvg, W_wT)
            # GRU: h_t = z⊙h + (1−z)⊙n
            hprev = h0 if t == 0 else hs[t - 1]
            rz = RZs[t]
            z = rz[:, H:]
            nn_ = Ns[t]
            g_an = torch.mul(ghn * (1.0 - z), 1.0 - nn_ * nn_, out=gx[:, P:])
            g_rh = torch.mm(g_an, W_hhT)
            gh = torch.addcmul(ghn * z, g_rh, rz[:, :H])
            g_rz = torch.cat([g_rh * hprev, ghn * (hprev - nn_)], 1)
            torch.mul(g_rz, rz * (1.0 - rz), out=gx[:, R + Dm:P])
            g_c = torch.mm(gx[:, R + Dm:], W_cT)
            # read: c = Σ_k w_k Σ_s att_ks Mem_ks
            att = ATTs[t]
            g_pw = torch.bmm(g_c.unsqueeze(1), mf.transpose(1, 2)).view(B, K, S)
            g_att = g_pw * w.unsqueeze(2)
            g_w = g_w + (g_pw * att).sum(-1)
            g_sc = att * (g_att - (g_att * att).sum(-1, keepdim=True))
            gx[:, R:R + Dm] = torch.bmm(g_sc.view(B, 1, KS), mf).view(B, Dm)
            U = torch.stack([(att * w.unsqueeze(2)).view(B, KS), g_sc.view(B, KS), g_sw.view(B, KS)], 1)
            V = torch.stack([g_c, Qs[t], KVGs[t][:, :Dm]], 1)
            G.baddbmm_(U.transpose(1, 2), V)
            # router
            g_l = w * (g_w - (g_w * w).sum(-1, keepdim=True))
            if use_noise:
                g_l = g_l / tau[t]
            GL[t] = g_l
            gx[:, :R] = torch.mm(g_l, W_r2T).masked_fill_(R1s[t] <= 0, 0.0)
            gh = torch.addmm(gh, gx[:, :P], W_hT)
    # Weight gradients: one matmul over all T·B rows each.
    TB = T * B
    hprev_all = torch.cat([h0.unsqueeze(0), hs[:-1]], 0).view(TB, H)
    GX2 = GX.view(TB, Fx)
    g_W_h = torch.mm(hprev_all.t(), GX2[:, :P])
    GL2 = GL.view(TB, K)
    g_W_r2 = torch.mm(R1s.view(TB, R).t(), GL2)
    g_W_c = torch.mm(Cs.view(TB, Dm).t(), GX2[:, R + Dm:])
    rh = RZs.view(TB, 2 * H)[:, :H] * hprev_all
    g_W_hh = torch.mm(rh.t(), GX2[:, P:])
    GK2 = GK.view(TB, 2 * Dm + 1)
    g_W_w = torch.mm(hs.view(TB, H).t(), GK2)
    return [GX, gh, G.view(B, K, S, Dm), g_W_h, g_W_r2, GL2.sum(0), g_W_c, g_W_hh, g_W_w, GK2.sum(0)]


class _MoMGRU(torch.autograd.Function):
    """hs, h_T, Mem_T, lfb, ema = MoM-GRU(X, h_0, Mem_0, weights, router state); hs time-major."""

    @staticmethod
    def forward(ctx: Any, X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor,  # type: ignore[override]
                W_c: Tensor, W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor,
                noise: Tensor, tau: Tensor, use_noise: bool, update: bool) -> tuple[Tensor, ...]:
        out = _mom_fwd(X, h0, M0, W_h, W_r2, b_r2, W_c, W_hh, W_w, b_w, lfb, ema, noise, tau,
                       use_noise, update, True, CHUNK)
        hs, hT, MT, lfb, ema = out[:5]
        ctx.save_for_backward(h0, W_h, W_r2, W_c, W_hh, W_w, tau, hs, *out[5:])
        ctx.use_noise = use_noise
        ctx.mark_non_differentiable(lfb, ema)
        return hs, hT, MT, lfb, ema

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g_hs: Tensor | None, g_hT: Tensor | None, g_MT: Tensor | None,
                 *_: Any) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        h0, W_h, W_r2, W_c, W_hh, W_w, tau, hs, *rest = ctx.saved_tensors
        stacks, ck = rest[:12], rest[12:]
        g_hs = torch.zeros_like(hs) if g_hs is None else g_hs.contiguous()
        g_hT = torch.zeros_like(h0) if g_hT is None else g_hT.contiguous()
        g_MT = torch.zeros_like(ck[0]) if g_MT is None else g_MT.contiguous()
        grads = _mom_bwd(g_hs, g_hT, g_MT, h0, W_h, W_r2, W_c, W_hh, W_w, tau, ctx.use_noise, CHUNK, hs,
                         *stacks, list(ck))
        return (*grads, None, None, None, None, None, None)


def mom_gru(X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor, W_c: Tensor,
            W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor, noise: Tensor, tau: Tensor,
            use_noise: bool, update: bool) -> tuple[Tensor, ...]:
    """The MoM-GRU loop (time-major X); stores nothing for backward when no gradient is needed."""
    args = (X, h0, M0, W_h, W_r2, b_r2, W_c, W_hh, W_w, b_w)
    if torch.is_grad_enabled() and any(a.requires_grad for a in args):
        return _MoMGRU.apply(*args, lfb, ema, noise, tau, use_noise, update)
    return tuple(_mom_fwd(*args, lfb, ema, noise, tau, use_noise, update, False, CHUNK))  # type: ignore[arg-type]
