"""Baseline cells: torch.nn.GRU, torch.nn.LSTM and torch.nn.RNN (tanh), one layer, batch first.

PyTorch's own modules with their default initialisation (U(−1/√H, 1/√H)), as the MoGRU
reference uses them. On CUDA they run cuDNN's fused kernels; on CPU nn.GRU and nn.RNN are an
ATen loop and nn.LSTM uses oneDNN (see ../shared/specs/cpu-performance.md §6).

    GRU:  r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h
    LSTM: i, f, g, o = σ, σ, tanh, σ (W x + b_i + U h + b_h)  c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')
    RNN:  h' = tanh(W x + b_i + U h + b_h)
"""
from __future__ import annotations

import torch
from torch import nn

from arena.cell import Cell, State


class _TorchRNN(Cell):
    module_class: type[nn.RNNBase]

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.rnn = self.module_class(input_size, hidden_size, batch_first=True)

    @property
    def impl(self) -> str:  # type: ignore[override]
        return "cudnn" if self.rnn.weight_hh_l0.is_cuda else "torch-native-cpu"

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        h0 = None if state is None else state.unsqueeze(0)  # type: ignore[union-attr]
        y, h = self.rnn(x, h0)
        return y, h.squeeze(0)


class GRU(_TorchRNN):
    module_class = nn.GRU


class RNN(_TorchRNN):
    module_class = nn.RNN


class LSTM(_TorchRNN):
    module_class = nn.LSTM

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone())

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        hc = None if state is None else (state[0].unsqueeze(0), state[1].unsqueeze(0))
        y, (h, c) = self.rnn(x, hc)
        return y, (h.squeeze(0), c.squeeze(0))
