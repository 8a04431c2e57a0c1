"""Tests of the IndRNN cell: arena's contract checks, the paper's equations and its constraint."""
from __future__ import annotations

import pytest
import torch

from arena.testing import check_cell, make_cell_tests
from arena_indrnn.cell import IndRNN

# One pytest test per contract check of arena (shapes, step = forward, chunked state carry,
# determinism, gradients, finite-difference gradient check, parameter count, smoke training).
TestContract = make_cell_tests("indrnn")


def slow_reference(cell: IndRNN, x: torch.Tensor) -> torch.Tensor:
    """h_t = relu(W x_t + u ⊙ h_{t−1} + b), one unit and one step at a time."""
    W, b = cell.input_proj.weight.tolist(), cell.input_proj.bias.tolist()
    u = [max(-cell.u_max, min(cell.u_max, v)) for v in cell.u.tolist()]
    out = torch.zeros(x.shape[0], x.shape[1], cell.hidden_size, dtype=x.dtype)
    for i in range(x.shape[0]):
        h = [0.0] * cell.hidden_size
        for t in range(x.shape[1]):
            xt = x[i, t].tolist()
            h = [max(0.0, sum(W[n][k] * xt[k] for k in range(len(xt))) + b[n] + u[n] * h[n])
                 for n in range(cell.hidden_size)]
            out[i, t] = torch.tensor(h, dtype=x.dtype)
    return out


@pytest.mark.parametrize("init", ["uniform", "memory"])
def test_matches_the_equations(init):
    torch.manual_seed(0)
    cell = IndRNN(3, 4, horizon=5, init=init, input_std=0.5).double()
    with torch.no_grad():
        cell.u[0] = 3.0  # outside the bound: the clipped value must be used
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    y, h = cell(x)
    torch.testing.assert_close(y, slow_reference(cell, x))
    torch.testing.assert_close(h, y[:, -1])


def test_recurrent_weights_follow_the_paper():
    torch.manual_seed(0)
    cell = IndRNN(2, 1000, horizon=50, gamma=2.0)
    bound = 2.0 ** (1 / 50)
    assert cell.u_max == pytest.approx(bound)
    assert 0.0 <= float(cell.u.detach().min()) and float(cell.u.detach().max()) <= bound  # U(0, γ^(1/T))
    memory = IndRNN(2, 1000, horizon=50, gamma=2.0, init="memory")
    assert float(memory.u.detach().min()) >= 1 / bound  # U(γ^(−1/T), γ^(1/T))
    assert float(cell.input_proj.weight.detach().std()) == pytest.approx(0.001, rel=0.1)
    assert torch.all(cell.input_proj.bias == 0)
    with torch.no_grad():
        cell.u.fill_(5.0)
    assert torch.all(cell.recurrent_weight() == bound)


def test_options_are_validated():
    with pytest.raises(ValueError, match="init"):
        IndRNN(2, 3, init="orthogonal")
    with pytest.raises(ValueError, match="gamma"):
        IndRNN(2, 3, gamma=1.0)


def test_memory_init_passes_the_quick_checks():
    results = check_cell("indrnn", options={"init": "memory"}, skip=["smoke-train"])
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]


def test_registered_with_arena():
    from arena.host import PluginHost

    host = PluginHost()
    entry = host.cells.get("indrnn")
    assert host.plugins[entry.plugin].dist == "arena-indrnn"
    assert entry.info.options["horizon"] == 100
