"""The learning rate over optimizer steps: a linear warm-up, then constant or a cosine decay.

    factor(s) = (s + 1) / W                                   for s < W (warm-up)
              = 1                                             constant, after the warm-up
              = m + (1 − m) · ½ (1 + cos(π (s − W) / (S − W)))  cosine, W ≤ s < S

with W = ``warmup_steps``, m = ``min_lr_factor``, S the run's total optimizer steps (epochs ×
batches per epoch): the learning rate is ``lr × factor(s)`` at step s (the references' cosine
with warm-up and a floor; GRUfinity's). Early stopping may end a run before S.
"""
from __future__ import annotations

import math
from typing import Any


def factor(step: int, *, schedule: str, warmup_steps: int, min_lr_factor: float, total_steps: int) -> float:
    """The learning-rate factor at optimizer step ``step`` (0-based); see the module docstring."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r}")
    span = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    return min_lr_factor + (1 - min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))


# By hand (LambdaLR): LinearLR/CosineAnnealingLR update the rate recursively, off this exact form in its last bits.
def scheduler(optimizer: Any, cfg: Any, total_steps: int) -> Any | None:
    """A torch LambdaLR stepping ``factor`` per optimizer step, or None when the rate is constant."""
    if cfg.schedule == "constant" and cfg.warmup_steps == 0:
        return None
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: factor(
        s, schedule=cfg.schedule, warmup_steps=cfg.warmup_steps, min_lr_factor=cfg.min_lr_factor,
        total_steps=total_steps))
