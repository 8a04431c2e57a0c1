import pytest
import torch
import torch.nn.functional as F

from arena.plugins.hsru import HSRU, HSRUBPTT, SurrogateSpike, spike

CELLS = [HSRU, HSRUBPTT]


def _reference_run(cell: HSRU, x: torch.Tensor, detach: bool) -> torch.Tensor:
    """Per-step eager transcription of the reference DualStateLIFLayer (custom autograd spike)."""
    b, h = x.shape[0], cell.hidden_size
    v = torch.zeros(b, h, dtype=x.dtype)
    d = torch.zeros(b, h, dtype=x.dtype)
    ys = []
    for x_t in x.unbind(1):
        if detach:
            v, d = v.detach(), d.detach()
        alpha = torch.exp(-F.softplus(cell.tau))
        v = alpha * v + cell.linear_in(x_t)
        s = SurrogateSpike.apply(v - cell.theta)
        d = d * (1 - s) + (1 - d) * s
        ys.append(torch.tanh(cell.linear_out(torch.cat([v, d], 1))))
    return torch.stack(ys, 1)


def _grads(out: torch.Tensor, weight: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(torch.autograd.grad((out * weight).sum(), inputs, allow_unused=False))


@pytest.mark.parametrize("i,h", [(1, 64), (7, 33)])
def test_parameter_count_matches_formula(i, h):
    # §4.1 / §6.15: I·H + 2H² + 4H
    for cls in CELLS:
        assert sum(p.numel() for p in cls(i, h).parameters()) == i * h + 2 * h * h + 4 * h


@pytest.mark.parametrize("cls,detach", [(HSRU, True), (HSRUBPTT, False)])
def test_matches_per_step_reference_including_gradients(cls, detach):
    torch.manual_seed(1)
    cell = cls(3, 16).double()
    with torch.no_grad():
        cell.theta.normal_(0.0, 0.5)  # many units spiking and resting, so D changes often
    x = torch.randn(4, 25, 3, dtype=torch.float64, requires_grad=True)
    params = [x] + list(cell.parameters())
    y, _ = cell(x)
    y_ref = _reference_run(cell, x, detach)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    w = torch.randn_like(y)
    for g, g_ref in zip(_grads(y, w, params), _grads(y_ref, w, params)):
        torch.testing.assert_close(g, g_ref, rtol=1e-10, atol=1e-12)


def test_straight_through_spike_equals_custom_function_exactly():
    u = torch.tensor([-2.0, -0.3, -1e-9, 0.0, 1e-9, 0.2, 3.0], dtype=torch.float64, requires_grad=True)
    u_ref = u.detach().clone().requires_grad_(True)
    s, s_ref = spike(u), SurrogateSpike.apply(u_ref)
    assert torch.equal(s, s_ref)
    assert s.tolist() == [0, 0, 0, 0, 1, 1, 1]  # strict u > 0
    g = torch.randn(7, dtype=torch.float64)
    (gu,) = torch.autograd.grad(s, u, g)
    (gu_ref,) = torch.autograd.grad(s_ref, u_ref, g)
    assert torch.equal(gu, gu_ref)
    torch.testing.assert_close(gu, g / (1 + 10 * u.detach().abs()) ** 2)


@pytest.mark.parametrize("cls", CELLS)
def test_every_parameter_gets_a_gradient(cls):
    torch.manual_seed(0)
    cell = cls(3, 8)
    y, _ = cell(torch.randn(4, 6, 3))
    y.pow(2).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_faithful_hsru_cuts_gradient_through_time():
    torch.manual_seed(0)
    cell = HSRU(3, 8).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    y[:, -1].sum().backward()
    # Only the last input influences the last output's gradient; earlier inputs get none...
    assert torch.count_nonzero(x.grad[:, :-1]) == 0
    assert x.grad[:, -1].abs().sum() > 0
    # ...yet the per-step path trains W_in, b_in, τ (through α·V_prev), θ and W_out.
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bptt_variant_reaches_earlier_inputs_through_both_states():
    torch.manual_seed(0)
    cell = HSRUBPTT(3, 8).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    y[:, -1].sum().backward()
    assert (x.grad.abs().sum((0, 2)) > 0).all()
    # The D path alone carries gradient back too (zero the V half of W_out at the readout).
    x.grad = None
    with torch.no_grad():
        cell.linear_out.weight[:, :8] = 0
    y, _ = cell(x)
    y[:, -1].sum().backward()
    assert x.grad[:, :-1].abs().sum() > 0


@pytest.mark.parametrize("cls", CELLS)
def test_forward_equals_steps_and_chunks(cls):
    torch.manual_seed(0)
    cell = cls(3, 8).double()
    with torch.no_grad():
        cell.theta.normal_(0.0, 0.5)
    x = torch.randn(2, 13, 3, dtype=torch.float64)
    y, (v, d) = cell(x)
    assert y.shape == (2, 13, 8) and v.shape == d.shape == (2, 8)
    s = None
    steps = []
    for x_t in x.unbind(1):
        y_t, s = cell.step(x_t, s)
        steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y)
    torch.testing.assert_close(s[0], v)
    assert torch.equal(s[1], d)
    y1, s1 = cell(x[:, :5])
    y2, s2 = cell(x[:, 5:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(s2[0], v)
    assert torch.equal(s2[1], d)
    # Gradients through the carried state (BPTT across the chunk boundary, or the faithful cut)
    # equal those of the whole run.
    xg = x.clone().requires_grad_(True)
    w = torch.randn_like(y)
    (g_whole,) = torch.autograd.grad((cell(xg)[0] * w).sum(), xg)
    y1, s1 = cell(xg[:, :5])
    y2, _ = cell(xg[:, 5:], s1)
    (g_chunks,) = torch.autograd.grad((torch.cat([y1, y2], 1) * w).sum(), xg)
    torch.testing.assert_close(g_chunks, g_whole)
    # T = 1 and float32 work too.
    y1, _ = cell.float()(x[:, :1].float())
    assert y1.shape == (2, 1, 8) and y1.dtype == torch.float32
    assert cell.state_size() == 16


@pytest.mark.parametrize("cls", CELLS)
def test_deterministic_under_seed(cls):
    x = torch.randn(2, 7, 3)
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        cell = cls(3, 8)
        outs.append((cell.state_dict(), cell(x)[0]))
    for k in outs[0][0]:
        assert torch.equal(outs[0][0][k], outs[1][0][k])
    assert torch.equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("cls", CELLS)
def test_mirror_state_is_running_parity_of_spiking_bits(cls):
    # One unit whose input current crosses θ exactly on 1-bits: V_t = αV_{t−1} + x_t with α = 0
    # (exp(−1e4) underflows), θ = 0.5 ⇒ it spikes iff x_t = 1, so D_t is the parity of the 1s so
    # far. Inputs of exactly 0.5 = θ must not spike (strict >). y = tanh(D) exposes D every step.
    cell = cls(1, 1).double()
    with torch.no_grad():
        cell.linear_in.weight.fill_(1.0)
        cell.linear_in.bias.zero_()
        cell.tau.fill_(1e4)
        cell.theta.fill_(0.5)
        cell.linear_out.weight.copy_(torch.tensor([[0.0, 1.0]]))
        cell.linear_out.bias.zero_()
    assert cell.alpha().item() == 0.0
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 3, (16, 40, 1), generator=g).double() / 2  # {0, 0.5, 1}
    parity = (x == 1).double().cumsum(1).remainder(2)
    y, (_, d) = cell(x)
    assert torch.equal(y, torch.tanh(parity))
    assert torch.equal(d, parity[:, -1])
    # The step path toggles identically.
    s = None
    for t, x_t in enumerate(x.unbind(1)):
        _, s = cell.step(x_t, s)
        assert torch.equal(s[1], parity[:, t])


def test_impl_names_the_path():
    assert HSRU(2, 4).impl == "scripted-loop+parallel-detached-steps"
    assert HSRUBPTT(2, 4).impl == "scripted-loop+manual-bptt"


@pytest.mark.slow
def test_faithful_hsru_learns_parity():
    # §4.2: parity is solvable without any gradient through time (T=10, fair bits).
    torch.manual_seed(0)
    cell = HSRU(1, 32)
    head = torch.nn.Linear(32, 2)
    opt = torch.optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=1e-2)
    for _ in range(200):
        bits = torch.randint(0, 2, (128, 10, 1)).float()
        label = bits.sum((1, 2)).long() % 2
        y, _ = cell(bits)
        loss = F.cross_entropy(head(y[:, -1]), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
    bits = torch.randint(0, 2, (1024, 10, 1)).float()
    acc = (head(cell(bits)[0][:, -1]).argmax(1) == bits.sum((1, 2)).long() % 2).float().mean()
    assert acc > 0.95
