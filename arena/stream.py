"""Stream tasks (``Task.stream``): truncated backpropagation through time with carried state.

A stream task's split is one sequence, ``x`` [1, N] with targets ``y`` [1, N].

Training: ``x`` is cut into B (= ``batch_size``) contiguous parallel streams of L = ⌊N / B⌋
tokens, stream b = x[b·L : (b+1)·L] (the last N − B·L tokens are dropped). Each epoch walks the
streams in windows of ``bptt`` tokens from a zero state: one optimizer step per window, and the
window's final state, detached, starts the next window, so the state carries across windows
while gradients stop at the window's start.

Evaluation: the whole split as one stream (batch 1), in windows of ``bptt`` tokens, once with the
state carried from window to window — the same as one call on the whole split, unbounded
context — and once with the state reset to zero at every window. The task's ``evaluate(out,
batch)`` gets the carried outputs as ``out`` and the reset ones as ``batch["out_reset"]``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping

import torch

from arena.model import SequenceModel
from arena.task import Task


def parallel_streams(seq: torch.Tensor, n: int) -> torch.Tensor:
    """[n, L]: ``seq`` ([N] or [1, N]) cut into n contiguous rows of L = ⌊N / n⌋, tail dropped."""
    flat = seq.reshape(-1)
    length = flat.shape[0] // n
    if length < 1:
        raise ValueError(f"a stream of {flat.shape[0]} tokens cannot be cut into {n} parallel streams "
                         "(batch_size): lower batch_size")
    return flat[: n * length].view(n, length)


def windows(length: int, bptt: int) -> Iterator[slice]:
    """Consecutive slices of at most ``bptt`` positions covering ``range(length)``."""
    for start in range(0, length, bptt):
        yield slice(start, min(start + bptt, length))


def steps_per_epoch(train: Mapping[str, torch.Tensor], batch_size: int, bptt: int) -> int:
    return math.ceil((train["x"].numel() // batch_size) / bptt)


def detach(state: Any) -> Any:
    """The state with every tensor detached (tuples and lists of tensors, nested, or None)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach(s) for s in state)
    return state


def train_epoch(model: SequenceModel, task: Task, train: Mapping[str, torch.Tensor], batch_size: int,
                step: Callable[[torch.Tensor], None]) -> tuple[torch.Tensor, int]:
    """One pass over the parallel streams; ``step(loss)`` does backward and the optimizer step.
    Returns the summed window losses (a tensor) and the number of windows."""
    x = parallel_streams(train["x"], batch_size)
    y = parallel_streams(train["y"], batch_size)
    state = None  # every epoch starts from a zero state
    loss_sum = torch.zeros((), device=x.device)
    n = 0
    for w in windows(x.shape[1], task.bptt):
        out, state = model.stream(x[:, w], state)
        loss = task.loss(out, {"x": x[:, w], "y": y[:, w]})
        step(loss)
        state = detach(state)
        loss_sum += loss.detach()
        n += 1
    return loss_sum, n


def stream_outputs(model: SequenceModel, x: torch.Tensor, bptt: int, carry: bool) -> torch.Tensor:
    """Head outputs over the whole ``x`` [B, N], window by window; ``carry`` passes the state on,
    otherwise every window starts from zero."""
    outs, state = [], None
    for w in windows(x.shape[1], bptt):
        out, state = model.stream(x[:, w], state if carry else None)
        outs.append(out)
    return torch.cat(outs, dim=1)


@torch.no_grad()
def evaluate(model: SequenceModel, task: Task, data: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The task's metrics on one split, carried and reset (see the module docstring)."""
    model.eval()
    carried = stream_outputs(model, data["x"], task.bptt, carry=True)
    reset = stream_outputs(model, data["x"], task.bptt, carry=False)
    model.train()
    return {k: float(v) for k, v in task.evaluate(carried, {**data, "out_reset": reset}).items()}
