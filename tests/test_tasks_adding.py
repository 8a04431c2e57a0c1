import torch

from arena.tasks.adding import AddingTask


def test_generator_matches_slow_reference():
    for placement in ("halves", "anywhere"):
        task = AddingTask(seq_len=12, placement=placement)
        data = task.generate(40, torch.Generator().manual_seed(3), torch.device("cpu"))
        assert data["x"].shape == (40, 12, 2) and data["y"].shape == (40,)
        for i in range(40):
            values, marks = data["x"][i, :, 0].tolist(), data["x"][i, :, 1].tolist()
            where = [t for t, m in enumerate(marks) if m == 1.0]
            assert len(where) == 2 and sum(marks) == 2
            assert all(0 <= v < 1 for v in values)
            if placement == "halves":
                assert where[0] < 6 <= where[1]
            assert abs(data["y"][i].item() - (values[where[0]] + values[where[1]])) < 1e-6


def test_anywhere_placement_reaches_both_halves_for_both_markers():
    data = AddingTask(seq_len=10, placement="anywhere").generate(2000, torch.Generator().manual_seed(0),
                                                                  torch.device("cpu"))
    first = data["x"][:, :, 1].argmax(dim=1)
    assert (first >= 5).any() and (first < 5).any()


def test_chance_is_the_score_of_predicting_one():
    task = AddingTask(seq_len=20)
    data = task.generate(200_000, torch.Generator().manual_seed(0), torch.device("cpu"))
    m = task.evaluate(torch.ones(200_000, 1), data)
    chance = task.chance()
    assert abs(m["mse"] - chance["mse"]) < 0.005 and abs(m["mae"] - chance["mae"]) < 0.005
    assert m["solved"] == 0.0
    assert task.evaluate(data["y"].unsqueeze(1), data) == {"mse": 0.0, "mae": 0.0, "solved": 1.0}
