"""Metric helpers shared by tasks (torch is imported by the caller's tensors only)."""
from __future__ import annotations

from typing import Any


def masked_classification(out: Any, y: Any, mask: Any) -> dict[str, float]:
    """Per-token accuracy, whole-sequence accuracy and cross-entropy over ``mask`` positions.

    ``out`` [n, T, C] logits, ``y`` [n, T] targets, ``mask`` [n, T] bool; a sequence counts as
    right when every masked position is right.
    """
    import torch.nn.functional as F

    m = mask.bool()
    hit = out.argmax(-1) == y
    return {
        "token_acc": hit[m].float().mean().item(),
        "seq_acc": (hit | ~m).all(dim=1).float().mean().item(),
        "loss": F.cross_entropy(out[m], y[m]).item(),
    }
