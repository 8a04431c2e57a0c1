import torch

from arena.tasks.counting import CountingTask
from arena.tasks.sparse_events import SparseEventsTask

CPU = torch.device("cpu")


def test_counting_labels_match_a_python_loop():
    task = CountingTask(seq_len=30, density=0.3)
    data = task.generate(20, torch.Generator().manual_seed(0), CPU)
    for i in range(20):
        bits = [v for v in data["x"][i, :, 0].tolist()]
        assert set(bits) <= {0.0, 1.0}
        count = 0
        for b in bits:
            count += int(b)
        assert data["y"][i].item() == count


def test_counting_chance_matches_simulation():
    task = CountingTask(seq_len=100, density=0.1)
    c = task.chance()
    assert abs(c["mse"] - 9.0) < 1e-12  # T·p·(1−p)
    data = task.generate(100_000, torch.Generator().manual_seed(1), CPU)
    y = data["y"]
    assert abs(((y - 10.0) ** 2).mean().item() - c["mse"]) < 0.15
    median = y.median()
    assert abs((y - median).abs().mean().item() - c["mae"]) < 0.03
    assert abs((y == 10).float().mean().item() - c["exact"]) < 0.01


def test_sparse_event_labels_total_and_per_type():
    for target in ("total", "per-type"):
        task = SparseEventsTask(seq_len=50, event_prob=0.2, n_types=3, target=target)
        data = task.generate(20, torch.Generator().manual_seed(2), CPU)
        assert data["x"].dtype == torch.long and int(data["x"].max()) <= 3
        for i in range(20):
            seq = data["x"][i].tolist()
            per = [sum(1 for t in seq if t == e) for e in (1, 2, 3)]
            expect = [sum(per)] if target == "total" else per
            assert data["y"][i].tolist() == expect
        assert data["y"].shape == (20, task.output_size)


def test_sparse_event_metrics_apply_relu_and_round():
    task = SparseEventsTask(seq_len=10)
    batch = {"y": torch.tensor([[2.0], [0.0], [5.0]])}
    out = torch.tensor([[2.4], [-3.0], [6.6]])  # ReLU: -3 → 0 (exact); 6.6 rounds to 7 (off by 2)
    m = task.evaluate(out, batch)
    assert abs(m["mae"] - (0.4 + 0 + 1.6) / 3) < 1e-6
    assert abs(m["exact"] - 2 / 3) < 1e-6 and abs(m["within1"] - 2 / 3) < 1e-6


def test_sparse_event_chance_matches_simulation():
    task = SparseEventsTask(seq_len=200, event_prob=0.05)
    c = task.chance()
    y = task.generate(50_000, torch.Generator().manual_seed(3), CPU)["y"].reshape(-1)
    assert abs((y - y.median()).abs().mean().item() - c["mae"]) < 0.05
    assert abs(y.std().item() - c["rmse"]) < 0.05
