"""The host's model: the task's encoder, the cell, the task's readout head.

    tokens:   u = Dropout(Embedding(x))        features: u = Dropout(x)
    y = Dropout(cell(u))                        readout "last": head(y[:, -1])
                                                readout "every": head(y)  (every step)

Every cell is wrapped the same way, so a comparison measures the recurrence alone. With
``layers > 1`` or a ``block`` the cell is stacked (arena/stack.py); with a ``budget`` the width
is solved so the model has that many parameters without the embedding (arena/budget.py).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from arena.cell import Cell
from arena.contracts import TrainConfig
from arena.task import Task


class SequenceModel(nn.Module):
    def __init__(self, encoder: nn.Module, cell: Cell, head: nn.Module, readout: str, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.cell = cell
        self.head = head
        self.readout = readout
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.drop(self.encoder(x))
        y, _ = self.cell(u)
        if self.readout == "last":
            y = y[:, -1]
        return self.head(self.drop(y))


class SummedEmbeddings(nn.Module):
    """Several token streams ``x[..., s]`` embedded separately and added (e.g. token + marker)."""

    def __init__(self, vocab_sizes: list[int], dim: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.tables = nn.ModuleList(
            nn.Embedding(v, dim, padding_idx=padding_idx if i == 0 else None) for i, v in enumerate(vocab_sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(table(x[..., i]) for i, table in enumerate(self.tables))  # type: ignore[return-value]


def build_encoder(task: Task, dim: int) -> tuple[nn.Module, int]:
    """Embedding of width ``dim`` for tokens, identity for features; returns (module, width)."""
    custom = getattr(task, "build_encoder", None)
    if custom is not None:
        return custom(dim)
    if task.info.input_kind == "tokens":
        return nn.Embedding(task.input_size, dim, padding_idx=task.padding_idx), dim
    return nn.Identity(), task.input_size


def build_model(task: Task, cell_factory: Any, cell_options: Mapping[str, Any], train: TrainConfig,
                width: int | None = None) -> SequenceModel:
    """Encoder, cell (or a stack of ``train.layers`` in ``train.block``s, arena/stack.py) and head
    at model width ``width`` (default ``train.hidden``; a budget's solved width otherwise)."""
    d = int(width or train.hidden)
    encoder, in_width = build_encoder(task, d)
    if train.layers > 1 or train.block != "none":
        from arena.stack import StackedCell

        cell: Cell = StackedCell(in_width, d, cell_factory, cell_options, train.layers, train.block)
    else:
        cell = cell_factory(in_width, d, **cell_options)
    if not isinstance(cell, Cell):
        raise TypeError(f"cell factory {cell_factory!r} returned {type(cell).__name__}, not an arena.Cell")
    head = nn.Linear(cell.output_size, task.output_size)
    return SequenceModel(encoder, cell, head, task.info.readout, train.dropout)


def embedding_parameters(task: Task, model: SequenceModel) -> int:
    """Trainable parameters of the token embedding table(s); 0 for feature inputs."""
    return count_parameters(model.encoder) if task.info.input_kind == "tokens" else 0


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
