"""FROZEN REFERENCE, used only by tests/test_maru.py: plugins/maru.py as of commit 0151f41 (before
issue 22's rewrite), copied verbatim below this paragraph. The rewritten cell must give the same
outputs, states and gradients as this one within float tolerance (same weights loaded into both).
Do not edit or optimise this file.

MARU: Memory-Augmented Recurrent Unit — a Mamba block, then a mixture-of-memories GRU.

Reference: Fingersoup/MARU (src/maru.py, src/mamba_block.py, src/mom_gru_cell.py,
src/enhanced_mom_gru_cell.py, src/enhanced_mom_gru_config.py; snapshot c9b2770). The Mamba block
follows Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"
(arXiv:2312.00752); the write head is the Neural Turing Machine's erase/add (Graves et al. 2014).
Spec: shared/specs/cells-and-tasks.md §2.

Inside the cell (input x_t ∈ R^I, hidden H, d_model M, E = expand·M, N = d_state, k = d_conv,
R_dt = max(1, M // 16), K banks × S slots × Dm dims, router width R)::

    e_t  = W_e x_t + b_e                 (only if I ≠ M; the reference's embed_proj)
    Mamba block (no residual, no norm):
    [x̃_t, z_t] = in_proj(e_t)                                   (M → 2E, with bias)
    ξ_t  = SiLU(depthwise causal conv_k(x̃)_t)                   (E channels, with bias)
    [δ_t, B_t, C_t] = x_proj(ξ_t)                               (E → R_dt + 2N, no bias)
    Δ_t  = softplus(dt_proj(δ_t))        A = −exp(A_log) ∈ R^{E×N}
    s_t  = exp(Δ_t ⊗ A) ⊙ s_{t−1} + (Δ_t ⊙ ξ_t) ⊗ B_t           (s ∈ R^{E×N}, selective scan)
    m_t  = out_proj( (s_t C_t + D ⊙ ξ_t) ⊙ SiLU(z_t) )          (E → M)
    u_t  = W_u m_t + b_u                                         (M → H)
    MoM-GRU (state h ∈ R^H, Mem ∈ R^{K×S×Dm}):
    w    = softmax(R2(ReLU(R1[u_t, h_{t−1}])))                  router over the K banks
    q    = W_q [u_t, h_{t−1}] + b_q ;  a_k = softmax_S(Mem_k q / √Dm) ;  c = Σ_k w_k a_kᵀ Mem_k
    x̂    = [u_t, c]
    r    = σ(x̂ W_xr + h W_hr + b_r) ;  z = σ(x̂ W_xz + h W_hz + b_z)
    h̃    = tanh(x̂ W_xh + (r ⊙ h) W_hh + b_h) ;  h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃   (d2l: z keeps)
    key = W_k h_t + b_k ; val = W_v h_t + b_v ; g = σ(w_g·h_t + b_g) ; e = σ(val) ; add = tanh(val)
    ω_k  = softmax_S(Mem_k key / √Dm) · w_k · g
    Mem_k ← Mem_k ⊙ (1 − ω_k eᵀ) + ω_k addᵀ                     (computed as Mem + ω(addᵀ − Mem⊙eᵀ))
    output y_t = h_t

h_0 = 0; Mem_0 = learnable ``initial_memories`` (N(0,1)·0.1) broadcast over the batch; conv
window and SSM state start at zero. The recurrent state is the tuple
``(conv window [B, k−1, E], SSM state sᵀ [B, N, E], h [B, H], Mem [B, K, S, Dm])``, so ``step``
is O(1) per token and chunked runs equal whole runs.

Initialisation as the reference: embed_proj and the Mamba→GRU projection xavier_uniform, zero
bias; Mamba in_proj/x_proj/out_proj/conv torch defaults, dt_proj weight U(−0.01, 0.01), dt_proj
bias = softplus⁻¹(dt), dt ~ logUniform[1e-3, 0.1] (clamped at 1e-3), A_log = log(1..N) per
channel, D = 1; GRU matrices (raw parameters) xavier_uniform, zero biases; router/read/write
Linears xavier_uniform, zero bias.

Router (``router``): ``"softmax"`` is the plain MoMGRUCell. ``"enhanced"`` (default, as the
reference's MARU) is the EnhancedMoMGRUCell: logits += LFB bias (a buffer), then, in training,
Gumbel-softmax softmax((logits + G)/τ) with G = −log(−log(U + 1e-8) + 1e-8),
τ(n) = max(0.05, 0.999ⁿ + 0.1·(1 − 0.999ⁿ)), n = number of training time steps seen so far (a
buffer, +1 per time step); after each training step the load-free-balancing integral controller
updates load_ema ← 0.9·load_ema + 0.1·mean_batch(w) and bias ← bias − 0.01·(load_ema − 1/K)
(detached, per time step, so later steps of the same sequence see the new bias).

Selective scan (``scan``): ``"sequential"`` is a TorchScript loop over t in one autograd
Function whose hand-written backward recomputes the states chunk by chunk (16 steps) from
checkpoints, so no (B, T, N, E) tensor is kept for backward (autograd through the loop kept
several, ~1.8× the cell's memory at T=256) and the per-step work stays in cache.
``"parallel"`` is a Blelloch-style work-efficient associative scan of s_t = a_t s_{t−1} + b_t in
linear space with autograd (pairs combined recursively, depth 2·log₂T; every coefficient is a
product of decays in (0, 1], so nothing overflows, unlike a log-space cumsum that divides by
cumulative decays). ``"auto"`` takes the sequential loop on CPU — measured: the whole cell with
the parallel scan was ~6× slower on the 2-core CPU (it streams several (B, T, N, E) tensors, as
mambapy's pscan in cpu-performance.md §6) — and the parallel scan on other devices (the usual GPU
result; not measured, no GPU was available). ``mamba_ssm``'s fused kernel is not used: it takes
no initial SSM state, so chunked runs and ``step`` could not carry it.

MoM-GRU: a TorchScript loop on every device, again in one autograd Function with a hand-written
backward (the adjoint is in ``_mom_backward``'s docstring); the K banks are batched (one bmm
over all K·S slots), never a Python loop over banks; every x-dependent projection is one matmul
before the loop and every weight gradient one matmul after it. Both hand-written backwards are
checked against autograd through independent implementations in tests/test_maru.py.

Measured on the 2-core CPU (B=32, input 64, H=128, forward+backward, median of paired ratios
against nn.GRU in the same process): 6.2–6.9× nn.GRU at T=256 with 2 threads (6.1× at T=64,
6.8× at T=1024; 7.4× on one thread); peak memory ≈380 MiB against 53 MiB for nn.GRU at T=256.
Learning rate: the reference trained at 1e-4. At 1e-2 (arena's smoke-train check) the
unnormalised Mamba output grows until the GRU's tanh saturates and the cell stops learning;
at ≤ 5e-3 it learns the counting smoke task (test MSE 0.02 at 3e-3, 0.08 at 1e-3; chance 2.5).

Sizes (``size``): ``"small"`` (default) K=4, S=32, Dm=32 — at H=128 the memory (K·S·Dm = 4096
numbers per sequence) is the same size as the SSM state (E·N = 256·16) and the whole cell trains
on the CPU presets; ``"reference"`` K=6, S=256, Dm=128 (scripts/train_individual_datasets.py, the
6.77M model; at hidden 640 the cell holds exactly its Mamba 2,633,600 + projection 410,240 +
MoM-GRU 3,271,783 parameters). Both: router 32, d_state 16, d_conv 4, expand 2, d_model = H
(``d_model=0``). ``num_memories``/``memory_size``/``memory_dim`` > 0 override the size preset.

Reference differences and bugs:

* The reference's per-timestep head Linear(H→H/2) → ReLU → Dropout → Linear(H/2→out) is replaced
  by the host's linear head; its dropouts (after embed_proj and after the Mamba→GRU projection)
  are the host's dropout (on the cell input and output) — none inside the cell.
* The reference applies Gumbel noise and LFB updates in eval mode too (non-deterministic
  inference). Here eval mode uses softmax(logits + current LFB bias), no noise, no buffer updates;
  ``eval_gumbel=True`` restores the reference behaviour (noise at the current τ and LFB updates
  in eval, the step counter still only advancing in training).
* The reference's ``generate_step`` runs the Mamba block on each token with fresh conv/SSM state
  (Mamba sees no history during generation); here the state carries the conv window and the SSM
  state, so step-by-step inference equals the sequence run.
* The reference casts A_log to float32; here A follows the parameter dtype (float64 works).
* The step counter for τ is a buffer (saved with the model); the reference keeps it in a Python
  config object.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from arena.cell import Cell, State

SIZES: dict[str, tuple[int, int, int]] = {  # (num_memories K, memory_size S, memory_dim Dm)
    "small": (4, 32, 32),
    "reference": (6, 256, 128),
}
ROUTERS = ("enhanced", "softmax")
SCANS = ("auto", "sequential", "parallel")

# Router stabiliser constants of the reference's "conservative" config (enhanced_mom_gru_config.py).
TAU_INIT, TAU_FINAL, TAU_DECAY, TAU_MIN = 1.0, 0.1, 0.999, 0.05
DT_MIN, DT_MAX = 1e-3, 0.1


# --- selective scan --------------------------------------------------------------------------
# State layout (N, E): every broadcast and reduction runs along the long contiguous E axis (about
# 1.5–2× faster on CPU than (E, N) with N = 16 innermost).

@torch.jit.script
def _ssm_fwd(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor, s0: Tensor,
             L: int) -> tuple[Tensor, Tensor, Tensor]:
    """Sequential scan s_t = exp(Δ_t ⊗ A) ⊙ s_{t−1} + B_t ⊗ (Δ_t ⊙ u_t), y_t = C_t s_t, no autograd.

    delta, u: (B, T, E); Bm, C: (B, T, N); At = Aᵀ: (N, E); s0: (B, N, E). Returns y (B, T, E),
    s_T and, if L > 0, the states entering every L-th step (the backward's checkpoints).
    """
    Bsz, T, E = delta.shape
    N = At.shape[0]
    nck = (T + L - 1) // L if L > 0 else 0
    ck = torch.empty(nck, Bsz, N, E, dtype=s0.dtype, device=s0.device)
    y = torch.empty(T, Bsz, 1, E, dtype=s0.dtype, device=s0.device)
    dT = delta.transpose(0, 1).contiguous()
    xT = (delta * u).transpose(0, 1).contiguous()
    BT = Bm.transpose(0, 1).contiguous()
    CT = C.transpose(0, 1).contiguous()
    dA = torch.empty(Bsz, N, E, dtype=s0.dtype, device=s0.device)
    s = s0.clone()
    for t in range(T):
        if L > 0 and t % L == 0:
            ck[t // L].copy_(s)
        torch.mul(dT[t].unsqueeze(1), At, out=dA).exp_()
        s.mul_(dA).addcmul_(BT[t].unsqueeze(2), xT[t].unsqueeze(1))
        torch.bmm(CT[t].unsqueeze(1), s, out=y[t])
    return y.squeeze(2).transpose(0, 1), s, ck


@torch.jit.script
def _ssm_bwd(gy: Tensor, gsT: Tensor, delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,
             ck: Tensor, L: int) -> list[Tensor]:
    """Adjoint of ``_ssm_fwd``, chunk by chunk from the end: the chunk's states are recomputed
    from its checkpoint (a few MB that stay in cache, instead of the (B, T, N, E) states that
    autograd would keep), then G_t = ∂L/∂s_t runs backwards, G_t = C_t ⊗ ∂y_t + dA_{t+1} ⊙ G_{t+1},
    and ∂x = Bᵀ G, ∂B = G x, ∂C = s ∂y, W = G ⊙ dA ⊙ s_{t−1}: ∂Δ = Σ_n W A + ∂x u, ∂A = Σ W Δ.
    Returns [∂delta, ∂u, ∂B, ∂C, ∂Aᵀ, ∂s0].
    """
    Bsz, T, E = delta.shape
    N = At.shape[0]
    dT = delta.transpose(0, 1).contiguous()
    uT = u.transpose(0, 1).contiguous()
    xT = dT * uT
    BT = Bm.transpose(0, 1).contiguous()
    CT = C.transpose(0, 1).contiguous()
    gyT = gy.transpose(0, 1).contiguous()
    gdelta = torch.empty(T, Bsz, E, dtype=gy.dtype, device=gy.device)
    gu = torch.empty(T, Bsz, E, dtype=gy.dtype, device=gy.device)
    gB = torch.empty(T, Bsz, N, dtype=gy.dtype, device=gy.device)
    gC = torch.empty(T, Bsz, N, dtype=gy.dtype, device=gy.device)
    S = torch.empty(L + 1, Bsz, N, E, dtype=gy.dtype, device=gy.device)
    D = torch.empty(L, Bsz, N, E, dtype=gy.dtype, device=gy.device)
    G = torch.empty(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    W = torch.empty(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    WA = torch.empty(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    gA = torch.zeros(Bsz, N, E, dtype=gy.dtype, device=gy.device)
    gs = gsT.clone()
    # Everything per step on (B, N, E) blocks that stay in cache: chunk-wide (L, B, N, E)
    # products were ~5× slower per element here. Reductions over E are row-vector × matrixᵀ bmms.
    for c in range(ck.shape[0] - 1, -1, -1):
        t0 = c * L
        n = min(T, t0 + L) - t0
        S[0].copy_(ck[c])
        for i in range(n):
            torch.mul(dT[t0 + i].unsqueeze(1), At, out=D[i]).exp_()
            torch.mul(S[i], D[i], out=S[i + 1]).addcmul_(BT[t0 + i].unsqueeze(2), xT[t0 + i].unsqueeze(1))
        for i in range(n - 1, -1, -1):
            t = t0 + i
            gyt = gyT[t].unsqueeze(1)
            torch.addcmul(gs, CT[t].unsqueeze(2), gyt, out=G)
            torch.bmm(gyt, S[i + 1].transpose(1, 2), out=gC[t].unsqueeze(1))
            torch.bmm(xT[t].unsqueeze(1), G.transpose(1, 2), out=gB[t].unsqueeze(1))
            gx = torch.bmm(BT[t].unsqueeze(1), G).squeeze(1)
            torch.mul(G, D[i], out=gs)
            torch.mul(gs, S[i], out=W)
            torch.addcmul(torch.mul(W, At, out=WA).sum(1), gx, uT[t], out=gdelta[t])
            torch.mul(gx, dT[t], out=gu[t])
            gA.addcmul_(W, dT[t].unsqueeze(1))
    return [gdelta.transpose(0, 1), gu.transpose(0, 1), gB.transpose(0, 1), gC.transpose(0, 1), gA.sum(0), gs]


class _SelectiveScan(torch.autograd.Function):
    """y, s_T = scan(delta, u, B, C, Aᵀ, s_0) with the checkpointed hand-written backward."""

    CHUNK = 16

    @staticmethod
    def forward(ctx: Any, delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,  # type: ignore[override]
                s0: Tensor) -> tuple[Tensor, Tensor]:
        y, sT, ck = _ssm_fwd(delta, u, Bm, C, At, s0, _SelectiveScan.CHUNK)
        ctx.save_for_backward(delta, u, Bm, C, At, ck)
        return y, sT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, gy: Optional[Tensor], gsT: Optional[Tensor]) -> tuple[Tensor, ...]:  # type: ignore[override]
        delta, u, Bm, C, At, ck = ctx.saved_tensors
        gy = torch.zeros_like(delta) if gy is None else gy.contiguous()
        gsT = torch.zeros_like(ck[0]) if gsT is None else gsT.contiguous()
        return tuple(_ssm_bwd(gy, gsT, delta, u, Bm, C, At, ck, _SelectiveScan.CHUNK))


def _assoc_scan(a: Tensor, b: Tensor) -> Tensor:
    """All s_t = a_t s_{t−1} + b_t (s_{−1} = 0) along dim 1, work-efficient (Blelloch) form.

    Adjacent pairs are combined into one step ((a₀, b₀) then (a₁, b₁) = (a₁a₀, a₁b₀ + b₁)), the
    half-length problem is solved recursively for the odd positions, and the even positions are
    filled in from their left neighbours: O(T) work, depth 2·log₂T.
    """
    T = a.shape[1]
    if T == 1:
        return b
    if T % 2 == 1:  # pad with the identity step (a = 1, b = 0)
        a = torch.cat([a, torch.ones_like(a[:, :1])], 1)
        b = torch.cat([b, torch.zeros_like(b[:, :1])], 1)
    a0, a1 = a[:, 0::2], a[:, 1::2]
    b0, b1 = b[:, 0::2], b[:, 1::2]
    s_odd = _assoc_scan(a1 * a0, torch.addcmul(b1, a1, b0))
    s_even = torch.cat([b0[:, :1], torch.addcmul(b0[:, 1:], a0[:, 1:], s_odd[:, :-1])], 1)
    return torch.stack([s_even, s_odd], 2).flatten(1, 2)[:, :T]


def _ssm_parallel(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor,
                  s0: Tensor) -> tuple[Tensor, Tensor]:
    """Same contract as ``_ssm_fwd``, via the associative scan over (B, T, N, E) with autograd."""
    dA = torch.exp(delta.unsqueeze(2) * At)
    bx = Bm.unsqueeze(3) * (delta * u).unsqueeze(2)
    # The carried state enters through the first step: b_0 ← b_0 + a_0 s_0.
    bx = torch.cat([torch.addcmul(bx[:, :1], dA[:, :1], s0.unsqueeze(1)), bx[:, 1:]], 1)
    s = _assoc_scan(dA, bx)
    y = torch.matmul(C.unsqueeze(2), s).squeeze(2)
    return y, s[:, -1]


def selective_scan(delta: Tensor, u: Tensor, Bm: Tensor, C: Tensor, At: Tensor, s0: Tensor,
                   parallel: bool) -> tuple[Tensor, Tensor]:
    """y (B, T, E) without the D skip, and the last state (B, N, E); At = Aᵀ (N, E)."""
    args = (delta.contiguous(), u.contiguous(), Bm.contiguous(), C.contiguous(), At.contiguous(),
            s0.contiguous())
    if parallel:
        return _ssm_parallel(*args)
    if torch.is_grad_enabled() and any(a.requires_grad for a in args):
        return _SelectiveScan.apply(*args)
    y, sT, _ = _ssm_fwd(*args, 0)
    return y, sT


# --- MoM-GRU loop ----------------------------------------------------------------------------
# Forward and backward are TorchScript loops run without autograd inside one autograd.Function:
# recorded autograd on this step costs ~20 passes over the (B, K, S, Dm) memory plus ~100 small
# ops per step (weight gradients included), the hand-written adjoint about half as many passes,
# and every weight gradient becomes one (B·T)-row matmul after the loop. Scores use
# row-vector × Memᵀ products: MKL's batched matrix × column-vector is ~5× slower here.

@torch.jit.script
def _mom_forward(X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor,
                 W_c: Tensor, W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor,
                 noise: Tensor, tau: Tensor, use_noise: bool, update: bool, scale: float,
                 save: bool) -> list[Tensor]:
    """The MoM-GRU over T steps with the x-dependent parts precomputed.

    X = [x W_xr + b_r | x W_xz + b_z | x W_xh + b_h | x R1_xᵀ + b_R1 | x Q_xᵀ + b_q]: (B, T, 3H+R+Dm);
    W_h = [W_hr | W_hz | R1_hᵀ | Q_hᵀ] (H, 2H+R+Dm); W_r2 = R2ᵀ (R, K); W_c = c-rows of
    [W_xr | W_xz | W_xh] (Dm, 3H); W_w = [W_k | W_v | w_g]ᵀ (H, 2Dm+1). lfb, ema: (K,) router
    stabiliser state; noise (T, B, K) Gumbel noise and tau (T,) temperatures, used iff use_noise.
    Returns [hs (B,T,H), h_T, Mem_T, lfb, ema] and, if ``save``, what the backward needs
    (per-step stacks, then Mem_0 … Mem_{T−1}).
    """
    B, K, S, Dm = M0.shape
    H = h0.shape[1]
    R = W_r2.shape[0]
    T = X.shape[1]
    KS = K * S
    Xl = X.unbind(1)
    mem = M0.contiguous()
    # Mem_0 … Mem_{T−1} for the backward, as separate step-sized tensors: one (T, B, K, S, Dm)
    # buffer would be freshly mapped memory on every call, and its page faults cost more than
    # the update itself on CPU.
    Ms: list[Tensor] = [mem]
    h = h0
    hs: list[Tensor] = []
    ws: list[Tensor] = []
    r1s: list[Tensor] = []
    qs: list[Tensor] = []
    atts: list[Tensor] = []
    cs: list[Tensor] = []
    rs: list[Tensor] = []
    zs: list[Tensor] = []
    ns: list[Tensor] = []
    kvgs: list[Tensor] = []
    wws: list[Tensor] = []
    for t in range(T):
        x = Xl[t]
        hp = torch.mm(h, W_h)
        r1 = torch.relu(x[:, 3 * H:3 * H + R] + hp[:, 2 * H:2 * H + R])
        logits = torch.addmm(b_r2, r1, W_r2) + lfb
        if use_noise:
            w = torch.softmax((logits + noise[t]) / tau[t], -1)
        else:
            w = torch.softmax(logits, -1)
        if update:  # LFB integral controller (momentum 0.9, rate 0.01) on this step's detached load
            ema = ema * 0.9 + w.detach().mean(0) * 0.1
            lfb = lfb - 0.01 * (ema - 1.0 / K)
        q = x[:, 3 * H + R:] + hp[:, 2 * H + R:]
        mf = mem.view(B, KS, Dm)
        mft = mf.transpose(1, 2)
        att = torch.softmax(torch.bmm(q.unsqueeze(1), mft).view(B, K, S) * scale, -1)
        c = torch.bmm((att * w.unsqueeze(2)).view(B, 1, KS), mf).view(B, Dm)
        gc = torch.mm(c, W_c)
        r = torch.sigmoid(x[:, :H] + gc[:, :H] + hp[:, :H])
        z = torch.sigmoid(x[:, H:2 * H] + gc[:, H:2 * H] + hp[:, H:2 * H])
        n = torch.tanh(x[:, 2 * H:3 * H] + gc[:, 2 * H:] + torch.mm(r * h, W_hh))
        h = torch.addcmul(n, z, h - n)  # z⊙h + (1 − z)⊙n
        kvg = torch.addmm(b_w, h, W_w)
        key = kvg[:, :Dm]
        val = kvg[:, Dm:2 * Dm]
        ww = torch.softmax(torch.bmm(key.unsqueeze(1), mft).view(B, K, S) * scale, -1)
        omega = ww * (w * torch.sigmoid(kvg[:, 2 * Dm:])).unsqueeze(2)
        # Mem ⊙ (1 − ω eᵀ) + ω addᵀ  =  Mem + ω (addᵀ − Mem ⊙ eᵀ)
        diff = torch.addcmul(torch.tanh(val).view(B, 1, 1, Dm), mem, torch.sigmoid(val).view(B, 1, 1, Dm),
                             value=-1.0)
        mem = torch.addcmul(mem, omega.unsqueeze(3), diff)
        if save:
            if t < T - 1:
                Ms.append(mem)
            ws.append(w)
            r1s.append(r1)
            qs.append(q)
            atts.append(att)
            cs.append(c)
            rs.append(r)
            zs.append(z)
            ns.append(n)
            kvgs.append(kvg)
            wws.append(ww)
        hs.append(h)
    out = [torch.stack(hs, 1), h.clone(), mem, lfb, ema]
    if save:
        out += [torch.stack(ws), torch.stack(r1s), torch.stack(qs), torch.stack(atts), torch.stack(cs),
                torch.stack(rs), torch.stack(zs), torch.stack(ns), torch.stack(kvgs), torch.stack(wws)]
        out += Ms
    return out


@torch.jit.script
def _mom_backward(g_hs: Tensor, gh: Tensor, gM: Tensor, h0: Tensor, W_h: Tensor, W_r2: Tensor,
                  W_c: Tensor, W_hh: Tensor, W_w: Tensor, tau: Tensor, use_noise: bool, scale: float,
                  hs: Tensor, Ws: Tensor, R1s: Tensor, Qs: Tensor, ATTs: Tensor, Cs: Tensor,
                  Rs: Tensor, Zs: Tensor, Ns: Tensor, KVGs: Tensor, WWs: Tensor,
                  Ms: list[Tensor]) -> list[Tensor]:
    """Adjoint of ``_mom_forward``. Per step (⊗ outer product over slots × dims, G = ∂L/∂Mem_t):
    ∂ω = G·add − (G⊙Mem)·e ; ∂add = ωᵀG ; ∂e = −ωᵀ(G⊙Mem) ; ∂Mem_{t−1} = G ⊙ (1 − ω eᵀ)
    + π ⊗ ∂c + s (∂sc ⊗ q + ∂sw ⊗ key) (one baddbmm), with softmax adjoints
    ∂x = p ⊙ (∂p − Σ p ∂p) for router, read and write weights, and the GRU's usual adjoint.
    Weight gradients are accumulated after the loop from the stored per-step pre-activation
    gradients. Returns [∂X, ∂h_0, ∂Mem_0, ∂W_h, ∂W_r2, ∂b_r2, ∂W_c, ∂W_hh, ∂W_w, ∂b_w].
    """
    B, K, S, Dm = Ms[0].shape
    T = len(Ms)
    H = h0.shape[1]
    R = W_r2.shape[0]
    KS = K * S
    F = 3 * H + R + Dm
    W_hT = W_h.t()
    W_r2T = W_r2.t()
    W_cT = W_c.t()
    W_hhT = W_hh.t()
    W_wT = W_w.t()
    GP = torch.empty(B, T, F, dtype=gh.dtype, device=gh.device)  # ∂ pre-activations = ∂X
    GL = torch.empty(B, T, K, dtype=gh.dtype, device=gh.device)  # ∂ router logits
    GK = torch.empty(B, T, 2 * Dm + 1, dtype=gh.dtype, device=gh.device)  # ∂ [key, val, gate]
    g_hsl = g_hs.unbind(1)
    G = gM.reshape(B, KS, Dm)
    for t in range(T - 1, -1, -1):
        hprev = h0 if t == 0 else hs[:, t - 1]
        ghn = g_hsl[t] + gh
        mf = Ms[t].view(B, KS, Dm)
        w = Ws[t]
        kvg = KVGs[t]
        gate = torch.sigmoid(kvg[:, 2 * Dm:])
        e = torch.sigmoid(kvg[:, Dm:2 * Dm])
        ad = torch.tanh(kvg[:, Dm:2 * Dm])
        ww = WWs[t]
        v = w * gate
        omf = (ww * v.unsqueeze(2)).view(B, 1, KS)
        # write: Mem_t = Mem ⊙ (1 − ω eᵀ) + ω addᵀ
        GMm = G * mf
        g_om = (torch.bmm(ad.unsqueeze(1), G.transpose(1, 2))
                - torch.bmm(e.unsqueeze(1), GMm.transpose(1, 2))).view(B, K, S)
        g_ad = torch.bmm(omf, G).view(B, Dm)
        g_e = torch.bmm(omf, GMm).view(B, Dm)  # negated below
        G = torch.addcmul(G, omf.view(B, KS, 1) * e.unsqueeze(1), G, value=-1.0)
        g_v = (g_om * ww).sum(-1)
        g_ww = g_om * v.unsqueeze(2)
        g_sw = ww * (g_ww - (g_ww * ww).sum(-1, keepdim=True)) * scale
        g_w = g_v * gate
        g_gate = (g_v * w).sum(-1, keepdim=True)
        g_key = torch.bmm(g_sw.view(B, 1, KS), mf).view(B, Dm)
        g_val = g_ad * (1.0 - ad * ad) - g_e * e * (1.0 - e)
        g_kvg = torch.cat([g_key, g_val, g_gate * gate * (1.0 - gate)], 1)
        GK[:, t] = g_kvg
        ghn = torch.addmm(ghn, g_kvg, W_wT)
        # GRU: h_t = z⊙h + (1−z)⊙n
        z = Zs[t]
        n = Ns[t]
        r = Rs[t]
        g_z = ghn * (hprev - n)
        g_an = ghn * (1.0 - z) * (1.0 - n * n)
        gh = ghn * z
        g_rh = torch.mm(g_an, W_hhT)
        gh = torch.addcmul(gh, g_rh, r)
        g_ar = g_rh * hprev * r * (1.0 - r)
        g_az = g_z * z * (1.0 - z)
        g_gc = torch.cat([g_ar, g_az, g_an], 1)
        g_c = torch.mm(g_gc, W_cT)
        # read: c = Σ_k w_k Σ_s att_ks Mem_ks
        att = ATTs[t]
        g_pw = torch.bmm(g_c.unsqueeze(1), mf.transpose(1, 2)).view(B, K, S)
        g_att = g_pw * w.unsqueeze(2)
        g_w = g_w + (g_pw * att).sum(-1)
        g_sc = att * (g_att - (g_att * att).sum(-1, keepdim=True)) * scale
        g_q = torch.bmm(g_sc.view(B, 1, KS), mf).view(B, Dm)
        U = torch.stack([(att * w.unsqueeze(2)).view(B, KS), g_sc.view(B, KS), g_sw.view(B, KS)], 2)
        V = torch.stack([g_c, Qs[t], kvg[:, :Dm]], 1)
        G = G.baddbmm_(U, V)
        # router
        g_l = w * (g_w - (g_w * w).sum(-1, keepdim=True))
        if use_noise:
            g_l = g_l / tau[t]
        GL[:, t] = g_l
        g_a1 = torch.mm(g_l, W_r2T).masked_fill_(R1s[t] <= 0, 0.0)
        g_hp = torch.cat([g_ar, g_az, g_a1, g_q], 1)
        GP[:, t] = torch.cat([g_ar, g_az, g_an, g_a1, g_q], 1)
        gh = torch.addmm(gh, g_hp, W_hT)
    # Weight gradients: one matmul over all B·T rows each.
    BT = B * T
    hprev_all = torch.cat([h0.unsqueeze(1), hs[:, :-1]], 1).reshape(BT, H)
    GP2 = GP.view(BT, F)
    g_W_h = torch.mm(hprev_all.t(), torch.cat([GP2[:, :2 * H], GP2[:, 3 * H:]], 1))
    GL2 = GL.view(BT, K)
    g_W_r2 = torch.mm(R1s.transpose(0, 1).reshape(BT, R).t(), GL2)
    g_W_c = torch.mm(Cs.transpose(0, 1).reshape(BT, Dm).t(), GP2[:, :3 * H])
    rh = (Rs.transpose(0, 1).reshape(BT, H) * hprev_all)
    g_W_hh = torch.mm(rh.t(), GP2[:, 2 * H:3 * H])
    GK2 = GK.view(BT, 2 * Dm + 1)
    g_W_w = torch.mm(hs.reshape(BT, H).t(), GK2)
    return [GP, gh, G.view(B, K, S, Dm), g_W_h, g_W_r2, GL2.sum(0), g_W_c, g_W_hh, g_W_w, GK2.sum(0)]


class _MoMGRU(torch.autograd.Function):
    """hs, h_T, Mem_T, lfb, ema = MoM-GRU(X, h_0, Mem_0, weights, router state)."""

    @staticmethod
    def forward(ctx: Any, X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor,  # type: ignore[override]
                W_c: Tensor, W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor,
                noise: Tensor, tau: Tensor, use_noise: bool, update: bool, scale: float) -> tuple[Tensor, ...]:
        out = _mom_forward(X, h0, M0, W_h, W_r2, b_r2, W_c, W_hh, W_w, b_w, lfb, ema, noise, tau,
                           use_noise, update, scale, True)
        hs, hT, MT, lfb, ema = out[:5]
        ctx.save_for_backward(h0, W_h, W_r2, W_c, W_hh, W_w, tau, *out[:1], *out[5:])
        ctx.use_noise, ctx.scale = use_noise, scale
        ctx.mark_non_differentiable(lfb, ema)
        return hs, hT, MT, lfb, ema

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g_hs: Optional[Tensor], g_hT: Optional[Tensor], g_MT: Optional[Tensor],
                 *_: Any) -> tuple[Optional[Tensor], ...]:  # type: ignore[override]
        h0, W_h, W_r2, W_c, W_hh, W_w, tau, hs, *rest = ctx.saved_tensors
        stacks, Ms = rest[:10], rest[10:]
        g_hs = torch.zeros_like(hs) if g_hs is None else g_hs.contiguous()
        g_hT = torch.zeros_like(h0) if g_hT is None else g_hT
        g_MT = torch.zeros_like(Ms[0]) if g_MT is None else g_MT.contiguous()
        grads = _mom_backward(g_hs, g_hT, g_MT, h0, W_h, W_r2, W_c, W_hh, W_w, tau, ctx.use_noise,
                              ctx.scale, hs, *stacks, Ms)
        return (*grads, None, None, None, None, None, None, None)


def mom_gru(X: Tensor, h0: Tensor, M0: Tensor, W_h: Tensor, W_r2: Tensor, b_r2: Tensor, W_c: Tensor,
            W_hh: Tensor, W_w: Tensor, b_w: Tensor, lfb: Tensor, ema: Tensor, noise: Tensor, tau: Tensor,
            use_noise: bool, update: bool, scale: float) -> tuple[Tensor, ...]:
    """The MoM-GRU loop; stores nothing for backward when no gradient is needed."""
    args = (X, h0, M0, W_h, W_r2, b_r2, W_c, W_hh, W_w, b_w)
    if torch.is_grad_enabled() and any(a.requires_grad for a in args):
        return _MoMGRU.apply(*args, lfb, ema, noise, tau, use_noise, update, scale)
    return tuple(_mom_forward(*args, lfb, ema, noise, tau, use_noise, update, scale, False))  # type: ignore[arg-type]


def _causal_depthwise_conv(xp: Tensor, weight: Tensor, bias: Tensor, T: int) -> Tensor:
    """Depthwise conv along time of xp (B, T + k − 1, E) with weight (E, k): (B, T, E), as Conv1d.

    k shifted multiply-adds in the (B, T, E) layout; F.conv1d needs (B, E, T) copies both ways and
    its depthwise CPU backward alone cost more than this whole function, forward and backward.
    """
    k = weight.shape[1]
    out = torch.addcmul(bias, xp[:, :T], weight[:, 0])
    for j in range(1, k):
        out = torch.addcmul(out, xp[:, j:j + T], weight[:, j])
    return out


class MARU(Cell):
    """Mamba block → Linear(d_model → H) → MoM-GRU; output h_t (size H)."""

    def __init__(self, input_size: int, hidden_size: int, size: str = "small", d_model: int = 0,
                 d_state: int = 16, d_conv: int = 4, expand: int = 2, num_memories: int = 0,
                 memory_size: int = 0, memory_dim: int = 0, router_hidden: int = 32,
                 router: str = "enhanced", scan: str = "auto", eval_gumbel: bool = False) -> None:
        super().__init__(input_size, hidden_size)
        if size not in SIZES:
            raise ValueError(f"size must be one of {tuple(SIZES)}, not {size!r}")
        if router not in ROUTERS:
            raise ValueError(f"router must be one of {ROUTERS}, not {router!r}")
        if scan not in SCANS:
            raise ValueError(f"scan must be one of {SCANS}, not {scan!r}")
        K, S, Dm = SIZES[size]
        self.size = size
        self.K = int(num_memories) or K
        self.S = int(memory_size) or S
        self.Dm = int(memory_dim) or Dm
        self.R = int(router_hidden)
        self.d_model = int(d_model) or hidden_size
        self.d_state, self.d_conv, self.expand = int(d_state), int(d_conv), int(expand)
        self.d_inner = self.expand * self.d_model
        self.dt_rank = max(1, self.d_model // 16)
        self.router, self.scan, self.eval_gumbel = router, scan, bool(eval_gumbel)
        if min(self.K, self.S, self.Dm, self.R, self.d_state, self.d_conv, self.expand) < 1:
            raise ValueError("all sizes must be ≥ 1")
        H, M, E, N, I = hidden_size, self.d_model, self.d_inner, self.d_state, input_size

        # Input projection (the reference's embed_proj) only when the widths differ.
        self.in_lin: Optional[nn.Linear] = nn.Linear(I, M) if I != M else None
        # Mamba block
        self.in_proj = nn.Linear(M, 2 * E)
        self.conv1d = nn.Conv1d(E, E, self.d_conv, groups=E)
        self.x_proj = nn.Linear(E, self.dt_rank + 2 * N, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, E)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(E, 1))
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, M)
        # Mamba → GRU projection
        self.to_hidden = nn.Linear(M, H)
        # MoM-GRU (input H)
        self.initial_memories = nn.Parameter(torch.randn(self.K, self.S, self.Dm) * 0.1)
        self.W_xr = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hr = nn.Parameter(torch.empty(H, H))
        self.b_r = nn.Parameter(torch.zeros(H))
        self.W_xz = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hz = nn.Parameter(torch.empty(H, H))
        self.b_z = nn.Parameter(torch.zeros(H))
        self.W_xh = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hh = nn.Parameter(torch.empty(H, H))
        self.b_h = nn.Parameter(torch.zeros(H))
        self.router_net = nn.Sequential(nn.Linear(2 * H, self.R), nn.ReLU(), nn.Linear(self.R, self.K))
        self.read_query = nn.Linear(2 * H, self.Dm)
        self.write_key = nn.Linear(H, self.Dm)
        self.write_value = nn.Linear(H, self.Dm)
        self.write_gate = nn.Linear(H, 1)
        # Router stabiliser state (used by router="enhanced"); not parameters.
        self.register_buffer("lfb_bias", torch.zeros(self.K))
        self.register_buffer("load_ema", torch.full((self.K,), 1.0 / self.K))
        self.register_buffer("router_step", torch.zeros((), dtype=torch.long))
        self._init_parameters()

    def _init_parameters(self) -> None:
        with torch.no_grad():
            for lin in (self.in_lin, self.to_hidden, self.router_net[0], self.router_net[2],
                        self.read_query, self.write_key, self.write_value, self.write_gate):
                if lin is not None:
                    nn.init.xavier_uniform_(lin.weight)
                    nn.init.zeros_(lin.bias)
            for wt in (self.W_xr, self.W_hr, self.W_xz, self.W_hz, self.W_xh, self.W_hh):
                nn.init.xavier_uniform_(wt)
            dt = torch.exp(torch.rand(self.d_inner) * (math.log(DT_MAX) - math.log(DT_MIN))
                           + math.log(DT_MIN)).clamp(min=DT_MIN)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)
            nn.init.uniform_(self.dt_proj.weight, -0.01, 0.01)

    # -- contract ---------------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        E = self.d_inner
        mem = self.initial_memories.to(device=device, dtype=dtype)
        return (torch.zeros(batch, self.d_conv - 1, E, device=device, dtype=dtype),
                torch.zeros(batch, self.d_state, E, device=device, dtype=dtype),
                torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),
                mem.unsqueeze(0).expand(batch, -1, -1, -1))

    def parallel_scan_on(self, device: torch.device) -> bool:
        """Whether the selective scan takes the parallel form on ``device``."""
        if self.scan != "auto":
            return self.scan == "parallel"
        return device.type != "cpu"

    @property
    def impl(self) -> str:  # type: ignore[override]
        par = self.parallel_scan_on(self.D.device)
        return ("parallel-scan" if par else "scripted-seq-scan") + "+scripted-loop"

    def extra_info(self) -> dict[str, Any]:
        return {"impl": self.impl, "size": self.size, "d_model": self.d_model, "d_inner": self.d_inner,
                "num_memories": self.K, "memory_size": self.S, "memory_dim": self.Dm,
                "router": self.router, "scan": self.scan, "eval_gumbel": self.eval_gumbel}

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One token in O(1): the state carries the conv window, the SSM state, h and Mem."""
        y, state = self.forward(x_t.unsqueeze(1), state)
        return y[:, 0], state

    # -- pieces -----------------------------------------------------------------------------
    def _mamba(self, e: Tensor, conv_win: Tensor, ssm: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        T = e.shape[1]
        E, N = self.d_inner, self.d_state
        xs, z = self.in_proj(e).chunk(2, -1)
        xp = torch.cat([conv_win, xs], 1)  # the carried window continues the causal conv
        new_win = xp[:, T:]
        xi = F.silu(_causal_depthwise_conv(xp, self.conv1d.weight.view(E, -1), self.conv1d.bias, T))
        dt, Bm, C = self.x_proj(xi).split([self.dt_rank, N, N], -1)
        delta = F.softplus(self.dt_proj(dt))
        At = -torch.exp(self.A_log).t()
        y, ssm = selective_scan(delta, xi, Bm, C, At, ssm, self.parallel_scan_on(e.device))
        y = torch.addcmul(y, xi, self.D) * F.silu(z)
        return self.out_proj(y), new_win, ssm

    def _router_inputs(self, B: int, T: int, ref: Tensor) -> tuple[Tensor, Tensor, bool, bool]:
        stochastic = self.router == "enhanced" and (self.training or self.eval_gumbel)
        if not stochastic:
            return ref.new_empty(0), ref.new_empty(0), False, False
        u = torch.rand(T, B, self.K, device=ref.device, dtype=ref.dtype)
        noise = -torch.log(-torch.log(u + 1e-8) + 1e-8)
        n = self.router_step.to(torch.float64) + torch.arange(T, device=ref.device, dtype=torch.float64)
        decay = TAU_DECAY ** n
        tau = (TAU_INIT * decay + TAU_FINAL * (1 - decay)).clamp(min=TAU_MIN).to(ref.dtype)
        return noise, tau, True, True

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        B, T, _ = x.shape
        if state is None:
            state = self.initial_state(B, x.device, x.dtype)
        conv_win, ssm, h, mem = state  # type: ignore[misc]
        H, R = self.hidden_size, self.R
        e = self.in_lin(x) if self.in_lin is not None else x
        m, conv_win, ssm = self._mamba(e, conv_win, ssm)
        u = self.to_hidden(m)

        # Hoist every x-dependent projection out of the loop: one matmul for all steps.
        r1, q = self.router_net[0], self.read_query
        W_x = torch.cat([self.W_xr[:H], self.W_xz[:H], self.W_xh[:H], r1.weight[:, :H].t(), q.weight[:, :H].t()], 1)
        b_x = torch.cat([self.b_r, self.b_z, self.b_h, r1.bias, q.bias])
        X = torch.addmm(b_x, u.reshape(B * T, H), W_x).view(B, T, -1)
        W_h = torch.cat([self.W_hr, self.W_hz, r1.weight[:, H:].t(), q.weight[:, H:].t()], 1)
        W_c = torch.cat([self.W_xr[H:], self.W_xz[H:], self.W_xh[H:]], 1)
        r2 = self.router_net[2]
        W_w = torch.cat([self.write_key.weight, self.write_value.weight, self.write_gate.weight], 0).t()
        b_w = torch.cat([self.write_key.bias, self.write_value.bias, self.write_gate.bias])
        enhanced = self.router == "enhanced"
        lfb = self.lfb_bias.to(x.dtype) if enhanced else torch.zeros_like(self.lfb_bias, dtype=x.dtype)
        noise, tau, use_noise, update = self._router_inputs(B, T, x)
        hs, h, mem, lfb, ema = mom_gru(
            X, h, mem, W_h, r2.weight.t().contiguous(), r2.bias, W_c, self.W_hh, W_w.contiguous(), b_w,
            lfb, self.load_ema.to(x.dtype), noise, tau, use_noise, update, 1.0 / math.sqrt(self.Dm))
        if update:
            with torch.no_grad():
                self.lfb_bias.copy_(lfb)
                self.load_ema.copy_(ema)
                if self.training:
                    self.router_step.add_(T)
        return hs, (conv_win, ssm, h, mem)
