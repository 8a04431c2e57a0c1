"""Selective copy's ``padding_query`` (issue 18 item 3): MoGRU's token table has ``padding_idx=0``,
so the query token 0 embeds to a fixed zero vector (Thormatt/mogru mogru/benchmark.py, the
``embed_token`` tables); arena's default keeps a learned vector and the stored runs' keys."""
import dataclasses

import torch

from arena.contracts import TrainConfig
from arena.host import get_host
from arena.model import build_model
from arena.plan import parse_overrides, plan_runs
from arena.plugins.baselines import GRU
from arena.registry import Registry
from arena.tasks.selective_copy import INFO, SelectiveCopyTask

CPU = torch.device("cpu")


def task(preset="smoke", **kw):
    return SelectiveCopyTask(**{**INFO.params, **INFO.presets[preset].params, **kw})


def one_step(t, embed_init="torch"):
    """A model as the host builds it, after one backward pass on a batch of the task."""
    torch.manual_seed(0)
    model = build_model(t, GRU, {}, TrainConfig(hidden=16, embed_init=embed_init))
    batch = t.generate(8, torch.Generator().manual_seed(1), CPU)
    t.loss(model(batch["x"]), batch).backward()
    return model, batch


def test_padding_query_embeds_the_query_token_as_a_zero_vector_without_gradient():
    t = task(padding_query=True)
    assert t.padding_idx == 0
    model, batch = one_step(t)
    tokens, markers = model.encoder.tables
    assert tokens.padding_idx == 0 and markers.padding_idx is None  # the marker table is never padded
    assert torch.all(tokens.weight[0] == 0) and torch.all(tokens.weight.grad[0] == 0)
    assert tokens.weight.grad[1:].abs().sum() > 0 and markers.weight.grad.abs().sum() > 0
    # A query step (token 0, marker 0) is the marker embedding of 0 alone, as in the reference.
    query = batch["x"][:, -1]
    assert torch.all(query == 0)
    torch.testing.assert_close(model.encoder(query), markers.weight[0].expand(len(query), -1))
    # The N(0, 0.02²) initialisation keeps the padding row zero too.
    small, _ = one_step(t, embed_init="normal-0.02")
    assert torch.all(small.encoder.tables[0].weight[0] == 0)


def test_without_padding_query_the_query_token_is_learned_as_before():
    t = task()
    assert t.padding_idx is None and t.params["padding_query"] is False
    model, _ = one_step(t)
    tokens = model.encoder.tables[0]
    assert tokens.padding_idx is None
    assert tokens.weight[0].abs().sum() > 0 and tokens.weight.grad[0].abs().sum() > 0
    # The same weights as the encoder built before the parameter existed (same draws, same order).
    torch.manual_seed(0)
    before = torch.nn.ModuleList([torch.nn.Embedding(t.input_size, 16), torch.nn.Embedding(2, 16)])
    torch.manual_seed(0)
    now = t.build_encoder(16)[0]
    assert all(torch.equal(a, b) for a, b in zip(before.parameters(), now.parameters()))


def test_padding_only_changes_the_embedding_not_the_data():
    off, on = task(), task(padding_query=True)
    for split in ("train", "val", "test"):
        a, b = off.data(split, seed=3, epoch=0, device=CPU), on.data(split, seed=3, epoch=0, device=CPU)
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_mogru_preset_pads_and_stored_keys_are_unchanged():
    """``padding_query`` is an added parameter: at its default it is left out of a run, so every
    run planned (and stored) before it existed keeps its key and data seed."""
    assert "padding_query" in INFO.added_params and INFO.params["padding_query"] is False
    assert INFO.presets["mogru"].params["padding_query"] is True
    assert all("padding_query" not in p.params for name, p in INFO.presets.items() if name != "mogru")

    host = get_host()
    entry = host.tasks.get("selective-copy")
    old_params = {k: v for k, v in INFO.params.items() if k != "padding_query"}
    old_presets = {n: dataclasses.replace(p, params={k: v for k, v in p.params.items() if k != "padding_query"})
                   for n, p in INFO.presets.items()}
    old_info = dataclasses.replace(INFO, params=old_params, presets=old_presets, added_params=())
    old_tasks = Registry("task")
    old_cls = type("OldSelectiveCopy", (SelectiveCopyTask,), {"info": old_info, "validate": lambda self: None})
    old_tasks.add("selective-copy", old_cls, old_info, entry.plugin, dist=entry.dist)

    def keys(tasks, preset, *sets):
        specs = plan_runs(host.cells, tasks, ["gru", "mogru"], ["selective-copy"], [0, 1, 4], preset,
                          parse_overrides(list(sets)))
        return [(s.key, s.data_seed) for s in specs], specs

    for preset in ("smoke", "standard"):
        now, specs = keys(host.tasks, preset)
        assert now == keys(old_tasks, preset)[0]
        assert all("padding_query" not in s.params for s in specs)
    # Set explicitly to its default it is still left out; switched on it is another run.
    assert keys(host.tasks, "standard", "task.padding_query=false")[0] == keys(old_tasks, "standard")[0]
    on, specs = keys(host.tasks, "standard", "task.padding_query=true")
    assert all(s.params["padding_query"] is True for s in specs)
    assert not {k for k, _ in on} & {k for k, _ in keys(old_tasks, "standard")[0]}
    _, mogru = keys(host.tasks, "mogru")
    assert all(s.params["padding_query"] is True for s in mogru)
