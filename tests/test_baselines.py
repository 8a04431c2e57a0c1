import pytest
import torch

from arena.plugins.baselines import GRU, LSTM, RNN


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
