import dataclasses
import inspect

import pytest
import torch
from torch import nn

from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.plugins.baselines import GRU, LSTM, RNN
from arena.registry import Registry
from arena.testing import TRAINING_CHECKS, assert_checks, check_cell


@pytest.mark.parametrize("cls", [GRU, LSTM, RNN])
def test_contract_shapes_step_and_chunked_state(cls):
    torch.manual_seed(0)
    cell = cls(3, 8)
    x = torch.randn(2, 10, 3)
    y, state = cell(x)
    assert y.shape == (2, 10, 8)
    # Step-wise inference equals the sequence call.
    s = None
    steps = []
    for x_t in x.unbind(1):
        y_t, s = cell.step(x_t, s)
        steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y)
    # Two chunks with the state carried equal one call.
    y1, s1 = cell(x[:, :4])
    y2, _ = cell(x[:, 4:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    assert cell.state_size() == (16 if cls is LSTM else 8)


def test_parameter_counts_match_torch_formulas():
    # §6.15: GRU 3H(d+H)+6H, LSTM 4H(d+H)+8H
    d, h = 1, 64
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(GRU(d, h)) == 3 * h * (d + h) + 6 * h
    assert count(LSTM(d, h)) == 4 * h * (d + h) + 8 * h
    assert count(RNN(d, h)) == h * (d + h) + 2 * h


# -- option init: "torch" (default, torch.nn) or "aru" (the ARU repository's baselines) ----------------
# Reference: abderahmane-ai/additive-recurrent-unit, aru/baselines.py (snapshot d7370a0),
# ManualGRU / ManualLSTM / ManualRNN. Facts used below, from that file:
#   * input projections are nn.Linear with bias, recurrent ones nn.Linear(bias=False):
#     GRU gate_x_proj I→2H, cand_x_proj I→H, gate_h_proj H→2H, cand_h_proj H→H;
#     LSTM gate_x_proj I→4H, gate_h_proj H→4H; RNN W_x I→H, W_h H→H;
#   * _init_weights: orthogonal_ on every weight matrix (whole matrix), zeros on every bias, then
#     GRU gate_x_proj.bias[:H] = 1 (z), LSTM gate_x_proj.bias[H:2H] = 1 (f); RNN none;
#   * GRU: gates = σ(gx + h Ugᵀ), z = first H, r = second H; h̃ = tanh(cx + (r⊙h) Ucᵀ);
#     h = (1 − z)⊙h̃ + z⊙h.  LSTM: i, f, g, o slices of gx + h Uᵀ.  RNN: tanh(gx + h Uᵀ).
CLASSES = {"gru": GRU, "lstm": LSTM, "rnn": RNN}
TORCH = {GRU: nn.GRU, LSTM: nn.LSTM, RNN: nn.RNN}


def count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("cls", [GRU, LSTM, RNN])
def test_default_init_is_torch_nn_bit_for_bit(cls):
    """init="torch" (and no option at all) is the torch.nn module as before: same RNG draws, same
    parameters, same outputs, same impl and extra_info."""
    for kwargs in ({}, {"init": "torch"}):
        torch.manual_seed(3)
        cell = cls(3, 8, **kwargs)
        x = torch.randn(2, 6, 3)
        torch.manual_seed(3)
        ref = TORCH[cls](3, 8, batch_first=True)
        x_ref = torch.randn(2, 6, 3)
        assert [n for n, _ in cell.named_parameters()] == ["rnn." + n for n, _ in ref.named_parameters()]
        for p, q in zip(cell.parameters(), ref.parameters()):
            assert torch.equal(p, q)
        y, _ = cell(x)
        assert torch.equal(y, ref(x_ref)[0])
        assert cell.impl == "torch-native-cpu" and cell.extra_info() == {"impl": "torch-native-cpu"}


@pytest.mark.parametrize("name", ["gru", "lstm", "rnn"])
def test_init_option_is_registered_as_added_and_keeps_run_keys(name):
    host = get_host()
    entry = host.cells.get(name)
    assert entry.info.options["init"] == "torch" and "init" in entry.info.added_options
    assert inspect.signature(CLASSES[name]).parameters["init"].default == "torch"
    assert entry.load() is CLASSES[name]

    # The same cell registered as it was before the option existed plans the same keys.
    before = Registry("cell")
    options = {k: v for k, v in entry.info.options.items() if k != "init"}
    before.add(name, entry.factory, dataclasses.replace(entry.info, options=options, added_options=()),
               entry.plugin, dist=entry.dist)

    def keys(cells, *sets):
        specs = plan_runs(cells, host.tasks, [name], ["copy", "adding"], [0, 1], "smoke", parse_overrides(list(sets)))
        assert all("init" not in s.cell_options for s in specs)
        return [s.key for s in specs]

    assert keys(host.cells) == keys(before)
    assert keys(host.cells, "cell.init=torch") == keys(before)
    aru = plan_runs(host.cells, host.tasks, [name], ["copy"], [0], "smoke", parse_overrides(["cell.init=aru"]))
    assert aru[0].cell_options["init"] == "aru" and aru[0].key not in keys(before)


@pytest.mark.parametrize("cls", [GRU, LSTM, RNN])
def test_unknown_init_is_refused_naming_the_choices(cls):
    with pytest.raises(ValueError, match=r"init must be one of \('torch', 'aru'\), not 'orthogonal'"):
        cls(3, 8, init="orthogonal")


def test_aru_parameter_counts_match_the_reference():
    # Reference parameters (recurrent matrices bias-free, one bias per input projection):
    #   GRU  2H·I + 2H (gate_x_proj) + H·I + H (cand_x_proj) + 2H·H (gate_h_proj) + H·H (cand_h_proj)
    #        = 3HI + 3H² + 3H
    #   LSTM 4H·I + 4H (gate_x_proj) + 4H·H (gate_h_proj) = 4HI + 4H² + 4H
    #   RNN  H·I + H (W_x) + H·H (W_h) = HI + H² + H
    formulas = {GRU: lambda d, h: 3 * h * d + 3 * h * h + 3 * h,
                LSTM: lambda d, h: 4 * h * d + 4 * h * h + 4 * h,
                RNN: lambda d, h: h * d + h * h + h}
    for cls, formula in formulas.items():
        for d, h in ((1, 64), (2, 128), (7, 5)):
            assert count(cls(d, h, init="aru")) == formula(d, h)
    # The parameter counts in the reference's reports (model = embedding + cell + classifier head):
    # counting (phase3: I=1, H=64, head H+1), adding (phase5: I=2, H=128, head H+1),
    # AG News (phase1: embedding 5000×128, I=H=128, head 128·4+4).
    reported = {
        (1, 64, 65, 0): {GRU: 12_737, LSTM: 16_961, RNN: 4_289},
        (2, 128, 129, 0): {GRU: 50_433, LSTM: 67_201, RNN: 16_897},
        (128, 128, 516, 5000 * 128): {GRU: 739_204, LSTM: 772_100, RNN: 673_412},
    }
    for (d, h, head, embed), by_cell in reported.items():
        for cls, n in by_cell.items():
            assert embed + formulas[cls](d, h) + head == n
    assert count(GRU(1, 64, init="aru")) + 65 == 12_737


def _orthonormal(w, tol=1e-5):
    """orthogonal_ on an r×c matrix: orthonormal columns if r ≥ c (WᵀW = I), else rows (WWᵀ = I)."""
    g = w.t() @ w if w.shape[0] >= w.shape[1] else w @ w.t()
    return torch.allclose(g, torch.eye(g.shape[0]), atol=tol)


@pytest.mark.parametrize("d", [1, 3, 40])
def test_aru_initialisation(d):
    H = 16
    torch.manual_seed(d)
    gru, lstm, rnn = GRU(d, H, init="aru"), LSTM(d, H, init="aru"), RNN(d, H, init="aru")

    def names(m):
        return [n for n, _ in m.named_parameters()]

    assert names(gru) == ["gate_x_proj.weight", "gate_x_proj.bias", "cand_x_proj.weight", "cand_x_proj.bias",
                          "gate_h_proj.weight", "cand_h_proj.weight"]
    assert names(lstm) == ["gate_x_proj.weight", "gate_x_proj.bias", "gate_h_proj.weight"]
    assert names(rnn) == ["W_x.weight", "W_x.bias", "W_h.weight"]
    assert gru.gate_h_proj.bias is None and gru.cand_h_proj.bias is None
    assert lstm.gate_h_proj.bias is None and rnn.W_h.bias is None
    # Every weight matrix orthogonal_ as a whole (input projections too): the recurrent matrices
    # have orthonormal columns (2H×H, 4H×H) or are orthogonal (H×H).
    for cell in (gru, lstm, rnn):
        for p in cell.parameters():
            if p.dim() == 2:
                assert _orthonormal(p.detach())
    for u in (gru.gate_h_proj.weight, lstm.gate_h_proj.weight, gru.cand_h_proj.weight, rnn.W_h.weight):
        assert torch.allclose(u.t() @ u, torch.eye(H), atol=1e-5)
    for u in (gru.cand_h_proj.weight, rnn.W_h.weight):
        assert torch.allclose(u @ u.t(), torch.eye(H), atol=1e-5)
    # ... not one orthogonal block per gate (the reference orthogonalises the 2H×H matrix whole).
    z_block = gru.gate_h_proj.weight.detach()[:H]
    assert not torch.allclose(z_block.t() @ z_block, torch.eye(H), atol=1e-2)
    # Biases zero except the GRU's update gate z (first H rows) and the LSTM's forget gate f.
    ones, zeros = torch.ones(H), torch.zeros(H)
    b = gru.gate_x_proj.bias.detach()
    assert torch.equal(b[:H], ones) and torch.equal(b[H:], zeros)
    assert torch.equal(gru.cand_x_proj.bias.detach(), zeros)
    b = lstm.gate_x_proj.bias.detach()
    assert torch.equal(b[H:2 * H], ones) and torch.equal(torch.cat([b[:H], b[2 * H:]]), torch.zeros(3 * H))
    assert torch.equal(rnn.W_x.bias.detach(), zeros)
    # Same seed, same weights (the init draws from the global RNG like the reference).
    torch.manual_seed(d)
    again = GRU(d, H, init="aru")
    assert all(torch.equal(p, q) for p, q in zip(gru.parameters(), again.parameters()))


def _reference_loop(cell, x, state):
    """The reference's equations, one step at a time, gate slices written out (float64)."""
    H = cell.hidden_size
    ys = []
    if isinstance(cell, GRU):
        Wg, bg = cell.gate_x_proj.weight, cell.gate_x_proj.bias
        Wc, bc = cell.cand_x_proj.weight, cell.cand_x_proj.bias
        Ug, Uc = cell.gate_h_proj.weight, cell.cand_h_proj.weight
        h = state
        for t in range(x.shape[1]):
            xt = x[:, t]
            gates = torch.sigmoid(xt @ Wg.T + bg + h @ Ug.T)
            z, r = gates[:, :H], gates[:, H:]
            h_tilde = torch.tanh(xt @ Wc.T + bc + (r * h) @ Uc.T)
            h = (1 - z) * h_tilde + z * h
            ys.append(h)
        return torch.stack(ys, 1), h
    if isinstance(cell, LSTM):
        W, b, U = cell.gate_x_proj.weight, cell.gate_x_proj.bias, cell.gate_h_proj.weight
        h, c = state
        for t in range(x.shape[1]):
            gates = x[:, t] @ W.T + b + h @ U.T
            i = torch.sigmoid(gates[:, :H])
            f = torch.sigmoid(gates[:, H:2 * H])
            g = torch.tanh(gates[:, 2 * H:3 * H])
            o = torch.sigmoid(gates[:, 3 * H:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            ys.append(h)
        return torch.stack(ys, 1), (h, c)
    W, b, U = cell.W_x.weight, cell.W_x.bias, cell.W_h.weight
    h = state
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W.T + b + h @ U.T)
        ys.append(h)
    return torch.stack(ys, 1), h


@pytest.mark.parametrize("cls", [GRU, LSTM, RNN])
def test_aru_outputs_equal_the_reference_equations(cls):
    torch.manual_seed(11)
    cell = cls(4, 6, init="aru").double()
    with torch.no_grad():  # random weights and biases, not the structured init
        for p in cell.parameters():
            p.normal_(0.0, 0.6)
    x = torch.randn(3, 17, 4, dtype=torch.float64)
    h0 = torch.randn(3, 6, dtype=torch.float64)
    state = (h0, torch.randn(3, 6, dtype=torch.float64)) if cls is LSTM else h0
    with torch.no_grad():
        y, final = cell(x, state)
        y_ref, final_ref = _reference_loop(cell, x, state)
        assert (y - y_ref).abs().max() <= 1e-9
        for a, b in zip(final if cls is LSTM else (final,), final_ref if cls is LSTM else (final_ref,)):
            assert (a - b).abs().max() <= 1e-9
        # From the zero state (the reference's init_hidden), and step by step.
        y0, _ = cell(x)
        zero = cell.initial_state(3, x.device, x.dtype)
        assert (y0 - _reference_loop(cell, x, zero)[0]).abs().max() <= 1e-9
        s, steps = None, []
        for x_t in x.unbind(1):
            y_t, s = cell.step(x_t, s)
            steps.append(y_t)
        assert (torch.stack(steps, 1) - y0).abs().max() <= 1e-9
    assert cell.impl == "scripted-loop" and cell.extra_info() == {"impl": "scripted-loop", "init": "aru"}


@pytest.mark.parametrize("name", ["gru", "lstm", "rnn"])
def test_aru_passes_the_contract_checks(name):
    assert_checks(check_cell(name, options={"init": "aru"}, skip=TRAINING_CHECKS))


@pytest.mark.parametrize("cls", [GRU, LSTM, RNN])
def test_aru_contract_shapes_step_and_chunked_state(cls):
    torch.manual_seed(0)
    cell = cls(3, 8, init="aru")
    x = torch.randn(2, 10, 3)
    y, state = cell(x)
    assert y.shape == (2, 10, 8)
    y1, s1 = cell(x[:, :4])
    y2, _ = cell(x[:, 4:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    if cls is LSTM:
        assert isinstance(state, tuple) and [t.shape for t in state] == [(2, 8), (2, 8)]
    else:
        assert state.shape == (2, 8)
    assert cell.state_size() == (16 if cls is LSTM else 8)
