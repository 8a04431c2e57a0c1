"""MoGRU and MomGRU (plugins/mogru.py): spec §3.1, §3.3, §3.6 of cells-and-tasks.md."""
import math

import pytest
import torch
import torch.nn.functional as F

from arena.plugins.mogru import MoGRU, MomGRU

ALL_OPTIONS = dict(velocity_clip=0.3, velocity_norm=True, velocity_gate=True, damping=True)
CONFIGS = [
    {},
    dict(reset=False),
    dict(beta_mode="fixed"),
    dict(beta_mode="zero"),
    dict(layer_norm=False),
    ALL_OPTIONS,
    dict(ALL_OPTIONS, beta_mode="fixed", reset=False, layer_norm=False),
]


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def naive_mogru(cell: MoGRU, x: torch.Tensor, h: torch.Tensor, v: torch.Tensor):
    """The reference's per-step equations, written directly from §3.1 with cat([x, h])."""
    H = cell.hidden_size
    ys = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        c = torch.cat([x_t, h], -1)
        if cell.reset:
            r, u = torch.sigmoid(F.linear(c, cell.weight_ru, cell.bias_ru)).chunk(2, -1)
        else:
            r, u = torch.ones_like(h), torch.sigmoid(F.linear(c, cell.weight_u, cell.bias_u))
        if cell.beta_mode == "learned":
            beta = torch.sigmoid(F.linear(c, cell.weight_beta, cell.bias_beta))
        elif cell.beta_mode == "fixed":
            beta = torch.full_like(h, cell.fixed_beta)
        else:
            beta = torch.zeros_like(h)
        h_tilde = torch.tanh(x_t @ cell.weight_h.T + cell.bias_h + (r * h) @ cell.weight_uh.T)
        d = h_tilde - h
        alpha = torch.sigmoid(F.linear(c, cell.weight_alpha, cell.bias_alpha)) if cell.velocity_gate else 1.0
        v = beta * v + alpha * (1 - beta) * d
        if cell.velocity_clip > 0:
            v = v.clamp(-cell.velocity_clip, cell.velocity_clip)
        if cell.velocity_norm:
            v = F.layer_norm(v, (H,), cell.vln_weight, cell.vln_bias, 1e-5)
        if cell.damping:
            gamma = torch.sigmoid(F.linear(c, cell.weight_gamma, cell.bias_gamma))
            h = (1 - gamma) * h + u * v
        else:
            h = h + u * v
        if cell.layer_norm:
            h = F.layer_norm(h, (H,), cell.ln_weight, cell.ln_bias, 1e-5)
        ys.append(h)
    return torch.stack(ys, 1), h, v


def perturb(cell: torch.nn.Module) -> None:
    """Move every parameter off its init (LN weights 1, zero biases) so all terms matter."""
    torch.manual_seed(123)
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(0.3 * torch.randn_like(p))


# ---- 1. parameter counts ---------------------------------------------------------------------

@pytest.mark.parametrize("i,h,expected", [(1, 64, 17_024), (1, 128, 66_816), (128, 128, 131_840)])
def test_mogru_default_parameter_count(i, h, expected):
    assert count(MoGRU(i, h)) == 4 * h * (i + h) + 6 * h == expected


@pytest.mark.parametrize("i,h", [(1, 64), (5, 32)])
def test_mogru_option_parameter_counts(i, h):
    gate = h * (i + h) + h  # one [x, h] -> H gate with bias
    full = 4 * h * (i + h) + 6 * h
    assert count(MoGRU(i, h, beta_mode="fixed")) == full - gate == 3 * h * (i + h) + 5 * h
    assert count(MoGRU(i, h, beta_mode="zero")) == full - gate
    assert count(MoGRU(i, h, reset=False)) == full - gate
    assert count(MoGRU(i, h, layer_norm=False)) == 4 * h * (i + h) + 4 * h
    assert count(MoGRU(i, h, velocity_gate=True)) == full + gate
    assert count(MoGRU(i, h, damping=True)) == full + gate
    assert count(MoGRU(i, h, velocity_norm=True)) == full + 2 * h
    assert count(MoGRU(i, h, velocity_clip=1.0)) == full


@pytest.mark.parametrize("i,h", [(1, 64), (128, 128)])
def test_momgru_parameter_count(i, h):
    assert count(MomGRU(i, h)) == 3 * h * (i + h) + 3 * h


def test_momgru_core_reproduces_reference_totals():
    # §3.2 totals include the task's encoder and head; H = 128.
    H = 128
    copy = count(MomGRU(H, H)) + 18 * H + (H * 17 + 17)  # Embedding(V+2=18, H), Linear(H -> 17)
    adding = count(MomGRU(2, H)) + H + 1
    trend = count(MomGRU(1, H)) + H + 1
    assert (copy, adding, trend) == (103_185, 50_433, 50_049)
    # And MoGRU's totals from the same table.
    assert count(MoGRU(H, H)) + 18 * H + (H * 17 + 17) == 136_337
    assert count(MoGRU(2, H)) + H + 1 == 67_457


# ---- 2. gradients through time ---------------------------------------------------------------

@pytest.mark.parametrize("kw", CONFIGS)
def test_mogru_every_parameter_gets_gradient_through_time(kw):
    torch.manual_seed(0)
    cell = MoGRU(3, 6, **kw).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    # A random projection of the last output only: sum(LN(h)) alone would be constant.
    (y[:, -1] * torch.randn_like(y[:, -1])).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad[:, 0].abs().sum() > 0  # reaches the first step


def test_momgru_every_parameter_gets_gradient_through_time():
    torch.manual_seed(0)
    cell = MomGRU(3, 6).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    y[:, -1].pow(2).sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad[:, 0].abs().sum() > 0


# ---- 3. forward == step-by-step == chunked ----------------------------------------------------

def _check_step_and_chunks(cell, state_width):
    torch.manual_seed(1)
    x = torch.randn(3, 9, cell.input_size, dtype=torch.float64)
    y, state = cell(x)
    assert y.shape == (3, 9, cell.hidden_size)
    s = None
    steps = []
    for x_t in x.unbind(1):
        y_t, s = cell.step(x_t, s)
        steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y)
    torch.testing.assert_close(s, state)
    y1, s1 = cell(x[:, :4])
    y2, s2 = cell(x[:, 4:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(s2, state)
    assert cell.state_size() == state_width


@pytest.mark.parametrize("kw", CONFIGS)
def test_mogru_step_and_chunks_equal_forward(kw):
    cell = MoGRU(4, 7, **kw).double()
    perturb(cell)
    _check_step_and_chunks(cell, 2 * 7)


def test_momgru_step_and_chunks_equal_forward():
    cell = MomGRU(4, 7).double()
    perturb(cell)
    _check_step_and_chunks(cell, 4 * 7)


# ---- 4. determinism -------------------------------------------------------------------------

@pytest.mark.parametrize("cls,kw", [(MoGRU, {}), (MoGRU, ALL_OPTIONS), (MomGRU, {})])
def test_same_seed_same_init_and_outputs(cls, kw):
    def build():
        torch.manual_seed(7)
        cell = cls(3, 5, **kw)
        return cell, cell(torch.randn(2, 4, 3))[0]

    (a, ya), (b, yb) = build(), build()
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), n
    assert torch.equal(ya, yb)
    torch.manual_seed(8)
    assert not torch.equal(cls(3, 5, **kw).weight_h, a.weight_h)


# ---- cell-specific: MoGRU --------------------------------------------------------------------

@pytest.mark.parametrize("kw", CONFIGS)
def test_mogru_matches_naive_reference_equations(kw):
    """Hoisted projections + split weights + scripted loop == the per-step cat([x, h]) form."""
    cell = MoGRU(3, 6, **kw).double()
    perturb(cell)
    torch.manual_seed(2)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    h0 = torch.randn(4, 6, dtype=torch.float64)
    v0 = torch.randn(4, 6, dtype=torch.float64)
    y, (h, v) = cell(x, (h0, v0))
    y_ref, h_ref, v_ref = naive_mogru(cell, x, h0, v0)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(v, v_ref)


def test_mogru_beta_zero_is_gru_plus_layernorm():
    """§3.1: with β = 0, h = LN((1 − u) h + u h̃) — checked by hand, without the velocity."""
    cell = MoGRU(2, 5, beta_mode="zero").double()
    perturb(cell)
    torch.manual_seed(3)
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    h = torch.randn(3, 5, dtype=torch.float64)
    v = torch.randn(3, 5, dtype=torch.float64) * 10  # β = 0: the carried velocity must not matter
    y, _ = cell(x, (h, v))
    W, b = cell.weight_ru.detach(), cell.bias_ru.detach()
    wx, wh = W[:, :2], W[:, 2:]
    lw, lb = cell.ln_weight.detach(), cell.ln_bias.detach()
    for t in range(6):
        pre = x[:, t] @ wx.T + h @ wh.T + b
        r, u = 1 / (1 + torch.exp(-pre[:, :5])), 1 / (1 + torch.exp(-pre[:, 5:]))
        h_tilde = torch.tanh(x[:, t] @ cell.weight_h.detach().T + cell.bias_h.detach()
                             + (r * h) @ cell.weight_uh.detach().T)
        g = (1 - u) * h + u * h_tilde
        mean = g.mean(-1, keepdim=True)
        var = ((g - mean) ** 2).mean(-1, keepdim=True)
        h = (g - mean) / torch.sqrt(var + 1e-5) * lw + lb
        torch.testing.assert_close(y[:, t], h)


def test_mogru_initialisation():
    i, H = 3, 16
    cell = MoGRU(i, H, velocity_gate=True, damping=True, velocity_norm=True)
    assert torch.all(cell.bias_ru[:H] == 0) and torch.all(cell.bias_ru[H:] == -2.0)
    assert torch.all(cell.bias_beta == 2.0)
    assert torch.all(cell.bias_alpha == 2.0)
    assert torch.all(cell.bias_gamma == 0) and torch.all(cell.bias_h == 0)
    assert torch.all(cell.ln_weight == 1) and torch.all(cell.ln_bias == 0)
    assert torch.all(cell.vln_weight == 1) and torch.all(cell.vln_bias == 0)

    def xavier_ok(w, fan_out, fan_in):
        bound = math.sqrt(6 / (fan_in + fan_out))
        # Uniform(-b, b): inside the bound and spread over most of it.
        return w.abs().max() <= bound and w.abs().max() > 0.9 * bound

    assert xavier_ok(cell.weight_ru, 2 * H, i + H)
    assert xavier_ok(cell.weight_beta, H, i + H)
    assert xavier_ok(cell.weight_h, H, i)
    assert xavier_ok(cell.weight_uh, H, H)
    nr = MoGRU(i, H, reset=False)
    assert torch.all(nr.bias_u == -2.0)
    assert xavier_ok(nr.weight_u, 2 * H, i + H)  # the reference's W_ru bound


def test_mogru_velocity_clip_bounds_the_carried_velocity():
    cell = MoGRU(2, 8, velocity_clip=0.05)
    perturb(cell)
    _, (_, v) = cell(torch.randn(4, 10, 2) * 5)
    assert v.abs().max() <= 0.05 + 1e-7
    assert (v.abs() > 0.049).any()  # the clip is active, not vacuous


def test_mogru_rejects_bad_options():
    with pytest.raises(ValueError):
        MoGRU(2, 4, beta_mode="learnt")
    with pytest.raises(ValueError):
        MoGRU(2, 4, velocity_clip=-1.0)
    with pytest.raises(ValueError):
        MoGRU(2, 4, fixed_beta=1.5)


@pytest.mark.parametrize("cls", [MoGRU, MomGRU])
def test_float32_single_step_and_default_state(cls):
    cell = cls(2, 4)
    y, state = cell(torch.randn(3, 1, 2))
    assert y.shape == (3, 1, 4) and y.dtype == torch.float32
    assert all(s.shape[0] == 3 for s in state)
    assert cell.impl == "scripted-loop"


# ---- cell-specific: MomGRU -------------------------------------------------------------------

def test_momgru_mu_zero_equals_torch_gru():
    """μ = 0, ε = 1: a GRU with no hidden bias. torch's z keeps h, ours writes n, so z's rows
    are negated (σ(−a) = 1 − σ(a)) when the weights are copied into nn.GRU."""
    I, H = 3, 5
    cell = MomGRU(I, H, mu=0.0).double()
    perturb(cell)
    gru = torch.nn.GRU(I, H, batch_first=True).double()
    flip = torch.ones(3 * H, 1, dtype=torch.float64)
    flip[H:2 * H] = -1
    with torch.no_grad():
        gru.weight_ih_l0.copy_(cell.weight_x * flip)
        gru.bias_ih_l0.copy_(cell.bias_x * flip[:, 0])
        gru.weight_hh_l0.copy_(cell.weight_h * flip)
        gru.bias_hh_l0.zero_()
    torch.manual_seed(4)
    x = torch.randn(2, 8, I, dtype=torch.float64)
    h0 = torch.randn(2, H, dtype=torch.float64)
    y, (h, _) = cell(x, (h0, torch.zeros(2, 3 * H, dtype=torch.float64)))
    y_ref, h_ref = gru(x, h0.unsqueeze(0))
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h, h_ref[0])


def test_momgru_velocity_is_discounted_sum_of_input_projections():
    I, H, mu, eps = 3, 4, 0.9, 0.7
    cell = MomGRU(I, H, mu=mu, eps=eps).double()
    perturb(cell)
    torch.manual_seed(5)
    x = torch.randn(2, 6, I, dtype=torch.float64)
    y, (h_T, v_T) = cell(x)
    p = eps * (x @ cell.weight_x.detach().T + cell.bias_x.detach())
    h = torch.zeros(2, H, dtype=torch.float64)
    U = cell.weight_h.detach()
    for t in range(6):
        v = sum(mu ** (t - s) * p[:, s] for s in range(t + 1))  # closed form of v = μv + εWx
        a = h @ U.T
        r = torch.sigmoid(v[:, :H] + a[:, :H])
        z = torch.sigmoid(v[:, H:2 * H] + a[:, H:2 * H])
        n = torch.tanh(v[:, 2 * H:] + r * a[:, 2 * H:])
        h = (1 - z) * h + z * n
        torch.testing.assert_close(y[:, t], h)
    torch.testing.assert_close(v_T, v)


def test_momgru_initialisation():
    I, H = 3, 16
    cell = MomGRU(I, H)
    assert torch.all(cell.bias_x == 0)
    for w, fan_in in ((cell.weight_x, I), (cell.weight_h, H)):
        bound = math.sqrt(6 / (fan_in + 3 * H))
        assert 0.9 * bound < w.abs().max() <= bound


def test_mogru_zero_input_prefix_overflows_the_gradient_as_the_reference_does():
    """Why MoGRU diverges on counting and sparse-events (docs/reproduction.md): with the
    reference init (b_h = 0) an exactly-zero input keeps h at exactly 0, so each step's
    LayerNorm sees zero variance and its backward multiplies the gradient by 1/sqrt(eps) ≈ 316.
    About 15 such steps overflow float32, and the first gradient is already NaN."""
    torch.manual_seed(0)
    cell = MoGRU(1, 16)
    head = torch.randn(16)  # a readout; the plain sum of a LayerNorm output has zero gradient
    short, _ = cell(torch.zeros(4, 5, 1))
    (short[:, -1] @ head).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())
    cell.zero_grad()
    x = torch.zeros(4, 30, 1)
    x[:, -1] = 1.0  # one event at the end: the state is exactly zero for 29 steps
    out, _ = cell(x)
    assert torch.isfinite(out).all()  # the forward pass is fine
    (out[:, -1] @ head).sum().backward()
    assert not all(torch.isfinite(p.grad).all() for p in cell.parameters())
    # Without the LayerNorm (ablation option) the same input trains.
    plain = MoGRU(1, 16, layer_norm=False)
    out, _ = plain(x)
    (out[:, -1] @ head).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in plain.parameters())
