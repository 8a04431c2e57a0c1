import math

import pytest
import torch

from arena.tasks.copy import CopyTask


def reference_sample(content, L, D, V):
    """The copy sequence written out by hand, one position at a time."""
    x = list(content) + [0] * D + [V + 1] + [0] * L
    y = [0] * (L + D + 1) + list(content)
    return x, y


def test_generator_matches_slow_reference():
    task = CopyTask(length=4, delay=6, vocab=5)
    g = torch.Generator().manual_seed(0)
    data = task.generate(50, g, torch.device("cpu"))
    assert data["x"].shape == (50, 2 * 4 + 6 + 1) == data["y"].shape
    for i in range(50):
        content = data["x"][i, :4].tolist()
        assert all(1 <= c <= 5 for c in content)
        x, y = reference_sample(content, 4, 6, 5)
        assert data["x"][i].tolist() == x and data["y"][i].tolist() == y
        assert data["mask"][i].tolist() == [False] * 11 + [True] * 4


def test_data_is_deterministic_per_seed_and_split():
    task = CopyTask(length=3, delay=2, vocab=4, n_train=20, n_val=10, n_test=10)
    cpu = torch.device("cpu")
    a = task.data("train", seed=7, epoch=0, device=cpu)
    assert torch.equal(a["x"], task.data("train", seed=7, epoch=0, device=cpu)["x"])
    assert not torch.equal(a["x"][:10], task.data("val", seed=7, epoch=0, device=cpu)["x"])
    assert not torch.equal(a["x"], task.data("train", seed=8, epoch=0, device=cpu)["x"])
    # Fixed training set unless `fresh`.
    assert torch.equal(a["x"], task.data("train", seed=7, epoch=3, device=cpu)["x"])
    fresh = CopyTask(length=3, delay=2, vocab=4, n_train=20, n_val=5, n_test=5, fresh=True)
    assert not torch.equal(fresh.data("train", seed=7, epoch=0, device=cpu)["x"],
                           fresh.data("train", seed=7, epoch=1, device=cpu)["x"])


def test_metrics_loss_masking_and_chance():
    task = CopyTask(length=2, delay=1, vocab=3)
    data = task.generate(4, torch.Generator().manual_seed(1), torch.device("cpu"))
    perfect = torch.nn.functional.one_hot(data["y"], task.output_size).float() * 20
    m = task.evaluate(perfect, data)
    assert m["token_acc"] == 1.0 and m["seq_acc"] == 1.0 and m["loss"] < 1e-6
    wrong_one = perfect.clone()
    wrong_one[0, -1] = perfect[0, -1].roll(1)  # one symbol of one sequence wrong
    m = task.evaluate(wrong_one, data)
    assert m["token_acc"] == 7 / 8 and m["seq_acc"] == 3 / 4
    # Unmasked loss (ARU) also counts the blank targets; masked (MoGRU) does not.
    bad_blanks = perfect.clone()
    bad_blanks[:, 0] = 0
    assert CopyTask(length=2, delay=1, vocab=3, mask_loss=True).loss(bad_blanks, data) < 1e-6
    assert CopyTask(length=2, delay=1, vocab=3, mask_loss=False).loss(bad_blanks, data) > 0.1
    c = CopyTask(length=10, vocab=8).chance()
    assert c["token_acc"] == 1 / 8 and c["seq_acc"] == 8.0 ** -10 and c["loss"] == math.log(8)


def test_reference_presets_reproduce_the_repositories():
    p = CopyTask.info.presets
    aru = CopyTask(**{**CopyTask.info.params, **p["aru"].params})
    assert aru.seq_len == 71 and aru.output_size == 10 and aru.input_size == 10  # ARU: 71 steps, 10 classes
    assert p["aru"].params["n_train"] + p["aru"].params["n_val"] + p["aru"].params["n_test"] == 20000
    mogru = CopyTask(**{**CopyTask.info.params, **p["mogru"].params})
    assert mogru.seq_len == 151 and mogru.output_size == 17 and mogru.input_size == 18  # MoGRU: (V+2)×H embedding


def test_training_never_contains_a_validation_or_test_sample():
    # 3² = 9 possible sequences; 3 go to validation/test at most, training gets the others only.
    task = CopyTask(length=2, delay=1, vocab=3, n_train=200, n_val=2, n_test=2)
    cpu = torch.device("cpu")
    held = {tuple(r) for s in ("val", "test") for r in task.data(s, seed=1, epoch=0, device=cpu)["x"].tolist()}
    train = task.data("train", seed=1, epoch=0, device=cpu)
    assert train["x"].shape[0] == 200
    assert not held & {tuple(r) for r in train["x"].tolist()}
    assert torch.equal(train["y"][:, -2:], train["x"][:, :2])  # labels still match their inputs
    with pytest.raises(ValueError, match="too small"):
        CopyTask(length=1, delay=1, vocab=2, n_val=50, n_test=50).data("train", seed=0, epoch=0, device=cpu)
