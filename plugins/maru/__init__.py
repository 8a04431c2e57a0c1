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
kept frozen in tests/maru_reference_v1.py, to float64 rounding — tests/test_maru.py), one module
per piece, each with its own notes:

* ``cell``: the ``MARU`` cell, time-major throughout, input-only products fused into big matmuls;
* ``mamba_block``: conv → SiLU → x_proj/dt_proj → scan → gate as one autograd Function;
* ``scan``: the selective scan, sequential (checkpointed backward) and parallel (Blelloch);
* ``mom_loop``: the MoM-GRU loop and its hand-written backward;
* ``lean_step``: ``step`` without autograd as one TorchScript function;
* ``constants``: size presets, option choices, router and init constants.

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
Against the reference's two configurations: its ``MARUConfig`` defaults (d_model = hidden = 256)
have K=4, S=128, Dm=64, a memory of 32,768 numbers per sequence, and its training script's 6.77M
model K=6, S=256, Dm=128, 196,608 numbers; ``small`` keeps K=4 banks and holds 1/8 and 1/48 of
those. Every run on the shipped board uses ``small``; ``size="reference"`` (or the three
overrides, e.g. ``--set cell.memory_size=128 --set cell.memory_dim=64`` for MARUConfig) gives the
reference's. The reference embeds tokens with N(0, 0.02): ``--set embed_init=normal-0.02``
(the host's default is torch's N(0, 1)).

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

from .cell import MARU
from .constants import (CHUNK, DT_MAX, DT_MIN, LOG2E, ROUTERS, SCANS, SIZES, TAU_DECAY, TAU_FINAL, TAU_INIT,
                        TAU_MIN)
from .lean_step import _maru_step
from .mamba_block import _conv_tm, _mamba_core_autograd, _mamba_core_fwd, _MambaCore, _new_window, mamba_core
from .mom_loop import _mom_bwd, _mom_fwd, _MoMGRU, mom_gru
from .scan import _assoc_scan, _scan_bwd, _scan_fwd, _SelectiveScan, _ssm_parallel, selective_scan

# Every name the single-module plugins/maru.py had, so imports from arena.plugins.maru keep working.
__all__ = ["CHUNK", "DT_MAX", "DT_MIN", "LOG2E", "MARU", "ROUTERS", "SCANS", "SIZES", "TAU_DECAY", "TAU_FINAL",
           "TAU_INIT", "TAU_MIN", "_MambaCore", "_MoMGRU", "_SelectiveScan", "_assoc_scan", "_conv_tm",
           "_mamba_core_autograd", "_mamba_core_fwd", "_maru_step", "_mom_bwd", "_mom_fwd", "_new_window",
           "_scan_bwd", "_scan_fwd", "_ssm_parallel", "mamba_core", "mom_gru", "selective_scan"]
