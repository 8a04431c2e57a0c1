"""arena's built-in cells, registered through the same ``register_cells`` hook as any plugin.

This module is the entry point (``builtin-cells`` in pyproject.toml) and stays free of torch:
each cell is named by a lazy ``"module:Class"`` factory and imported only when it is built.
Each cell's module docstring gives its equations and reference.
"""
from __future__ import annotations

from typing import Callable

from arena import CellInfo, hookimpl

BASELINES = "torch.nn reference implementation (PyTorch)"


@hookimpl
def register_cells(register: Callable[..., None]) -> None:
    register(
        "gru",
        "arena.plugins.baselines:GRU",
        info=CellInfo(
            summary="Gated recurrent unit, torch.nn.GRU (cuDNN on CUDA).",
            reference="Cho et al. 2014, arXiv:1406.1078; " + BASELINES,
            equation="r,z = σ(W x + U h + b); n = tanh(W_n x + b_n + r⊙(U_n h + b_hn)); h = (1−z)⊙n + z⊙h",
            capabilities=("step", "fused-cuda"),
        ),
    )
    register(
        "lstm",
        "arena.plugins.baselines:LSTM",
        info=CellInfo(
            summary="Long short-term memory, torch.nn.LSTM (oneDNN on CPU, cuDNN on CUDA).",
            reference="Hochreiter & Schmidhuber 1997; " + BASELINES,
            equation="i,f,g,o = σ,σ,tanh,σ(W x + U h + b); c = f⊙c + i⊙g; h = o⊙tanh(c)",
            capabilities=("step", "fused-cuda"),
        ),
    )
    register(
        "rnn",
        "arena.plugins.baselines:RNN",
        info=CellInfo(
            summary="Elman RNN with tanh, torch.nn.RNN.",
            reference="Elman 1990; " + BASELINES,
            equation="h = tanh(W x + b_x + U h + b_h)",
            capabilities=("step", "fused-cuda"),
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
