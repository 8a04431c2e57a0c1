"""char-lm on the real Tiny Shakespeare file: vocabulary, positional splits, bits per character."""
import math
from collections import Counter

import pytest
import torch

from arena.tasks.char_lm import ALPHABET, INFO, CharLMTask

CPU = torch.device("cpu")


def task(preset="standard", **params):
    return CharLMTask(**{**INFO.params, **INFO.presets[preset].params, **params})


def test_the_alphabet_is_the_files_own_65_characters(shared_data):
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    assert len(text) == 1_115_394
    assert ALPHABET == "".join(sorted(set(text))) and len(ALPHABET) == 65


def test_splits_are_90_5_5_by_position_and_fixed(shared_data):
    t = task()
    text = t.text()
    parts = {s: t.split_text(s) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [1_003_854, 55_770, 55_770]
    assert "".join(parts.values()) == text
    test = t.data("test", seed=0, epoch=0, device=CPU)
    assert test["x"].shape == (1, 55_769) and torch.equal(test["x"][0, 1:], test["y"][0, :-1])
    assert t.decode(test["x"][0, :40].tolist()) == parts["test"][:40]
    assert torch.equal(t.data("test", seed=7, epoch=3, device=CPU)["x"], test["x"])  # the seed changes nothing
    small = task("smoke")
    assert len(small.text()) == 20_000 and small.text() == text[:20_000]


def test_chance_is_the_unigram_model_of_the_training_split(shared_data):
    t = task()
    counts = Counter(t.split_text("train"))
    n = sum(counts.values())
    chance = t.chance()
    assert chance["bpc"] == pytest.approx(-sum(c / n * math.log2(c / n) for c in counts.values()))
    assert chance["bpc"] == pytest.approx(4.774, abs=1e-3)
    assert chance["accuracy"] == pytest.approx(counts[" "] / n)
    assert t.solved() == {"bpc": 1.0}


def test_bits_per_character_by_hand():
    t = task("smoke")
    # Two positions, three of 65 classes in play: p(target) = softmax by hand.
    logits = torch.full((1, 2, 65), -1e9)
    logits[0, 0, :3] = torch.tensor([0.0, math.log(3.0), 0.0])  # p = 1/5, 3/5, 1/5
    logits[0, 1, :2] = torch.tensor([0.0, 0.0])  # p = 1/2, 1/2
    y = torch.tensor([[1, 0]])
    uniform = torch.zeros(1, 2, 65)
    got = t.evaluate(logits, {"y": y, "out_reset": uniform})
    bpc = (-math.log2(3 / 5) - math.log2(1 / 2)) / 2
    assert got["bpc"] == pytest.approx(bpc, rel=1e-6)
    assert got["bpc_reset"] == pytest.approx(math.log2(65), rel=1e-6)
    assert got["reset_gap"] == pytest.approx(math.log2(65) - bpc, rel=1e-6)
    assert got["accuracy"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="out_reset"):
        t.evaluate(logits, {"y": y})


def test_encode_refuses_characters_outside_the_vocabulary():
    t = task("smoke")
    assert t.decode(t.encode("ROMEO:\nO")) == "ROMEO:\nO"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        t.encode("café")


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="bptt"):
        task(bptt=0)
    with pytest.raises(ValueError, match="chars"):
        task(chars=10)


def test_contract_checks_pass_for_the_stream_task(shared_data):
    from arena.testing import check_task

    results = check_task("char-lm", skip=["reference"])
    bad = [r for r in results if r.status == "fail"]
    assert not bad, bad
    assert any("stream" in r.detail for r in results if r.name == "data-determinism")
