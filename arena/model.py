"""The host's model: the task's encoder, the cell, the task's readout head.

    tokens:   u = Dropout(Embedding(x))        features: u = Dropout(x)
    y = Dropout(cell(u))                        readout "last": head(y[:, -1])
                                                readout "every": head(y)  (every step)
                                                readout "last-valid": head(y[i, len_i − 1])
                                                  (each sequence's own last real token)

Every cell is wrapped the same way, so a comparison measures the recurrence alone. With
``layers > 1`` or a ``block`` the cell is stacked (arena/stack.py); with a ``budget`` the width
is solved so the model has that many parameters without the embedding (arena/budget.py).

Readout ``last`` reads the last step of the padded sequence (post-padding included, as the ARU
reference does on AG News); ``last-valid`` reads position ``lengths[i] − 1`` of sample ``i``
(the task gives ``lengths`` in its batch). Cells are causal, so that output is the one the cell
gives on the unpadded sequence; the padding after it is computed but never read.

Token embeddings are nn.Embedding's N(0, 1) (``embed_init="torch"``) or N(0, 0.02²)
(``"normal-0.02"``, MARU's reference), redrawn after the whole model is built so every other
weight is the same as with the default; padding rows stay zero.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from arena.cell import Cell
from arena.contracts import EMBED_INITS, READOUTS, TrainConfig
from arena.task import Task


class SequenceModel(nn.Module):
    def __init__(self, encoder: nn.Module, cell: Cell, head: nn.Module, readout: str, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.cell = cell
        self.head = head
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, not {readout!r}")
        self.readout = readout
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs of the head; ``lengths`` ([B], real tokens per sample) is needed by the
        ``last-valid`` readout and ignored by the others."""
        u = self.drop(self.encoder(x))
        y, _ = self.cell(u)
        if self.readout == "last":
            y = y[:, -1]
        elif self.readout == "last-valid":
            y = last_valid(y, lengths)
        return self.head(self.drop(y))

    def stream(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Head outputs at every step of ``x`` from ``state`` (None: zero), and the final state:
        what a stream task's windows and generation go through (arena/stream.py)."""
        y, state = self.cell(self.drop(self.encoder(x)), state)
        return self.head(self.drop(y)), state


def last_valid(y: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """``y[i, lengths[i] − 1]`` for each sample ``i`` of ``y`` [B, T, H] → [B, H].

    A length below 1 (an empty text) reads position 0; a length above T reads the last step."""
    if lengths is None:
        raise ValueError("readout 'last-valid' needs the task to give 'lengths' (real tokens per sample) "
                         "in its batch")
    if lengths.shape != y.shape[:1]:
        raise ValueError(f"lengths must be [batch] = [{y.shape[0]}], got {tuple(lengths.shape)}")
    idx = (lengths.to(device=y.device, dtype=torch.long).clamp(1, y.shape[1]) - 1)
    return y.gather(1, idx.view(-1, 1, 1).expand(-1, 1, y.shape[2])).squeeze(1)


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
    model = SequenceModel(encoder, cell, head, getattr(task, "readout", task.info.readout), train.dropout)
    init_embeddings(model.encoder, train.embed_init)
    return model


def init_embeddings(encoder: nn.Module, how: str) -> None:
    """Redraw every token table of ``encoder`` as ``how`` says (EMBED_INITS); ``"torch"`` keeps
    nn.Embedding's N(0, 1) and draws nothing, so the default path's weights are unchanged."""
    if how not in EMBED_INITS:
        raise ValueError(f"unknown embed_init {how!r}: use {' or '.join(EMBED_INITS)}")
    if how == "torch":
        return
    for module in encoder.modules():
        if isinstance(module, nn.Embedding):
            with torch.no_grad():
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()


def embedding_parameters(task: Task, model: SequenceModel) -> int:
    """Trainable parameters of the token embedding table(s); 0 for feature inputs."""
    return count_parameters(model.encoder) if task.info.input_kind == "tokens" else 0


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
