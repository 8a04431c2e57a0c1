"""MARU: Memory-Augmented Recurrent Unit — a Mamba block, then a mixture-of-memories GRU.

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

Implementation (issue 22's rewrite; outputs, states and gradients equal the previous one,
kept frozen in tests/maru_reference_v1.py, to float64 rounding — tests/test_maru.py):

* Everything runs time-major ((T, B, ·)), so every per-step slice the loops touch is contiguous,
  and so is every operand broadcast inside a loop (Aᵀ arrives as a transposed view and a conv
  tap's weights as a strided column of (E, k): either made each per-step operation several
  times slower).
  Every input-only product is one matmul over all T·B rows: embed_proj∘in_proj fused into one
  I → 2E map (when I ≠ M: a third of the work, and one weight-gradient product instead of two
  larger ones), out_proj, then to_hidden fused with the x-parts of the router, the read query and
  the three GRU gates into one M → R+Dm+3H map; the 1/√Dm of both attention scores is folded into
  the query and key weights.
* Mamba block (``"sequential"`` scan): conv → SiLU → x_proj/dt_proj → softplus → scan → D skip →
  SiLU(z) gate is one autograd Function (``_MambaCore``) whose backward is written out: a few
  in-place passes over (T, B, E) tensors instead of autograd's dozens of temporaries (fresh
  large tensors cost page faults here), and x_proj/dt_proj weight gradients as single products.
  The scan is a TorchScript loop with exp(Δ·A) computed as exp2(Δ·A·log₂e) (exp2 is ~4× cheaper
  than exp on this CPU); its backward recomputes the states chunk by chunk (16 steps) from
  checkpoints, so no (T, B, N, E) tensor is kept.
  Mamba-2's chunked "SSD" form does not apply: it needs one scalar decay per head, while Mamba-1's
  A is diagonal with a different decay for each of the N·E state entries, so a chunk's
  state-to-output map is an (L, L, N, E) tensor (L times the sequential scan's work, and a
  factored exp(A·cumΔ) form overflows); the scan is elementwise work either way.
  ``"parallel"`` is a Blelloch-style work-efficient associative scan (depth 2·log₂T; every
  coefficient a product of decays in (0, 1], nothing overflows) with the Mamba block through
  autograd; ``"auto"`` takes it on non-CPU devices (the usual GPU choice; not measured, no GPU
  was available) and the sequential loop on CPU, where the parallel form streams several
  (T, B, N, E) tensors and was ~6× slower (measured before the rewrite). ``mamba_ssm``'s fused kernel is not used: it takes no
  initial SSM state, so chunked runs and ``step`` could not carry it.
* MoM-GRU: a TorchScript loop in one autograd Function with a hand-written backward (the adjoint
  is in ``_mom_bwd``'s docstring); the K banks are batched (one bmm over all K·S slots); Mem is
  updated in place in one working buffer and the backward recomputes each chunk's memories from
  a checkpoint every 16 steps (the previous version kept all T of them, (T, B, K, S, Dm), and
  streamed them back from DRAM); every weight gradient is one product after the loop.
* ``step`` without autograd is one TorchScript function over cached fused weights (rebuilt when a
  parameter's version changes; ``forward`` drops the cache), with the new SSM state and memory
  built in place on one fresh tensor each (the state passed in is never modified).

Cost on the 2-core CPU (B=32, input 64, H=128; median ratio to nn.GRU timed in the same rounds;
docs/performance.md and benchmarks/results/maru_*.json have the runs): ``arena bench`` (2 threads)
forward+backward 4.99× at T=256 and 5.46× at T=1024, step() 4.58× / 4.59×. Paired with this cell
before the rewrite: one thread, forward+backward 5.06× / 5.25× (before: 6.48× / 7.51×), step()
4.67× / 4.62× (7.86× / 8.10×); two threads 4.54× / 4.86× (5.85× / 6.88×) and 4.60× / 4.60×
(8.08× / 8.08×). Peak memory of one forward+backward at T=256: 278 MB (434 MB before).
Issue 22's 3× is not reached: the matrix products alone are 3.09× nn.GRU's multiply-adds per
token and take 1.44× nn.GRU's whole forward+backward at the measured GEMM speed; adding the
loops' passes over the (B, N, E) SSM state and the (B, K, S, Dm) memory (18 per step each,
forward+backward) at their standalone speed gives ≈2.9×, at their speed with a working set
beyond L2 (as in the loops) ≈3.9× (benchmarks/maru_profile.py); going below that needs each
step's state passes fused into one kernel (a compiled per-sequence loop holding the state in
L1), which TorchScript cannot express.

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
from typing import Any

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
LOG2E = 1.4426950408889634  # exp(Δ·A) = exp2(Δ·A·log2 e): exp2 is ~4× cheaper than exp on this CPU
CHUNK = 16  # steps between the checkpoints the hand-written backwards recompute from


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
        self.in_lin: nn.Linear | None = nn.Linear(I, M) if I != M else None
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
        self._step_cache: tuple[tuple[Any, ...], tuple[Tensor, ...]] | None = None

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
        return ("parallel-scan" if par else "fused-mamba-exp2-scan") + "+mom-loop-v2+lean-step"

    def extra_info(self) -> dict[str, Any]:
        return {"impl": self.impl, "size": self.size, "d_model": self.d_model, "d_inner": self.d_inner,
                "num_memories": self.K, "memory_size": self.S, "memory_dim": self.Dm,
                "router": self.router, "scan": self.scan, "eval_gumbel": self.eval_gumbel}

    # -- weights in the loops' layouts ----------------------------------------------------------
    def _fused_weights(self) -> tuple[Tensor, ...]:
        """(W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w), differentiable.

        W_f, b_f: embed_proj∘in_proj as one (I → 2E) map (the composition of two linear maps: a
        third of the matmul work, and its weight gradient is one (T·B)×I×2E product instead of
        two larger ones); W_u, b_u: to_hidden∘[the x-parts of R1 | Q | W_xr | W_xz | W_xh] as one
        (M → R+Dm+3H) map. The 1/√Dm of the read and write scores is folded into the query and
        key weights.
        """
        H, Dm = self.hidden_size, self.Dm
        scale = 1.0 / math.sqrt(Dm)
        if self.in_lin is not None:
            W_f = torch.mm(self.in_proj.weight, self.in_lin.weight).t()
            b_f = torch.addmv(self.in_proj.bias, self.in_proj.weight, self.in_lin.bias)
        else:
            W_f, b_f = self.in_proj.weight.t(), self.in_proj.bias
        r1, q, r2 = self.router_net[0], self.read_query, self.router_net[2]
        W_x = torch.cat([r1.weight[:, :H].t(), q.weight[:, :H].t() * scale, self.W_xr[:H], self.W_xz[:H],
                         self.W_xh[:H]], 1)
        b_x = torch.cat([r1.bias, q.bias * scale, self.b_r, self.b_z, self.b_h])
        W_u = torch.mm(self.to_hidden.weight.t(), W_x)
        b_u = torch.addmv(b_x, W_x.t(), self.to_hidden.bias)
        W_h = torch.cat([r1.weight[:, H:].t(), q.weight[:, H:].t() * scale, self.W_hr, self.W_hz], 1)
        W_c = torch.cat([self.W_xr[H:], self.W_xz[H:], self.W_xh[H:]], 1)
        W_w = torch.cat([self.write_key.weight * scale, self.write_value.weight, self.write_gate.weight], 0).t()
        b_w = torch.cat([self.write_key.bias * scale, self.write_value.bias, self.write_gate.bias])
        return (W_f, b_f, W_u, b_u, W_h.contiguous(), r2.weight.t().contiguous(), r2.bias, W_c, W_w.contiguous(), b_w)

    def _step_weights(self) -> tuple[Tensor, ...]:
        """Everything ``_maru_step`` takes, built once and reused while no parameter changes.

        The key is each parameter's version counter and storage: optimiser steps, load_state_dict
        and in-place edits under no_grad all bump it. (Edits through ``p.data`` bypass version
        counters; ``forward`` drops this cache, so the next step rebuilds after any forward call.)
        """
        params = list(self.parameters())
        key = tuple((p._version, p.data_ptr(), p.dtype, p.device) for p in params)
        cache = getattr(self, "_step_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        with torch.no_grad():
            E = self.d_inner
            W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w = self._fused_weights()
            A2 = (-torch.exp(self.A_log)).t() * LOG2E
            weights = (W_f.contiguous(), b_f, self.conv1d.weight.view(E, -1).t().contiguous(), self.conv1d.bias,
                       self.x_proj.weight.t().contiguous(), self.dt_proj.weight.t().contiguous(), self.dt_proj.bias,
                       A2.contiguous(), self.D, self.out_proj.weight.t().contiguous(), self.out_proj.bias,
                       W_u.contiguous(), b_u, W_h, W_r2, b_r2, W_c.contiguous(), self.W_hh, W_w, b_w)
        self._step_cache = (key, weights)
        return weights

    def train(self, mode: bool = True) -> MARU:
        self._step_cache = None
        return super().train(mode)

    # -- step ---------------------------------------------------------------------------------
    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One token in O(1): the state carries the conv window, the SSM state, h and Mem.

        Without autograd (inference) one scripted function does the whole step with cached fused
        weights; with gradients it is ``forward`` on a length-1 sequence.
        """
        if (torch.is_grad_enabled() and (x_t.requires_grad or any(p.requires_grad for p in self.parameters())
                                         or (state is not None and any(s.requires_grad for s in state)))) \
                or self.parallel_scan_on(x_t.device):
            y, state = self.forward(x_t.unsqueeze(1), state)
            return y[:, 0], state
        B = x_t.shape[0]
        if state is None:
            state = self.initial_state(B, x_t.device, x_t.dtype)
        conv_win, ssm, h, mem = state  # type: ignore[misc]
        enhanced = self.router == "enhanced"
        lfb = self.lfb_bias.to(x_t.dtype) if enhanced else torch.zeros_like(self.lfb_bias, dtype=x_t.dtype)
        noise, tau, use_noise, update = self._router_inputs(B, 1, x_t)
        h, conv_win, ssm, mem, lfb, ema = _maru_step(
            x_t, conv_win, ssm, h, mem, *self._step_weights(), lfb, self.load_ema.to(x_t.dtype),
            noise[0] if use_noise else noise, tau[0] if use_noise else tau, use_noise, update)
        if update:
            self._update_router_state(lfb, ema, 1)
        return h.clone(), (conv_win, ssm, h, mem)  # the output does not alias the state

    # -- pieces -------------------------------------------------------------------------------
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

    def _update_router_state(self, lfb: Tensor, ema: Tensor, T: int) -> None:
        with torch.no_grad():
            self.lfb_bias.copy_(lfb)
            self.load_ema.copy_(ema)
            if self.training:
                self.router_step.add_(T)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        self._step_cache = None
        B, T, I = x.shape
        if state is None:
            state = self.initial_state(B, x.device, x.dtype)
        conv_win, ssm, h, mem = state  # type: ignore[misc]
        E = self.d_inner
        W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w = self._fused_weights()
        # Time-major from here on: every per-step slice the loops touch is contiguous.
        xz = torch.addmm(b_f, x.transpose(0, 1).reshape(T * B, I), W_f).view(T, B, 2 * E)
        core = _mamba_core_autograd if self.parallel_scan_on(x.device) else mamba_core
        g, conv_win, ssm = core(xz, conv_win, self.conv1d.weight.view(E, -1), self.conv1d.bias,
                                self.x_proj.weight, self.dt_proj.weight, self.dt_proj.bias,
                                -torch.exp(self.A_log).t(), self.D, ssm)
        m = torch.addmm(self.out_proj.bias, g.reshape(T * B, E), self.out_proj.weight.t())
        X = torch.addmm(b_u, m, W_u).view(T, B, -1)
        enhanced = self.router == "enhanced"
        lfb = self.lfb_bias.to(x.dtype) if enhanced else torch.zeros_like(self.lfb_bias, dtype=x.dtype)
        noise, tau, use_noise, update = self._router_inputs(B, T, x)
        hs, h, mem, lfb, ema = mom_gru(X, h, mem, W_h, W_r2, b_r2, W_c, self.W_hh, W_w, b_w,
                                       lfb, self.load_ema.to(x.dtype), noise, tau, use_noise, update)
        if update:
            self._update_router_state(lfb, ema, T)
        return hs.transpose(0, 1).contiguous(), (conv_win, ssm, h, mem)
