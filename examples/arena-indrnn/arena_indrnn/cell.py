"""IndRNN: the independently recurrent neural network (Li, Li, Cook, Zhu & Gao, CVPR 2018).

Each unit n has a single recurrent weight u_n, so units do not interact through time::

    h_t = relu(W x_t + u ⊙ h_{t−1} + b)          y_t = h_t

Through T steps the gradient of unit n is scaled by u_n^T (times relu's 0/1 derivatives), so
the paper bounds the recurrent weights: |u_n| ≤ γ^{1/T} keeps the amplification below γ (its
MAG, 2 by default). Its code initialises W ~ N(0, 0.001²), b = 0 and u ~ U(0, γ^{1/T}) (lower
layers) or U(γ^{−1/T}, γ^{1/T}) (the last layer, when only the final step is read), and clips u
to [−γ^{1/T}, γ^{1/T}] before every update. arena's training loop has no per-update hook, so
the clip happens in the forward pass: the effective weight is clamp(u, −γ^{1/T}, γ^{1/T}),
which is the same as long as u stays inside and holds a weight that leaves at the bound.

W x + b depends on the input only, so it is computed for the whole sequence in one matrix
multiply before the time loop; the loop is one multiply-add and a relu per step.
"""
from __future__ import annotations

import torch
from torch import nn

from arena.cell import Cell, State

INITS = ("uniform", "memory")


class IndRNN(Cell):
    impl = "eager-loop"

    def __init__(self, input_size: int, hidden_size: int, horizon: int = 100, gamma: float = 2.0,
                 init: str = "uniform", input_std: float = 0.001) -> None:
        super().__init__(input_size, hidden_size)
        if horizon < 1 or gamma <= 1.0 or input_std < 0:
            raise ValueError("IndRNN needs horizon ≥ 1, gamma > 1 and input_std ≥ 0")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, not {init!r}")
        self.horizon, self.gamma, self.init, self.input_std = int(horizon), float(gamma), init, float(input_std)
        #: The bound on |u|: the gradient through `horizon` steps grows at most `gamma`-fold.
        self.u_max = self.gamma ** (1.0 / self.horizon)
        self.input_proj = nn.Linear(input_size, hidden_size)  # W and b
        self.u = nn.Parameter(torch.empty(hidden_size))  # the recurrent weights: a vector
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.input_proj.weight, 0.0, self.input_std)
        nn.init.zeros_(self.input_proj.bias)
        low = 0.0 if self.init == "uniform" else 1.0 / self.u_max
        nn.init.uniform_(self.u, low, self.u_max)

    def recurrent_weight(self) -> torch.Tensor:
        """u clipped to the paper's bound [−γ^{1/T}, γ^{1/T}]."""
        return self.u.clamp(-self.u_max, self.u_max)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        h = self.initial_state(x.shape[0], x.device, x.dtype) if state is None else state
        wx = self.input_proj(x)  # [B, T, H], hoisted out of the loop
        u = self.recurrent_weight()
        outputs = []
        for t in range(x.shape[1]):
            h = torch.relu(wx[:, t] + u * h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h

    def step(self, x_t: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        h = self.initial_state(x_t.shape[0], x_t.device, x_t.dtype) if state is None else state
        h = torch.relu(self.input_proj(x_t) + self.recurrent_weight() * h)
        return h, h

    def extra_info(self) -> dict[str, object]:
        return {"impl": self.impl, "u_max": self.u_max,
                "u_clipped": int((self.u.detach().abs() > self.u_max).sum())}
