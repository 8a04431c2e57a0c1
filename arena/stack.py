"""One stacked block for every cell: L layers of any arena.Cell, bare or residual.

With model width d and x the encoder's output (width I)::

    u = W_in x                       only when I != d (residual blocks)
    for each layer l = 1..L:
        residual:      u = u + P_l(cell_l(RMSNorm(u)))
        residual-mlp:  u = u + P_l(cell_l(RMSNorm(u)));  u = u + MLP_l(RMSNorm(u))
    y = RMSNorm(u)                   (residual blocks; the head reads y)
    none:          u = cell_l(u)     a plain stack, like nn.GRU(num_layers=L)

MLP_l = Linear(d, 4d) → GELU → Linear(4d, d), the feed-forward of lucidrains' minLM (RMSNorm →
minGRU → residual, RMSNorm → feed-forward → residual). P_l = Linear(out_l, d) only when the
cell's output width differs from d. The stack is itself an arena.Cell: its state is every
layer's state tensors in one flat tuple, so step(), chunked-equals-whole, `arena bench` and the
contract checks work on stacks unchanged, and a plugin cell gets the block without any code.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import nn

from arena.cell import Cell, State
from arena.contracts import BLOCKS

#: Expansion of the feed-forward of ``residual-mlp`` blocks (minLM's ff_mult).
MLP_EXPANSION = 4


class StackedCell(Cell):
    """``layers`` cells of width ``hidden_size`` in ``block`` wrappers (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, factory: Callable[..., Cell],
                 options: Mapping[str, Any] | None = None, layers: int = 2, block: str = "residual-mlp") -> None:
        super().__init__(input_size, hidden_size)
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, not {block!r}")
        if layers < 1:
            raise ValueError(f"layers must be at least 1, not {layers}")
        self.block, self.n_layers = block, int(layers)
        d, opts = hidden_size, dict(options or {})
        residual = block != "none"
        self.w_in = nn.Linear(input_size, d) if residual and input_size != d else None
        self.cells = nn.ModuleList()
        self.proj = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.mlp_norms = nn.ModuleList()
        self.mlps = nn.ModuleList()
        width = d if residual else input_size
        for _ in range(self.n_layers):
            cell = factory(width, d, **opts)
            if not isinstance(cell, Cell):
                raise TypeError(f"cell factory {factory!r} returned {type(cell).__name__}, not an arena.Cell")
            self.cells.append(cell)
            if residual:
                self.norms.append(nn.RMSNorm(d))
                self.proj.append(nn.Linear(cell.output_size, d) if cell.output_size != d else nn.Identity())
                if block == "residual-mlp":
                    self.mlp_norms.append(nn.RMSNorm(d))
                    self.mlps.append(nn.Sequential(nn.Linear(d, MLP_EXPANSION * d), nn.GELU(),
                                                   nn.Linear(MLP_EXPANSION * d, d)))
            else:
                width = cell.output_size
        self.final_norm = nn.RMSNorm(d) if residual else None
        self._out = d if residual else width
        inner = self.cells[0]
        self.impl = f"stack[{getattr(inner, 'impl', 'eager-loop')}]"
        self.exact_gradients = all(getattr(c, "exact_gradients", True) for c in self.cells)
        self._layout: list[int] | None = None  # tensors per layer state; 0 = a bare tensor

    @property
    def output_size(self) -> int:
        return self._out

    # -- state: every layer's tensors in one flat tuple ------------------------------------------
    def _flatten(self, states: list[State]) -> tuple[torch.Tensor, ...]:
        layout, flat = [], []
        for s in states:
            if isinstance(s, torch.Tensor):
                layout.append(0)
                flat.append(s)
            else:
                layout.append(len(s))
                flat.extend(s)
        self._layout = layout
        return tuple(flat)

    def _split(self, state: State, like: torch.Tensor) -> list[State | None]:
        flat = (state,) if isinstance(state, torch.Tensor) else tuple(state)
        if self._layout is None:
            self._flatten([c.initial_state(1, like.device, like.dtype) for c in self.cells])
        out, i = [], 0
        for n in self._layout or []:
            if n == 0:
                out.append(flat[i])
                i += 1
            else:
                out.append(tuple(flat[i:i + n]))
                i += n
        if i != len(flat):
            raise ValueError(f"a stack of {self.n_layers} layers carries {i} state tensors, got {len(flat)}")
        return out

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        return self._flatten([c.initial_state(batch, device, dtype) for c in self.cells])

    # -- computation -------------------------------------------------------------------------
    def _run(self, u: torch.Tensor, state: State | None, call: Callable[[Cell, torch.Tensor, Any], Any]
             ) -> tuple[torch.Tensor, State]:
        states = self._split(state, u) if state is not None else [None] * self.n_layers
        if self.w_in is not None:
            u = self.w_in(u)
        new: list[State] = []
        for i, cell in enumerate(self.cells):
            if self.block == "none":
                u, s = call(cell, u, states[i])
            else:
                y, s = call(cell, self.norms[i](u), states[i])
                u = u + self.proj[i](y)
                if self.block == "residual-mlp":
                    u = u + self.mlps[i](self.mlp_norms[i](u))
            new.append(s)
        if self.final_norm is not None:
            u = self.final_norm(u)
        return u, self._flatten(new)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        return self._run(x, state, lambda cell, u, s: cell(u, s))

    def step(self, x_t: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        return self._run(x_t, state, lambda cell, u, s: cell.step(u, s))

    def extra_info(self) -> dict[str, Any]:
        return {"impl": self.impl, "layers": self.n_layers, "block": self.block,
                "inner": self.cells[0].extra_info()}


def stacked(factory: Callable[..., Cell], layers: int = 2, block: str = "residual-mlp") -> Callable[..., Cell]:
    """A cell factory ``(input_size, hidden_size, **options)`` that builds the stack (for the
    contract checks and `arena bench` on stacks)."""
    def build(input_size: int, hidden_size: int, **options: Any) -> StackedCell:
        return StackedCell(input_size, hidden_size, factory, options, layers, block)

    build.__name__ = f"{getattr(factory, '__name__', 'cell')}_x{layers}_{block}"
    return build
