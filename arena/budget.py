"""Sizing a model to a parameter budget: the width w whose model has as close to ``budget``
trainable parameters as the cell's granularity allows.

The count is the usual non-embedding count: cell or stack, head, and any input projection;
the token embedding table is left out (on AG News it would be most of the model). Every cell
follows one scaling rule: only the model width is solved (the cell's ``hidden_size``, which
also sets the embedding width, MARU's d_model = hidden and minGRU's expansion × hidden); every
other size option (MARU's memory banks, slots and widths, …) stays at its value. The models
are built on torch's ``meta`` device: solving allocates no weights and draws no random numbers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

#: The largest deviation from the budget accepted without a flag.
TOLERANCE = 0.05
#: The widest model tried (a budget beyond it is refused).
MAX_WIDTH = 1 << 16


class BudgetError(ValueError):
    """The cell cannot be sized to the budget (its smallest model is larger)."""


@dataclass(frozen=True)
class Sizing:
    """A solved model: its width, non-embedding and total parameter counts, and the budget."""

    width: int
    params: int
    params_with_embedding: int
    budget: int

    @property
    def deviation(self) -> float:
        """(params − budget) / budget."""
        return (self.params - self.budget) / self.budget

    @property
    def within(self) -> bool:
        return abs(self.deviation) <= TOLERANCE


def count(task: Any, cell_factory: Any, options: Mapping[str, Any], train: Any, width: int) -> tuple[int, int]:
    """(non-embedding, total) trainable parameters of the model at ``width``, built on ``meta``."""
    import torch

    from arena.model import build_model, count_parameters, embedding_parameters

    with torch.device("meta"):
        model = build_model(task, cell_factory, options, train, width=width)
    total = count_parameters(model)
    return total - embedding_parameters(task, model), total


def solve(task: Any, cell_factory: Any, options: Mapping[str, Any], train: Any, budget: int | None = None,
          name: str = "the cell") -> Sizing:
    """The width whose non-embedding count is closest to ``budget`` (default ``train.budget``).

    Counts grow with the width; an exponential then a binary search finds the smallest width
    at or above the budget, and the closer of it and the width below wins. Widths the cell
    refuses (ValueError from its constructor) are skipped. Raises BudgetError when even width 1
    exceeds the budget by more than TOLERANCE, or the budget needs a width above MAX_WIDTH.
    """
    budget = int(budget if budget is not None else train.budget)
    if budget <= 0:
        raise ValueError(f"a budget must be a positive number of parameters, not {budget}")
    train = dataclasses.replace(train, budget=0)
    cache: dict[int, tuple[int, int] | None] = {}

    def at(w: int) -> tuple[int, int] | None:
        if w not in cache:
            try:
                cache[w] = count(task, cell_factory, options, train, w)
            except ValueError:
                cache[w] = None
        return cache[w]

    def valid(w: int, step: int = 1) -> int | None:
        """The first width from w (in direction step) the cell accepts, within 16 tries."""
        for k in range(16):
            v = w + k * step
            if 1 <= v <= MAX_WIDTH and at(v) is not None:
                return v
        return None

    first = valid(1)
    if first is None:
        raise BudgetError(f"{name} cannot be built at any width from 1 to 16")
    smallest = at(first)[0]
    if smallest > budget * (1 + TOLERANCE):
        raise BudgetError(f"{name} cannot be sized to {budget:,} parameters: its smallest model (width {first}) "
                          f"has {smallest:,} without the embedding. Use a budget of at least {smallest:,}.")
    lo, hi = first, first
    while at(hi)[0] < budget:
        lo, nxt = hi, valid(min(hi * 2, MAX_WIDTH))
        if nxt is None or nxt == hi:
            raise BudgetError(f"{name} would need a width above {MAX_WIDTH:,} for {budget:,} parameters")
        hi = nxt
    while hi - lo > 1:  # invariant: count(lo) < budget <= count(hi) (or lo == first)
        mid = valid((lo + hi) // 2)
        if mid is None or mid >= hi:
            break
        if at(mid)[0] < budget:
            lo = mid
        else:
            hi = mid
    best = min((w for w in (lo, hi) if at(w) is not None), key=lambda w: (abs(at(w)[0] - budget), w))
    params, total = at(best)
    return Sizing(width=best, params=params, params_with_embedding=total, budget=budget)


def check_plan(host: Any, specs: list[Any]) -> dict[str, Sizing]:
    """Solve every budgeted run's width before anything trains; run key → Sizing.

    Raises arena.errors.ArenaError naming every (cell, task) whose smallest model exceeds its
    budget: such a run is refused, never trained at another size."""
    from arena.errors import ArenaError
    from arena.keys import canonical_json

    solved: dict[str, Sizing] = {}
    by_model: dict[str, Sizing | str] = {}
    for spec in specs:
        train = spec.train_config()
        if not train.budget:
            continue
        ident = canonical_json([spec.cell, spec.cell_options, spec.task, spec.params, spec.train])
        if ident not in by_model:
            task = host.tasks.get(spec.task).load()(**spec.params)
            try:
                entry = host.cells.get(spec.cell)
                by_model[ident] = solve(task, entry.load(), {**entry.info.options, **spec.cell_options}, train,
                                        name=f"{spec.cell} on {spec.task}")
            except BudgetError as exc:
                by_model[ident] = str(exc)
        result = by_model[ident]
        if isinstance(result, Sizing):
            solved[spec.key] = result
    refused = sorted({r for r in by_model.values() if isinstance(r, str)})
    if refused:
        raise ArenaError("cannot size every run to its budget (nothing was trained): " + " | ".join(refused))
    return solved


def backfill_sizes(store: Any, host: Any | None = None) -> int:
    """Record width and parameters without the embedding for runs stored before arena recorded
    them (rebuilding each model on the meta device from its stored configuration); returns how
    many runs were filled. Runs whose cell or task is not installed are left as they are."""
    from sqlalchemy import update

    from arena.host import get_host
    from arena.keys import canonical_json
    from arena.plan import RunSpec
    from arena.store import schema

    host = host or get_host()
    done: dict[str, tuple[int, int] | None] = {}
    filled = 0
    for r in store.runs():
        if r.get("body_params") is not None:
            continue
        spec = RunSpec.from_dict({
            "cell": r["cell_name"], "cell_version": r["cell_version"], "cell_options": r["cell_options"],
            "task": r["task_name"], "task_version": r["task_version"], "preset": r["preset"], "params": r["params"],
            "train": r["train"], "seed": r["seed"], "cell_dist": r["cell_dist"], "task_dist": r["task_dist"]})
        ident = canonical_json([spec.cell, spec.cell_options, spec.task, spec.params, spec.train])
        if ident not in done:
            try:
                task = host.tasks.get(spec.task).load()(**spec.params)
                entry = host.cells.get(spec.cell)
                factory, options = entry.load(), {**entry.info.options, **spec.cell_options}
                train = spec.train_config()
                width = solve(task, factory, options, train).width if train.budget else train.hidden
                done[ident] = (count(task, factory, options, train, width)[0], width)
            except Exception:  # noqa: BLE001 - not installed or not buildable here: leave it unrecorded
                done[ident] = None
        if done[ident] is None:
            continue
        body, width = done[ident]
        with store._begin() as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.key == r["key"]).values(body_params=body, width=width))
        filled += 1
    return filled


def describe(host: Any, cell: str, task: str, preset: str | None = None, budget: int | None = None,
             layers: int | None = None, block: str | None = None) -> dict[str, Any]:
    """What `arena show CELL --task TASK [--budget N]` prints: the model's width, its parameters
    with and without the embedding, its state size, and how close it is to the budget."""
    import torch

    from arena.contracts import TrainConfig
    from arena.model import build_model
    from arena.plan import parse_count

    c, t = host.cells.get(cell), host.tasks.get(task)
    preset = preset or t.info.default_preset
    train = TrainConfig(**t.info.presets[preset].train)
    changes = {k: v for k, v in (("layers", layers), ("block", block)) if v is not None}
    if budget is not None:
        changes["budget"] = int(parse_count(budget))
    train = dataclasses.replace(train, **changes)
    train.validate()
    instance = t.load()(**{**t.info.params, **t.info.presets[preset].params})
    options = dict(c.info.options)
    if train.budget:
        s = solve(instance, c.load(), options, train, name=f"{cell} on {task}")
        width, params, total = s.width, s.params, s.params_with_embedding
    else:
        width = train.hidden
        params, total = count(instance, c.load(), options, train, width)
    with torch.device("meta"):
        model = build_model(instance, c.load(), options, train, width=width)
    out = {"cell": cell, "task": task, "preset": preset, "layers": train.layers, "block": train.block,
           "width": width, "params": params, "params_with_embedding": total,
           "state_size": int(sum(x.numel() for x in _state_tensors(model.cell)))}
    if train.budget:
        out.update(budget=train.budget, deviation=round((params - train.budget) / train.budget, 4),
                   within_tolerance=abs(params - train.budget) <= TOLERANCE * train.budget)
    return out


def _state_tensors(cell: Any) -> tuple[Any, ...]:
    import torch

    state = cell.initial_state(1, torch.device("meta"), torch.float32)
    return state if isinstance(state, tuple) else (state,)
