"""Selective copy and interference: labels from a slow hand-written reference."""
import torch

from arena.tasks.interference import InterferenceTask
from arena.tasks.selective_copy import SelectiveCopyTask

CPU = torch.device("cpu")


def test_selective_copy_labels():
    task = SelectiveCopyTask(seq_len=12, n_marked=3, vocab=5)
    data = task.generate(30, torch.Generator().manual_seed(0), CPU)
    assert data["x"].shape == (30, 15, 2)
    for i in range(30):
        tokens, marks = data["x"][i, :, 0].tolist(), data["x"][i, :, 1].tolist()
        assert sum(marks) == 3 and marks[12:] == [0, 0, 0] and tokens[12:] == [0, 0, 0]
        assert all(1 <= t <= 5 for t in tokens[:12])
        marked = [t for t, m in zip(tokens, marks) if m == 1]
        assert data["y"][i, 12:].tolist() == marked
        assert data["mask"][i].tolist() == [False] * 12 + [True] * 3


def test_selective_copy_encoder_adds_the_marker_embedding():
    task = SelectiveCopyTask(seq_len=4, n_marked=1, vocab=3)
    enc, width = task.build_encoder(6)
    x = torch.tensor([[[2, 0], [2, 1]]])
    out = enc(x)
    assert width == 6 and out.shape == (1, 2, 6)
    torch.testing.assert_close(out[0, 1] - out[0, 0], enc.tables[1].weight[1] - enc.tables[1].weight[0])


def reference_interference(keys, values, offsets, d_values, V):
    """The sequence of §3.3 built token by token."""
    K, N = len(keys), len(offsets)
    seq, targets = [], {}
    for k, v in zip(keys, values):
        seq += [V + 1, k, v]
    for j in range(N):
        seq += [min(max(keys[j % K] + offsets[j], 1), V // 2), d_values[j]]
    for k, v in zip(keys, values):
        seq += [V + 2, k]
        targets[len(seq) - 1] = v
    return seq, targets


def test_interference_labels():
    task = InterferenceTask(n_pairs=3, n_distractors=7, vocab=32)
    data = task.generate(25, torch.Generator().manual_seed(0), CPU)
    assert data["x"].shape == (25, 5 * 3 + 2 * 7)
    for i in range(25):
        x = data["x"][i].tolist()
        keys, values = x[1:9:3], x[2:9:3]
        assert all(1 <= k <= 16 for k in keys) and all(16 <= v <= 32 for v in values)
        d_keys, d_values = x[9:23:2], x[10:23:2]
        offsets = [dk - keys[j % 3] for j, dk in enumerate(d_keys)]
        # A clamped key may sit 2 away only if clamping moved it; recover the offset in {-1,0,1}.
        offsets = [max(-1, min(1, o)) for o in offsets]
        seq, targets = reference_interference(keys, values, offsets, d_values, 32)
        assert x == seq
        assert {t: data["y"][i, t].item() for t in range(len(x)) if data["mask"][i, t]} == targets


def test_chance_levels():
    assert abs(InterferenceTask().chance()["token_acc"] - 1 / 17) < 1e-12
    assert SelectiveCopyTask(vocab=16).chance()["token_acc"] == 1 / 16
