"""Sampling text from a trained run through the cell's ``step()``: O(1) work per token.

The prompt is read in one call (``SequenceModel.stream``); then each new token is drawn from
softmax(logits / temperature), restricted to the ``top_k`` most likely tokens when given, with a
``torch.Generator`` seeded by ``seed`` (the same seed gives the same text), embedded, and fed to
``cell.step`` with the carried state. Tokens per second time the sampling loop alone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from arena.errors import ArenaError
from arena.model import SequenceModel


@dataclass
class Sample:
    text: str
    tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("inf")


def model_of_run(host: Any, run: dict[str, Any], weights_dir: Any) -> tuple[SequenceModel, Any]:
    """The stored run's model with its kept weights (sha256 checked) and its task."""
    from arena.checkpoints import load, path_for
    from arena.contracts import TrainConfig
    from arena.model import build_model

    task_entry, cell_entry = host.tasks.get(run["task_name"]), host.cells.get(run["cell_name"])
    task = task_entry.load()(**run["params"])
    if not (callable(getattr(task, "encode", None)) and callable(getattr(task, "decode", None))):
        raise ArenaError(f"task {run['task_name']!r} has no text vocabulary (encode/decode): nothing to generate")
    state = load(path_for(weights_dir, run["key"]), run.get("weights_sha256"))
    train = TrainConfig(**run["train"])
    options = {**cell_entry.info.options, **run["cell_options"]}
    model = build_model(task, cell_entry.load(), options, train, width=run.get("width") or train.hidden)
    model.load_state_dict(state)
    return model.eval(), task


@torch.no_grad()
def sample(model: SequenceModel, prompt: list[int], length: int, *, temperature: float = 1.0,
           top_k: int | None = None, seed: int = 0) -> tuple[list[int], float]:
    """``length`` new token ids after ``prompt`` and the seconds the sampling loop took."""
    if not prompt:
        raise ValueError("the prompt must have at least one token")
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    if top_k is not None and top_k < 1:
        raise ValueError("top_k must be ≥ 1")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    logits, state = model.stream(torch.tensor([prompt]))
    last = logits[:, -1]
    out: list[int] = []
    t0 = time.perf_counter()
    for _ in range(length):
        scores = last / temperature
        if top_k is not None and top_k < scores.shape[-1]:
            kth = torch.topk(scores, top_k, dim=-1).values[:, -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        token = torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=gen)  # [1, 1]
        out.append(int(token))
        y, state = model.cell.step(model.encoder(token[:, 0]), state)
        last = model.head(y)
    return out, time.perf_counter() - t0


def generate(model: SequenceModel, task: Any, prompt: str, length: int, **options: Any) -> Sample:
    ids, seconds = sample(model, task.encode(prompt), length, **options)
    return Sample(text=task.decode(ids), tokens=length, seconds=seconds)
