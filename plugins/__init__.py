"""arena's built-in cells, registered through the same ``register_cells`` hook as any plugin.

This module is the entry point (``builtin-cells`` in pyproject.toml) and stays free of torch:
each cell is named by a lazy ``"module:Class"`` factory and imported only when it is built.
Each cell's module docstring gives its equations and reference.
"""
from __future__ import annotations

from typing import Callable

from arena import CellInfo, hookimpl

BASELINES = "torch.nn reference implementation (PyTorch)"
#: ARU's options and their defaults (its constructor's; arena.plugins.aru reads them from here so
#: that registering cells needs no torch).
ARU_OPTIONS: dict[str, object] = {"input_projection": "auto", "layer_norm": False, "gate_preset": "default",
                                  "reset_init": 2.0, "persistence_init": 2.0, "accumulation_init": 0.0,
                                  "orthogonal_per_gate": False, "script": True}
#: Where init="aru" of gru/lstm/rnn comes from (see arena/plugins/baselines.py).
ARU_BASELINES = "abderahmane-ai/additive-recurrent-unit (aru/baselines.py, snapshot d7370a0)"


@hookimpl
def register_cells(register: Callable[..., None]) -> None:
    register(
        "gru",
        "arena.plugins.baselines:GRU",
        info=CellInfo(
            summary="Gated recurrent unit, torch.nn.GRU (cuDNN on CUDA).",
            reference="Cho et al. 2014, arXiv:1406.1078; " + BASELINES,
            equation="r,z = σ(W x + U h + b); n = tanh(W_n x + b_n + r⊙(U_n h + b_hn)); h = (1−z)⊙n + z⊙h",
            options={"init": "torch"},
            added_options=("init",),
            capabilities=("step", "fused-cuda"),
            notes="init='torch' (default): torch.nn.GRU, default init. init='aru': ManualGRU of " + ARU_BASELINES
                  + ": z,r = σ(W_g x + b_g + U_g h); h̃ = tanh(W_c x + b_c + U_c(r⊙h)); h = (1−z)⊙h̃ + z⊙h, "
                  "no recurrent bias (3HI+3H²+3H params), orthogonal weights, zero biases except b_z = +1; "
                  "TorchScript loop, not cuDNN.",
        ),
    )
    register(
        "lstm",
        "arena.plugins.baselines:LSTM",
        info=CellInfo(
            summary="Long short-term memory, torch.nn.LSTM (oneDNN on CPU, cuDNN on CUDA).",
            reference="Hochreiter & Schmidhuber 1997; " + BASELINES,
            equation="i,f,g,o = σ,σ,tanh,σ(W x + U h + b); c = f⊙c + i⊙g; h = o⊙tanh(c)",
            options={"init": "torch"},
            added_options=("init",),
            capabilities=("step", "fused-cuda"),
            notes="init='torch' (default): torch.nn.LSTM, default init. init='aru': ManualLSTM of " + ARU_BASELINES
                  + ": same equations with one bias (the input projection's, no recurrent bias: 4HI+4H²+4H "
                  "params), orthogonal weights, zero biases except the forget gate's b_f = +1; TorchScript "
                  "loop, not oneDNN/cuDNN.",
        ),
    )
    register(
        "rnn",
        "arena.plugins.baselines:RNN",
        info=CellInfo(
            summary="Elman RNN with tanh, torch.nn.RNN.",
            reference="Elman 1990; " + BASELINES,
            equation="h = tanh(W x + b_x + U h + b_h)",
            options={"init": "torch"},
            added_options=("init",),
            capabilities=("step", "fused-cuda"),
            notes="init='torch' (default): torch.nn.RNN, default init. init='aru': ManualRNN of " + ARU_BASELINES
                  + ": h = tanh(W x + b + U h), no recurrent bias (HI+H²+H params), orthogonal weights, zero "
                  "biases; TorchScript loop, not cuDNN.",
        ),
    )
    register(
        "mingru",
        "arena.plugins.mingru:MinGRU",
        info=CellInfo(
            summary="minGRU: gates and candidate from x only; sequential loop on CPU, log-space parallel scan on CUDA.",
            reference="Feng et al. 2024, 'Were RNNs All We Needed?', arXiv:2410.01201; lucidrains/minGRU-pytorch",
            equation="a,k = split(W x); z = σ(k); h̃ = g(a) (g = x+0.5 if x≥0 else σ(x)); h = (1−z)⊙h + z⊙h̃; "
                     "y = W_o h if expansion≠1 or proj_out",
            options={"expansion": 1.0, "proj_out": False, "mode": "auto", "grufinity_carry_bug": False},
            capabilities=("step", "parallel-scan"),
            notes="State is the inner h (int(H·expansion)). mode auto: sequential scripted loop on CPU "
                  "(the log-space scan is ~5× slower there), Heinsen log-space scan on CUDA. A carried "
                  "state enters the scan as log h; grufinity_carry_bug=True reproduces GRUfinity's "
                  "log g(h) carry (state inflated at each chunk boundary). proj_out=True gives "
                  "GRUfinity's output projection at expansion 1.",
        ),
    )
    hsru_ref = "hsameerc/hsru (src/core/hsru.py, DualStateLIFLayer; snapshot aec0c31) and docs/HSRU-LIF-RNN.pdf"
    hsru_eq = ("α = exp(−softplus(τ)); V = α⊙V_prev + W_in x + b_in; S = H(V − θ) (surrogate 1/(1+10|V−θ|)²); "
               "D = D_prev⊙(1−S) + (1−D_prev)⊙S; y = tanh(W_out[V; D] + b_out)")
    register(
        "hsru",
        "arena.plugins.hsru:HSRU",
        info=CellInfo(
            summary="Hybrid State Recurrent Unit: leaky integrate-and-fire unit with a spike-toggled binary state; "
                    "faithful per-step detach (no gradient through time).",
            reference=hsru_ref,
            equation=hsru_eq + "; V_prev, D_prev detached every step",
            capabilities=("step",),
            notes="Faithful to the reference's per-step detach: W_in, τ, θ, W_out learn from the current step only "
                  "(effective TBPTT length 1); see hsru-bptt for the variant without the cut. Params I·H + 2H² + 4H; "
                  "τ ~ N(0,1), θ = 0.5, Linear layers torch default. The reference's forward-only CUDA kernel is "
                  "not reproduced.",
        ),
    )
    register(
        "hsru-bptt",
        "arena.plugins.hsru:HSRUBPTT",
        info=CellInfo(
            summary="HSRU with backpropagation through time (the reference's per-step detach removed).",
            reference=hsru_ref,
            equation=hsru_eq,
            capabilities=("step",),
            notes="Same cell, init and forward as hsru; gradients flow through V and D (through D via the spike "
                  "surrogate). Hand-written backward (reverse scans) checked against autograd.",
        ),
    )
    register(
        "aru",
        "arena.plugins.aru:ARU",
        info=CellInfo(
            summary="Additive Recurrent Unit: three independent sigmoid gates (reset, persistence, "
                    "accumulation) around an additive, unbounded state; candidate from the input only.",
            reference="A. Ainouche, Additive Recurrent Unit, github.com/abderahmane-ai/additive-recurrent-unit "
                      "(aru/model.py, snapshot d7370a0)",
            equation="ρ,π,α = σ(W_gx u + b_g + U_g h); v = tanh(W_c u + b_c); h = ρ⊙(π⊙h + α⊙v)",
            options=dict(ARU_OPTIONS),
            capabilities=("step",),
            notes="input_projection auto = reference: u = x when input_size == hidden (token embedding) or "
                  "input_size < hidden//4, else a bias-free Linear(input_size→hidden). gate_preset "
                  "'sparse-events' = persistence 3.0, accumulation −1.0 (reference P4); a *_init option set "
                  "to a non-default value wins over the preset. Params 3H²+4dH+4H (7H²+4H at d=H) "
                  "+ H·input_size with the projection. In the reference the input dropout is dead code, "
                  "so only the output dropout acts there.",
        ),
    )
    mogru_ref = "Thormatt/mogru (08f8191), mogru/mogru.py"
    register(
        "mogru",
        "arena.plugins.mogru:MoGRU",
        info=CellInfo(
            summary="Momentum-gated GRU: a velocity state smooths the hidden-state steps; LayerNorm on h.",
            reference=mogru_ref + " and ablation.py",
            equation=("r,u,β = σ(W[x,h] + b); h̃ = tanh(W_h x + b_h + U_h(r⊙h)); "
                      "v = β⊙v + (1−β)⊙(h̃−h); h = LN(h + u⊙v)"),
            options={"layer_norm": True, "reset": True, "beta_mode": "learned", "fixed_beta": 0.9,
                     "velocity_clip": 0.0, "velocity_norm": False, "velocity_gate": False,
                     "damping": False},
            capabilities=("step",),
            notes=("Params 4H(I+H)+6H. Init xavier_uniform, b_β=+2, update bias −2. beta_mode "
                   "learned|fixed (β=fixed_beta)|zero (β=0: GRU+LayerNorm); reset=False sets r=1; "
                   "velocity_clip (0=off), velocity_norm, velocity_gate (b_α=+2) and damping "
                   "((1−γ)h before the LN) are the reference's §3.3 velocity-fix options. Ablations "
                   "drop unused weights (the reference keeps them allocated)."),
        ),
    )
    register(
        "momgru",
        "arena.plugins.mogru:MomGRU",
        info=CellInfo(
            summary="MomentumRNN-style GRU: heavy-ball momentum on the input projection (MoGRU's baseline).",
            reference="Nguyen et al. 2020, arXiv:2006.06919; " + mogru_ref + " (MomentumGRUCell)",
            equation=("v = μv + ε(W_x x + b_x); a = U h; r,z = σ(v_rz + a_rz); "
                      "n = tanh(v_n + r⊙a_n); h = (1−z)⊙h + z⊙n"),
            options={"mu": 0.9, "eps": 1.0},
            capabilities=("step",),
            notes=("Params 3H(I+H)+3H (b_x only, U bias-free: matches the reference's 103,185 / "
                   "50,433 totals). Init xavier_uniform, zero biases, as the reference. μ, ε fixed. "
                   "State (h, v) with v 3H wide."),
        ),
    )
    register(
        "maru",
        "arena.plugins.maru:MARU",
        info=CellInfo(
            summary="MARU: Mamba block (selective scan) → Linear → mixture-of-memories GRU with router, attention "
                    "read and NTM erase/add write.",
            reference="Fingersoup/MARU (src/maru.py, mamba_block.py, mom_gru_cell.py, enhanced_mom_gru_cell.py; "
                      "snapshot c9b2770); Gu & Dao 2023, arXiv:2312.00752",
            equation="s = exp(Δ⊗A)⊙s + B⊗(Δ⊙ξ), m = out_proj((C·s + D⊙ξ)⊙SiLU(z)), u = W m; "
                     "w = softmax(R2 ReLU(R1[u,h])); c = Σ_k w_k softmax(Mem_k q/√Dm)ᵀMem_k; x̂=[u,c]; "
                     "r,z = σ(x̂W+hU+b); h̃ = tanh(x̂W_h+(r⊙h)U_h+b_h); h = z⊙h+(1−z)⊙h̃; "
                     "Mem_k ← Mem_k⊙(1−ω_k eᵀ)+ω_k addᵀ, ω_k = softmax(Mem_k key/√Dm)·w_k·σ(g)",
            options={"size": "small", "d_model": 0, "d_state": 16, "d_conv": 4, "expand": 2, "num_memories": 0,
                     "memory_size": 0, "memory_dim": 0, "router_hidden": 32, "router": "enhanced", "scan": "auto",
                     "eval_gumbel": False},
            capabilities=("step", "parallel-scan"),
            notes=("size small: K=4 banks × S=32 slots × Dm=32; reference: 6×256×128 (the 6.77M model; at hidden 640 "
                   "the cell has exactly its 6,315,623 Mamba+proj+MoM-GRU params). d_model 0 = hidden; memory sizes "
                   "0 = from size. State (conv window, SSM state, h, Mem): step is O(1) and chunks equal whole runs "
                   "(the reference's generate_step restarts Mamba per token). router enhanced = LFB bias + "
                   "Gumbel-softmax τ schedule in training; eval uses softmax(logits+LFB bias), deterministic; "
                   "eval_gumbel=True restores the reference's noisy eval. scan auto: sequential scripted loop with "
                   "checkpointed hand-written backward on CPU (~6× faster than the parallel scan here), Blelloch "
                   "parallel scan elsewhere. Host head/dropout replace the reference's MLP head and dropouts. CPU: "
                   "~5× nn.GRU time forward+backward and ~4.6× step at B32/H128/T256. Trained at lr 1e-4 in the reference; at lr 1e-2 it "
                   "saturates (fails smoke-train), learns at ≤5e-3."),
        ),
    )
