import pytest
import torch

from arena.plugins.aru import ARU, DEFAULT_OPTIONS, GATE_PRESETS, parameter_count


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("d,h", [(1, 64), (2, 128)])
def test_parameter_count_raw_input_matches_formula_and_reference_reports(d, h):
    # §1.1: raw small input (d < H//4) → 3H² + 4dH + 4H, no projection.
    cell = ARU(d, h)
    assert cell.input_proj is None
    assert count(cell) == 3 * h * h + 4 * d * h + 4 * h == parameter_count(d, h, projected=False)
    # The reference reports include a Linear(H→1) head: counting 12,865, adding 50,817.
    assert count(cell) + (h + 1) == {64: 12_865, 128: 50_817}[h]


@pytest.mark.parametrize("h", [32, 128])
def test_parameter_count_token_width_and_projection(h):
    # Token tasks: the host passes input_size = H → u_t = x_t, 7H² + 4H.
    assert count(ARU(h, h)) == 7 * h * h + 4 * h == parameter_count(h, h, projected=False)
    # AG News: + embedding 5000×128 + Linear(128→4) = 755,716 in the reference report.
    if h == 128:
        assert count(ARU(h, h)) + 5000 * h + (4 * h + 4) == 755_716
    # Wide raw input (d ≥ H//4) → bias-free Linear(d→H) first: 7H² + 4H + H·d.
    d = h // 2
    cell = ARU(d, h)
    assert cell.input_proj is not None and cell.input_proj.bias is None
    assert count(cell) == 7 * h * h + 4 * h + h * d == parameter_count(d, h, projected=True)
    # Explicit modes and the optional LayerNorm (+2H).
    assert count(ARU(h, h, input_projection="always")) == 7 * h * h + 4 * h + h * h
    assert count(ARU(d, h, input_projection="never")) == 3 * h * h + 4 * d * h + 4 * h
    assert count(ARU(h, h, layer_norm=True)) == 7 * h * h + 6 * h


def test_auto_threshold_uses_integer_division_like_the_reference():
    assert ARU(1, 8).input_proj is None  # 1 < 8//4 = 2
    assert ARU(2, 8).input_proj is not None  # 2 < 2 is false
    assert ARU(2, 10).input_proj is not None  # 10//4 = 2 (not 2.5)


def test_initialisation_orthogonal_and_gate_biases():
    torch.manual_seed(0)
    h, d = 16, 40
    cell = ARU(d, h, layer_norm=True).double()
    eye = torch.eye(h, dtype=torch.float64)
    # Tall 3H×H and 3H×d matrices are orthogonalised as a whole: orthonormal columns.
    tol = dict(atol=1e-5, rtol=0)  # initialised in float32, then cast
    torch.testing.assert_close(cell.gate_h.weight.T @ cell.gate_h.weight, eye, **tol)
    torch.testing.assert_close(cell.gate_x.weight.T @ cell.gate_x.weight, eye, **tol)
    torch.testing.assert_close(cell.cand.weight @ cell.cand.weight.T, eye, **tol)
    torch.testing.assert_close(cell.input_proj.weight @ cell.input_proj.weight.T, eye, **tol)
    b = cell.gate_x.bias.detach()
    assert torch.equal(b[:h], torch.full((h,), 2.0, dtype=torch.float64))  # reset
    assert torch.equal(b[h:2 * h], torch.full((h,), 2.0, dtype=torch.float64))  # persistence
    assert torch.equal(b[2 * h:], torch.zeros(h, dtype=torch.float64))  # accumulation
    assert torch.equal(cell.cand.bias.detach(), torch.zeros(h, dtype=torch.float64))
    assert torch.equal(cell.cand_norm.weight.detach(), torch.ones(h, dtype=torch.float64))
    # Per-gate variant: each H×H block of U_g is orthogonal on its own.
    cell = ARU(h, h, orthogonal_per_gate=True).double()
    for block in cell.gate_h.weight.detach().split(h, 0):
        torch.testing.assert_close(block @ block.T, eye, **tol)


def test_gate_presets_and_precedence():
    h = 4

    def biases(**kw):
        b = ARU(1, h, input_projection="never", **kw).gate_x.bias.detach()
        return b[0].item(), b[h].item(), b[2 * h].item()

    assert biases() == GATE_PRESETS["default"] == (2.0, 2.0, 0.0)
    assert biases(gate_preset="sparse-events") == (2.0, 3.0, -1.0)
    # A non-default explicit *_init wins over the preset; the rest come from the preset.
    assert biases(gate_preset="sparse-events", accumulation_init=0.5) == (2.0, 3.0, 0.5)
    assert biases(reset_init=1.0, persistence_init=4.0, accumulation_init=-2.0) == (1.0, 4.0, -2.0)
    with pytest.raises(ValueError):
        ARU(1, h, gate_preset="nope")
    with pytest.raises(ValueError):
        ARU(1, h, input_projection="sometimes")


def test_default_options_match_constructor_signature():
    import inspect

    sig = inspect.signature(ARU.__init__)
    assert {k: sig.parameters[k].default for k in DEFAULT_OPTIONS} == DEFAULT_OPTIONS
    assert set(sig.parameters) - {"self", "input_size", "hidden_size"} == set(DEFAULT_OPTIONS)


@pytest.mark.parametrize("d,h", [(1, 8), (6, 6), (5, 8)])  # raw, token width, projected
def test_every_parameter_gets_gradient_through_time(d, h):
    torch.manual_seed(1)
    cell = ARU(d, h, layer_norm=True).double()
    x = torch.randn(3, 6, d, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    y[:, -1].pow(2).sum().backward()  # loss at the last step only
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # The gradient reaches the first input through the recurrence.
    assert x.grad[:, 0].abs().sum() > 0


@pytest.mark.parametrize("script", [True, False])
@pytest.mark.parametrize("d,h", [(1, 8), (8, 8), (5, 8)])
def test_forward_equals_steps_and_chunks(script, d, h):
    torch.manual_seed(2)
    cell = ARU(d, h, layer_norm=True, script=script).double()
    assert cell.impl == ("scripted-loop" if script else "eager-loop")
    x = torch.randn(3, 11, d, dtype=torch.float64)
    y, state = cell(x)
    assert y.shape == (3, 11, h) and state.shape == (3, h)
    torch.testing.assert_close(y[:, -1], state)
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
    # T = 1 and an explicit zero state equal the default initial state.
    y0, _ = cell(x[:, :1], torch.zeros(3, h, dtype=torch.float64))
    torch.testing.assert_close(y0, y[:, :1])
    assert cell.state_size() == h


def test_scripted_and_eager_loops_agree_with_gradients():
    torch.manual_seed(3)
    a = ARU(3, 8).double()
    b = ARU(3, 8, script=False).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    ya, _ = a(x)
    yb, _ = b(x)
    torch.testing.assert_close(ya, yb)
    ya.sum().backward()
    yb.sum().backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=n)


def test_float32_works_and_matches_float64():
    torch.manual_seed(4)
    cell = ARU(2, 16)
    x = torch.randn(4, 20, 2)
    y32, _ = cell(x)
    assert y32.dtype == torch.float32
    y64, _ = cell.double()(x.double())
    torch.testing.assert_close(y32.double(), y64, atol=1e-5, rtol=1e-5)


def test_determinism_under_seed():
    def build_and_run(seed):
        torch.manual_seed(seed)
        cell = ARU(3, 12)
        x = torch.randn(2, 7, 3)
        return cell.state_dict(), cell(x)[0]

    sd1, y1 = build_and_run(7)
    sd2, y2 = build_and_run(7)
    sd3, _ = build_and_run(8)
    for k in sd1:
        assert torch.equal(sd1[k], sd2[k]), k
    assert torch.equal(y1, y2)
    assert not torch.equal(sd1["gate_h.weight"], sd3["gate_h.weight"])


def test_hand_set_weights_count_exactly_over_1000_steps():
    # Saturated gates (σ(100) == 1 in float64), U_g = 0 and v = tanh(100·x) ∈ {0, 1} turn the cell
    # into h_t = h_{t−1} + x_t: the additive path must count without any drift.
    cell = ARU(1, 8).double()
    assert cell.input_proj is None
    with torch.no_grad():
        cell.gate_x.weight.zero_()
        cell.gate_x.bias.fill_(100.0)
        cell.gate_h.weight.zero_()
        cell.cand.weight.fill_(100.0)
        cell.cand.bias.zero_()
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1000, 1, generator=g) < 0.3).double()
    y, state = cell(x)
    expected = x.cumsum(1).expand(-1, -1, 8)
    assert torch.equal(y, expected)
    assert torch.equal(state, expected[:, -1])
    assert state[:, 0].min() > 200  # really counting, not trivially small
    # Step-wise inference counts exactly too.
    s = None
    for x_t in x[:, :500].unbind(1):
        _, s = cell.step(x_t, s)
    assert torch.equal(s, expected[:, 499])


def test_state_is_unbounded():
    # No clamp or normalisation: a constant positive input drives h past 1 (GRU-like cells cannot).
    torch.manual_seed(5)
    cell = ARU(1, 4, input_projection="never").double()
    with torch.no_grad():
        cell.gate_x.bias.copy_(torch.tensor([6.0] * 4 + [6.0] * 4 + [6.0] * 4, dtype=torch.float64))
        cell.gate_h.weight.zero_()
        cell.cand.weight.fill_(3.0)
    y, _ = cell(torch.ones(1, 100, 1, dtype=torch.float64))
    assert y[0, -1].min() > 5.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    torch.manual_seed(6)
    cell = ARU(3, 16).double()
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    y_cpu, _ = cell(x)
    y_gpu, _ = cell.cuda()(x.cuda())
    torch.testing.assert_close(y_gpu.cpu(), y_cpu)


@pytest.mark.parametrize("d,h", [(5, 8), (12, 8)])  # folded (3d < 4H) and explicit projection
def test_projection_path_equals_plain_composition(d, h):
    # u = P x, then gates / candidate from u, whichever way the projection is computed.
    torch.manual_seed(9)
    cell = ARU(d, h, layer_norm=True).double()
    assert cell.input_proj is not None
    x = torch.randn(2, 5, d, dtype=torch.float64)
    u = x @ cell.input_proj.weight.T
    gx = cell.gate_x(u)
    v = torch.tanh(cell.cand_norm(cell.cand(u)))
    h_t = torch.zeros(2, h, dtype=torch.float64)
    ref = []
    for t in range(5):
        rho, pi, alpha = torch.sigmoid(gx[:, t] + h_t @ cell.gate_h.weight.T).chunk(3, 1)
        h_t = rho * (pi * h_t + alpha * v[:, t])
        ref.append(h_t)
    y, _ = cell(x)
    torch.testing.assert_close(y, torch.stack(ref, 1))
