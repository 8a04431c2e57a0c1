"""The one training loop every run goes through.

Adam (or AdamW) on the task's loss, gradient-norm clipping, optional ReduceLROnPlateau, early
stopping on a validation metric, the best-validation weights kept as a real copy (not the
aliasing ``state_dict().copy()`` of the ARU reference), and test metrics computed from them.
A NaN/inf training loss ends the run with status ``diverged``; it is a result, not an error.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from arena.contracts import OPTIMIZERS, TrainConfig
from arena.keys import derive_seed
from arena.model import SequenceModel, build_model, count_parameters, embedding_parameters
from arena.plan import RunSpec
from arena.schedule import scheduler
from arena.task import Task


@dataclass
class Outcome:
    status: str  # "done" or "diverged"
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # split → name → value
    curves: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    best_epoch: int | None = None
    n_params: int = 0
    #: Trainable parameters without the token embedding table (what a budget counts).
    body_params: int = 0
    #: The model width: ``hidden``, or the width solved for the budget.
    width: int = 0
    cell_params: int = 0
    state_size: int = 0
    impl: str = ""
    error: str | None = None
    #: sha256 of the kept weights' file (``weights_path`` given), else None.
    weights_sha256: str | None = None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    return dev


def _batches(data: Mapping[str, torch.Tensor], size: int, order: torch.Tensor | None = None):
    n = next(iter(data.values())).shape[0]
    for i in range(0, n, size):
        idx = order[i:i + size] if order is not None else slice(i, i + size)
        yield {k: v[idx] for k, v in data.items()}


@torch.no_grad()
def evaluate(model: SequenceModel, task: Task, data: Mapping[str, torch.Tensor], batch_size: int) -> dict[str, float]:
    model.eval()
    outs = [model(b["x"], b.get("lengths")) for b in _batches(data, batch_size)]
    model.train()
    return {k: float(v) for k, v in task.evaluate(torch.cat(outs), data).items()}


def train_run(spec: RunSpec, task_factory: Callable[..., Task], cell_factory: Any, device: torch.device,
              on_epoch: Callable[[int, int], None] | None = None,
              cell_defaults: Mapping[str, Any] | None = None, weights_path: Any = None) -> Outcome:
    """Train one run to completion; raises only for bugs (the runner stores them as failed).

    ``cell_defaults`` (the cell's registered options) fill the options a run leaves out (those
    added after runs were stored, at their default). With ``weights_path`` the weights the test
    metrics come from are saved there (arena/checkpoints.py)."""
    cfg: TrainConfig = spec.train_config()
    task = task_factory(**spec.params)
    metric_dirs = {m.name: m.higher_is_better for m in task.info.metrics}
    monitor = cfg.monitor or task.info.main_metric
    higher = metric_dirs[monitor]

    data_seed = spec.data_seed
    val = task.data("val", seed=data_seed, epoch=0, device=device)
    test = task.data("test", seed=data_seed, epoch=0, device=device)
    train = task.data("train", seed=data_seed, epoch=0, device=device)

    options = {**(cell_defaults or {}), **spec.cell_options}
    width = cfg.hidden
    if cfg.budget:  # solved on the meta device: no random numbers drawn before the seed is set
        from arena.budget import solve

        width = solve(task, cell_factory, options, cfg, name=f"{spec.cell} on {spec.task}").width
    torch.manual_seed(spec.init_seed % (2**63))  # weights and dropout depend on (cell, seed)
    model = build_model(task, cell_factory, options, cfg, width=width).to(device)
    cell = model.cell
    n_params = count_parameters(model)
    out = Outcome(status="done", n_params=n_params, cell_params=count_parameters(cell),
                  body_params=n_params - embedding_parameters(task, model), width=width,
                  state_size=cell.state_size(), impl=str(cell.impl))

    opt_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(cfg.optimizer)
    if opt_cls is None:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r} ({', '.join(OPTIMIZERS)})")
    opt = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.plateau_patience > 0:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max" if higher else "min", factor=cfg.plateau_factor, patience=cfg.plateau_patience)
    if task.stream:
        from arena import stream

        per_epoch = stream.steps_per_epoch(train, cfg.batch_size, task.bptt)
    else:
        per_epoch = math.ceil(next(iter(train.values())).shape[0] / cfg.batch_size)
    per_step = scheduler(opt, cfg, cfg.epochs * per_epoch)  # None: constant
    # The batch order depends on the data seed only: every cell sees the same batches.
    order_gen = torch.Generator(device="cpu")
    order_gen.manual_seed(derive_seed("order", data_seed) % (2**63))

    def step(loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        if per_step is not None:
            per_step.step()

    def evaluate_split(data: Mapping[str, torch.Tensor]) -> dict[str, float]:
        if task.stream:
            return stream.evaluate(model, task, data)
        return evaluate(model, task, data, cfg.batch_size)

    best: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        if task.stream:
            loss_sum, steps = stream.train_epoch(model, task, train, cfg.batch_size, step)
        else:
            if epoch > 1 and task.fresh_train_data():
                train = task.data("train", seed=data_seed, epoch=epoch - 1, device=device)
            n = next(iter(train.values())).shape[0]
            order = torch.randperm(n, generator=order_gen).to(device)
            loss_sum = torch.zeros((), device=device)
            steps = 0
            for batch in _batches(train, cfg.batch_size, order):
                loss = task.loss(model(batch["x"], batch.get("lengths")), batch)
                step(loss)
                loss_sum += loss.detach()
                steps += 1
        train_loss = float(loss_sum) / max(steps, 1)
        out.epochs = epoch
        if not math.isfinite(train_loss):
            out.status = "diverged"
            out.error = f"training loss became {train_loss} in epoch {epoch}"
            break
        val_metrics = evaluate_split(val)
        score = val_metrics[monitor]
        row = {"epoch": epoch, "train_loss": train_loss, "lr": opt.param_groups[0]["lr"],
               "seconds": time.perf_counter() - t0, **{f"val_{k}": v for k, v in val_metrics.items()}}
        out.curves.append(row)
        if sched is not None:
            sched.step(score)
        improved = math.isfinite(score) and (best is None or (score > best if higher else score < best))
        if improved:
            best, stale, out.best_epoch = score, 0, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            out.metrics["val"] = val_metrics
        else:
            stale += 1
        if on_epoch is not None:
            on_epoch(epoch, cfg.epochs)
        if stale >= cfg.patience:
            break

    if out.status == "diverged":
        return out  # no test score: the board scores a diverged run at the floor
    if best_state is not None:
        model.load_state_dict(best_state)
    out.metrics["test"] = evaluate_split(test)
    if weights_path is not None:
        from arena.checkpoints import save

        out.weights_sha256 = save(model.state_dict(), weights_path)
    return out
