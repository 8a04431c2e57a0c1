"""The cell contract: only the recurrence.

A cell maps a batch-first sequence to outputs and a final state::

    y, state = cell(x, state=None)      # x: [B, T, input_size] -> y: [B, T, output_size]
    y_t, state = cell.step(x_t, state)  # x_t: [B, input_size]   (O(1) recurrent inference)

``state`` is a tensor or a tuple of tensors whose first dimension is the batch; ``None`` means
the cell's zero (or learned) initial state. Feeding a sequence in chunks and carrying the state
must give the same outputs as one call on the whole sequence. Embeddings, heads, losses and the
optimiser belong to the host, so every cell meets the same ones.
"""
from __future__ import annotations

from typing import Any, Union

import torch
from torch import nn

State = Union[torch.Tensor, tuple[torch.Tensor, ...]]


class Cell(nn.Module):
    #: Which implementation ran ("fused", "scripted-loop", "parallel-scan", "eager-loop", ...);
    #: recorded with every run and benchmark so a silent fallback is visible.
    impl: str = "eager-loop"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        return torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def step(self, x_t: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """One time step; cells with a cheaper single-step path override this."""
        y, state = self.forward(x_t.unsqueeze(1), state)
        return y[:, 0], state

    def state_size(self) -> int:
        """Numbers in the recurrent state of one sequence (bytes = this × element size)."""
        state = self.initial_state(1, torch.device("cpu"), torch.float32)
        tensors = state if isinstance(state, tuple) else (state,)
        return int(sum(t.numel() for t in tensors))

    def extra_info(self) -> dict[str, Any]:
        """Anything worth storing with a run (e.g. which variant or path was used)."""
        return {"impl": self.impl}
