"""MARU's one-token step without autograd: the whole cell in one TorchScript function.

``step`` without autograd is one TorchScript function over cached fused weights (rebuilt when a
parameter's version changes; ``forward`` drops the cache), with the new SSM state and memory
built in place on one fresh tensor each (the state passed in is never modified).
"""
from __future__ import annotations

import torch
from torch import Tensor


# --- one step, no autograd ------------------------------------------------------------------------

@torch.jit.script
def _maru_step(x: Tensor, win: Tensor, s: Tensor, h: Tensor, mem: Tensor, W_f: Tensor, b_f: Tensor, cw: Tensor,
               cb: Tensor, W_xp: Tensor, W_dt: Tensor, b_dt: Tensor, A2: Tensor, D: Tensor, W_o: Tensor,
               b_o: Tensor, W_u: Tensor, b_u: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor, W_c: Tensor,
               W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor, noise: Tensor, tau: Tensor,
               use_noise: bool, update: bool) -> list[Tensor]:
    """One token through the whole cell with pre-fused, pre-transposed weights (``MARU._step_weights``).

    Returns [h, conv window, SSM state, Mem, lfb, ema]; the input state is not modified.
    """
    B = x.shape[0]
    k, E = cw.shape[0], cw.shape[1]
    N = A2.shape[0]
    Rdt = W_dt.shape[0]
    H = h.shape[1]
    R = W_r2.shape[0]
    K, S, Dm = mem.shape[1], mem.shape[2], mem.shape[3]
    KS = K * S
    P = R + Dm + 2 * H
    # Mamba block: fused embed_proj∘in_proj, conv over the carried window, one scan step
    xz = torch.addmm(b_f, x, W_f)
    xs = xz[:, :E]
    pre = torch.addcmul(cb, xs, cw[k - 1])
    if k > 1:
        pre = pre + (win * cw[:k - 1]).sum(1)
        new_win = torch.cat([win[:, 1:], xs.unsqueeze(1)], 1)
    else:
        new_win = win
    xi = pre * torch.sigmoid(pre)
    dbc = torch.mm(xi, W_xp)
    delta = torch.nn.functional.softplus(torch.addmm(b_dt, dbc[:, :Rdt], W_dt))
    # one fresh (B, N, E) tensor per step (the new state; the input state is not modified):
    # fresh large tensors cost page faults here, so the chain runs in place on it
    s = torch.mul(delta.unsqueeze(1), A2).exp2_().mul_(s).addcmul_(dbc[:, Rdt:Rdt + N].unsqueeze(2),
                                                                   (delta * xi).unsqueeze(1))
    y = torch.bmm(dbc[:, Rdt + N:].unsqueeze(1), s).view(B, E)
    z = xz[:, E:]
    g = torch.addcmul(y, xi, D) * (z * torch.sigmoid(z))
    X = torch.addmm(b_u, torch.addmm(b_o, g, W_o), W_u)  # out_proj, then to_hidden∘x-projections
    # MoM-GRU
    pre = torch.addmm(X[:, :P], h, W_h)
    logits = torch.addmm(b_r2 + lfb, torch.relu(pre[:, :R]), W_r2)
    if use_noise:
        w = torch.softmax((logits + noise) / tau, -1)
    else:
        w = torch.softmax(logits, -1)
    if update:
        ema = ema * 0.9 + w.mean(0) * 0.1
        lfb = lfb - 0.01 * (ema - 1.0 / K)
    mf = mem.reshape(B, KS, Dm)
    mft = mf.transpose(1, 2)
    att = torch.softmax(torch.bmm(pre[:, R:R + Dm].unsqueeze(1), mft).view(B, K, S), -1)
    c = torch.bmm((att * w.unsqueeze(2)).view(B, 1, KS), mf).view(B, Dm)
    rz = torch.sigmoid(torch.addmm(pre[:, R + Dm:], c, W_c[:, :2 * H]))
    n = torch.tanh(torch.addmm(torch.addmm(X[:, P:], c, W_c[:, 2 * H:]), rz[:, :H] * h, W_hh))
    h = torch.addcmul(n, rz[:, H:], h - n)
    kvg = torch.addmm(b_w, h, W_w)
    ww = torch.softmax(torch.bmm(kvg[:, :Dm].unsqueeze(1), mft).view(B, K, S), -1)
    eg = torch.sigmoid(kvg[:, Dm:])
    om = ww * (w * eg[:, Dm:]).unsqueeze(2)
    diff = torch.addcmul(torch.tanh(kvg[:, Dm:2 * Dm]).unsqueeze(1), mf, eg[:, :Dm].unsqueeze(1), value=-1.0)
    mem = diff.mul_(om.view(B, KS, 1)).add_(mf).view(B, K, S, Dm)  # Mem + ω (addᵀ − Mem ⊙ eᵀ)
    return [h, new_win, s, mem, lfb, ema]
