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
