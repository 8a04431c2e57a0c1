"""Trend and parity: labels from slow references, label noise, chance levels."""
import math

import torch

from arena.tasks.parity import ParityTask
from arena.tasks.trend import TrendTask

CPU = torch.device("cpu")


def test_trend_matches_a_python_loop_over_the_same_random_draws():
    task = TrendTask(seq_len=40)
    data = task.generate(6, torch.Generator().manual_seed(0), CPU)
    g = torch.Generator().manual_seed(0)  # the same draws, in the generator's documented order
    u = [torch.rand(6, 1, generator=g)[:, 0].tolist() for _ in range(4)]
    eps = torch.randn(6, 40, generator=g)
    for i in range(6):
        slope, f, a, sigma = (-2 + 4 * u[0][i], 2 + 6 * u[1][i], 0.1 + 0.5 * u[2][i], 0.05 + 0.3 * u[3][i])
        for j in range(40):
            t = j / 39
            clean = slope * t + a * math.sin(2 * math.pi * f * t)
            assert abs(data["y"][i, j].item() - clean) < 1e-5
            assert abs(data["x"][i, j, 0].item() - (clean + sigma * eps[i, j].item())) < 1e-5
    assert task.evaluate(data["y"].unsqueeze(-1), data) == {"mse": 0.0, "sse_seq": 0.0}


def test_trend_chance_matches_simulation():
    task = TrendTask(seq_len=80)
    c = task.chance()
    y = task.generate(100_000, torch.Generator().manual_seed(1), CPU)["y"]
    simulated = y.var(dim=0).mean().item()  # per-step variance = input-blind best MSE
    assert abs(simulated - c["mse"]) / c["mse"] < 0.02
    assert math.isclose(c["sse_seq"], 80 * c["mse"])


def test_parity_labels_and_label_noise_only_in_training():
    task = ParityTask(seq_len=9)
    data = task.generate(50, torch.Generator().manual_seed(0), CPU)
    for i in range(50):
        p = 0
        for b in data["x"][i, :, 0].tolist():
            p ^= int(b)
        assert data["y"][i].item() == p
    noisy = ParityTask(seq_len=20, label_noise=0.1, n_train=4000, n_val=500, n_test=500)
    clean = ParityTask(seq_len=20, n_train=4000, n_val=500, n_test=500)
    a = noisy.data("train", seed=0, epoch=0, device=CPU)
    b = clean.data("train", seed=0, epoch=0, device=CPU)
    assert torch.equal(a["x"], b["x"])
    flipped = (a["y"] != b["y"]).float().mean().item()
    assert 0.08 < flipped < 0.12
    assert torch.equal(noisy.data("test", seed=0, epoch=0, device=CPU)["y"],
                       clean.data("test", seed=0, epoch=0, device=CPU)["y"])
    assert ParityTask().chance()["acc"] == 0.5
