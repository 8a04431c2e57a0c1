import pytest
import torch

from arena.plugins.mingru import MinGRU, _MinGRURecurrence, g

MODES = ["sequential", "scan"]


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _pair(d: int, h: int, dtype=torch.float64, seed: int = 0, **kw) -> tuple[MinGRU, MinGRU]:
    """The same weights in sequential and scan mode."""
    torch.manual_seed(seed)
    seq = MinGRU(d, h, mode="sequential", **kw).to(dtype)
    scan = MinGRU(d, h, mode="scan", **kw).to(dtype)
    scan.load_state_dict(seq.state_dict())
    return seq, scan


def test_parameter_count_matches_formula():
    # §6.15: minGRU 2·d·D (+ D·H with the output projection), D = int(H·expansion).
    assert count(MinGRU(3, 8)) == 2 * 3 * 8
    assert count(MinGRU(64, 128)) == 2 * 64 * 128
    d, h = 5, 12
    inner = int(h * 1.5)
    assert MinGRU(d, h, expansion=1.5).inner_size == inner == 18
    assert count(MinGRU(d, h, expansion=1.5)) == 2 * d * inner + inner * h
    # GRUfinity's always-on projection at expansion 1.
    assert count(MinGRU(d, h, proj_out=True)) == 2 * d * h + h * h


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [{}, {"expansion": 1.5}])
def test_every_parameter_gets_gradient_through_time(mode, kw):
    torch.manual_seed(1)
    cell = MinGRU(3, 6, mode=mode, **kw).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64, requires_grad=True)
    y, _ = cell(x)
    y[:, -1].sum().backward()  # loss at the last step only
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # The first input reaches the last output through the recurrence.
    assert x.grad[:, 0].abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [{}, {"expansion": 1.5}, {"proj_out": True}])
def test_forward_equals_steps_and_chunks(mode, kw):
    torch.manual_seed(2)
    cell = MinGRU(3, 8, mode=mode, **kw).double()
    x = torch.randn(2, 11, 3, dtype=torch.float64)
    y, state = cell(x)
    assert y.shape == (2, 11, 8) and y.is_contiguous()
    assert state.shape == (2, cell.inner_size)
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
    # T = 1 through forward.
    y_one, _ = cell(x[:, :1])
    torch.testing.assert_close(y_one, y[:, :1])
    assert cell.state_size() == cell.inner_size


def test_chunked_carry_across_modes():
    seq, scan = _pair(4, 8)
    x = torch.randn(3, 40, 4, dtype=torch.float64)
    y, s = seq(x)
    ya, sa = scan(x[:, :13])
    yb, sb = seq(x[:, 13:29], sa)
    yc, sc = scan(x[:, 29:], sb)
    torch.testing.assert_close(torch.cat([ya, yb, yc], 1), y)
    torch.testing.assert_close(sc, s)


def test_determinism_under_seed():
    x = torch.randn(2, 9, 4)
    torch.manual_seed(7)
    a = MinGRU(4, 10, expansion=1.5)
    torch.manual_seed(7)
    b = MinGRU(4, 10, expansion=1.5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert torch.equal(a(x)[0], b(x)[0])
    torch.manual_seed(8)
    c = MinGRU(4, 10, expansion=1.5)
    assert not torch.equal(a.to_hidden_and_gate.weight, c.to_hidden_and_gate.weight)


@pytest.mark.parametrize("kw", [{}, {"expansion": 1.5}])
def test_scan_equals_sequential_long_float64(kw):
    seq, scan = _pair(3, 8, **kw)
    T = 2048
    x = torch.randn(2, T, 3, dtype=torch.float64)
    h0 = torch.rand(2, seq.inner_size, dtype=torch.float64) * 2
    for state in (None, h0):
        y_seq, s_seq = seq(x, state)
        y_scan, s_scan = scan(x, state)
        torch.testing.assert_close(y_scan, y_seq, rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(s_scan, s_seq, rtol=1e-9, atol=1e-11)
    # The carried state really entered both paths (it matters at the start).
    assert (seq(x, h0)[0][:, 0] - seq(x)[0][:, 0]).abs().min() > 1e-3


def test_scan_float32_error_within_t_scaled_tolerance():
    # cpu-performance.md §3: the log-space scan's fp32 error grows ~linearly with T
    # (measured here ≈ 1e-7·T relative); the sequential loop stays at rounding level.
    seq64, _ = _pair(4, 16)
    seq32, scan32 = _pair(4, 16, dtype=torch.float32)
    T = 2048
    x = torch.randn(2, T, 4, dtype=torch.float64)
    h0 = torch.rand(2, 16, dtype=torch.float64)
    ref, _ = seq64(x, h0)

    def rel_err(y: torch.Tensor) -> float:
        return ((y.double() - ref).abs() / ref.abs().clamp_min(1e-6)).max().item()

    assert rel_err(seq32(x.float(), h0.float())[0]) < 2e-6
    assert rel_err(scan32(x.float(), h0.float())[0]) < 1e-6 + 5e-7 * T


def test_gradients_of_both_paths_agree_float64():
    seq, scan = _pair(4, 6, expansion=1.5)
    T = 300
    x = torch.randn(2, T, 4, dtype=torch.float64)
    h0 = torch.rand(2, seq.inner_size, dtype=torch.float64) + 0.1
    w = torch.randn(2, T, 6, dtype=torch.float64)
    grads = []
    for cell in (seq, scan):
        xi = x.clone().requires_grad_(True)
        hi = h0.clone().requires_grad_(True)
        y, s = cell(xi, hi)
        ((y * w).sum() + s.sum()).backward()
        grads.append([xi.grad, hi.grad] + [p.grad for p in cell.parameters()])
    for ga, gb in zip(*grads):
        torch.testing.assert_close(gb, ga, rtol=1e-8, atol=1e-10)


def test_fused_recurrence_gradcheck():
    # The hand-written backward of the sequential path against finite differences,
    # with pre-activations on both sides of g's kink at 0 (and away from it).
    torch.manual_seed(3)
    proj = torch.randn(2, 6, 2 * 3, dtype=torch.float64) * 2
    proj = (proj + 0.05 * proj.sign()).requires_grad_(True)
    h0 = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_MinGRURecurrence.apply, (proj, h0))


@pytest.mark.parametrize("mode", MODES)
def test_zero_initial_state_is_like_none(mode):
    torch.manual_seed(4)
    cell = MinGRU(3, 5, mode=mode).double()
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    y_none, _ = cell(x)
    h0 = cell.initial_state(2, x.device, x.dtype).requires_grad_(True)
    y_zero, _ = cell(x, h0)
    torch.testing.assert_close(y_zero, y_none)
    y_zero.sum().backward()
    assert torch.isfinite(h0.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())


def test_scan_rejects_negative_state():
    cell = MinGRU(3, 5, mode="scan")
    with pytest.raises(ValueError, match="≥ 0"):
        cell(torch.randn(1, 4, 3), -torch.ones(1, 5))


@pytest.mark.parametrize("mode", MODES)
def test_grufinity_carry_bug_is_reproduced_only_on_request(mode):
    torch.manual_seed(5)
    cell = MinGRU(3, 6, mode=mode, grufinity_carry_bug=True).double()
    x = torch.randn(2, 10, 3, dtype=torch.float64)
    y, _ = cell(x)
    y1, s1 = cell(x[:, :4])
    y2, _ = cell(x[:, 4:], s1)
    # The carried state re-enters as g(h) = h + 0.5 (h > 0): the boundary inflates it.
    assert (y2[:, 0] - y[:, 4]).min() > 0
    cell.grufinity_carry_bug = False
    y2_ok, _ = cell(x[:, 4:], s1)
    torch.testing.assert_close(torch.cat([y1, y2_ok], 1), y)
    torch.testing.assert_close(cell(x[:, 4:], g(s1))[0], y2)


def test_modes_and_impl():
    assert MinGRU(3, 4).impl == "scripted-loop"  # auto on CPU
    assert MinGRU(3, 4, mode="scan").impl == "parallel-scan"
    assert MinGRU(3, 4, mode="sequential").impl == "scripted-loop"
    assert MinGRU(3, 4).path(torch.device("cuda")) == "scan"
    assert MinGRU(3, 4, mode="sequential").path(torch.device("cuda")) == "sequential"
    assert MinGRU(3, 4).extra_info()["impl"] == "scripted-loop"
    with pytest.raises(ValueError):
        MinGRU(3, 4, mode="fast")


@pytest.mark.parametrize("mode", MODES)
def test_float32_batch_one_and_single_step(mode):
    torch.manual_seed(6)
    cell = MinGRU(2, 7, mode=mode, expansion=2.0)
    y, s = cell(torch.randn(1, 1, 2))
    assert y.shape == (1, 1, 7) and s.shape == (1, 14) and y.dtype == torch.float32
    assert (s > 0).all()  # the state stays positive, as the log-space form needs
