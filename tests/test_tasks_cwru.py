"""CWRU on the real .mat files: resampling, windows, splits without overlap, classes, noise; and
MoGRU's own reading and split (preset mogru-reference), whose leak is asserted here."""
import dataclasses

import numpy as np
import pytest
import scipy.io
import scipy.signal
import torch

from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.registry import Registry
from arena.tasks.cwru import FILES, INFO, CwruTask, load_signal, n_windows

CPU = torch.device("cpu")


def task(preset="standard", **kw):
    return CwruTask(**{**INFO.params, **INFO.presets[preset].params, **kw})


def band_fraction(x, lo, hi, fs=12000):
    f, p = scipy.signal.welch(x, fs=fs, nperseg=4096)
    return p[(f >= lo) & (f < hi)].sum() / p.sum()


def test_normal_record_is_resampled_so_its_spectrum_matches_the_faults(shared_data):
    normal = next(r for r in FILES if r[2] == "normal")
    faults = [r for r in FILES if r[4] == 0 and r[2] != "normal"]
    x = load_signal(str(shared_data / "cwru" / normal[0]), normal[6], normal[5])
    assert len(x) == -(-normal[7] // 4) and abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-4
    fault_x = [load_signal(str(shared_data / "cwru" / r[0]), r[6], r[5]) for r in faults]
    # Where the vibration energy sits (3–4.5 kHz) and the anti-aliasing band edge (above
    # 5.5 kHz) of the processed normal record fall within the range of the fault records.
    mid = [band_fraction(f, 3000, 4500) for f in fault_x]
    edge = [band_fraction(f, 5500, 6000) for f in fault_x]
    assert min(mid) * 0.8 <= band_fraction(x, 3000, 4500) <= max(mid) * 1.2
    assert band_fraction(x, 5500, 6000) <= max(edge)
    # The same record read as if it were 12 kHz (what a naive loader does) is a giveaway.
    raw = scipy.io.loadmat(shared_data / "cwru" / normal[0])[normal[6]].ravel()
    assert band_fraction(raw, 3000, 4500) < min(mid) / 10
    # Its low-frequency lines (≈148 and 161.5 Hz) sit where the fault records have them.
    f, p = scipy.signal.welch(x, fs=12000, nperseg=16384)
    low = f < 200
    peaks = f[low][np.argsort(p[low])[-3:]]
    assert any(abs(pk - 148) < 2 for pk in peaks) and any(abs(pk - 161.5) < 2 for pk in peaks)


def test_time_split_windows_never_overlap_across_splits(shared_data):
    t = task("standard", max_windows_per_file=0)
    lengths = {r[0]: t._length(r) for r in t.files("test")}
    for name, n in lengths.items():
        segs = {s: t._segment(n, s) for s in ("train", "val", "test")}
        assert segs["train"][1] <= segs["val"][0] and segs["val"][1] <= segs["test"][0]
    data = {s: t.data(s, seed=0, epoch=0, device=CPU) for s in ("train", "val", "test")}
    # No window of one split equals any window of another (they come from disjoint samples).
    keys = {s: {w.numpy().tobytes() for w in d["x"][:, :, 0]} for s, d in data.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"]
    counts = {s: torch.bincount(d["y"], minlength=4).tolist() for s, d in data.items()}
    assert all(c[0] > 0 for c in counts.values())  # every split holds the normal class
    assert {k: v for k, v in t.window_counts("test").items()} == dict(enumerate(counts["test"]))


def test_ten_classes_random_split_and_cross_load(shared_data):
    ten = task("standard", classes=10)
    y = ten.data("test", seed=0, epoch=0, device=CPU)["y"]
    assert sorted(y.unique().tolist()) == list(range(10))
    cross = task("cross-load", max_windows_per_file=10)
    y = cross.data("test", seed=0, epoch=0, device=CPU)["y"]
    assert 0 not in y.tolist() and len(y.unique()) == 9  # no normal record at 3 hp
    assert all(r[4] == 3 for r in cross.files("test")) and all(r[4] < 3 for r in cross.files("train"))
    assert "leak" in INFO.notes and INFO.presets["mogru-reference"].params["split"] == "random-80-20"
    assert INFO.presets["mogru"].params["split"] == "time"  # MoGRU's setting without the leak


def test_noise_is_added_after_normalisation_and_is_deterministic(shared_data):
    clean = task("smoke").data("test", seed=0, epoch=0, device=CPU)["x"]
    noisy = task("smoke", noise=0.5).data("test", seed=0, epoch=0, device=CPU)["x"]
    again = task("smoke", noise=0.5).data("test", seed=0, epoch=0, device=CPU)["x"]
    assert torch.equal(noisy, again)
    assert abs((noisy - clean).std().item() - 0.5) < 0.02


def test_weighted_loss_balances_classes(shared_data):
    t = task("smoke")
    data = t.data("train", seed=0, epoch=0, device=CPU)
    counts = torch.bincount(data["y"]).float()
    w = t._class_weights
    torch.testing.assert_close(w * counts, torch.full_like(counts, counts.sum().item() / 4))
    assert task("smoke").chance()["balanced_acc"] == 0.25


def test_missing_data_is_a_clear_error(monkeypatch, tmp_path):
    from arena.datasets import DataMissingError

    monkeypatch.setenv("ARENA_OFFLINE", "1")
    with pytest.raises(DataMissingError, match="dataset 'cwru' is missing normal_0hp_097.mat"):
        task("smoke").prepare()


# -- MoGRU's reading and split (issue 18 item 4) ------------------------------------------------
# Reference: Thormatt/mogru mogru/bearing_benchmark.py reads every record as it is (no
# resampling), z-scores it, cuts windows of 1024 every 512, shuffles all windows once
# (np.random.seed(42), np.random.permutation) and keeps the first 80 % for training and the
# last 20 % for validation, whose best-epoch accuracy it reports.

def overlaps(t, a, b):
    """For each window of split ``b``: does it share a sample with some window of split ``a``
    (same record, starts less than a window apart)?"""
    ia, sa = t.window_origins(a)
    ib, sb = t.window_origins(b)
    w = t.params["window"]
    return np.array([bool(np.any((ia == i) & (np.abs(sa - s) < w))) for i, s in zip(ib.tolist(), sb.tolist())])


def halves(x):
    """The two half-windows of every window, as bytes (with stride = window/2 a window's second
    half is the next window's first half)."""
    h = x.shape[1] // 2
    return [(w[:h].tobytes(), w[h:].tobytes()) for w in x]


def test_reference_reading_keeps_the_normal_record_at_48_khz(shared_data):
    normal = next(r for r in FILES if r[2] == "normal")
    ref, ours = task("mogru-reference"), task("mogru")
    assert ref.params["decimate_normal"] is False and ours.params["decimate_normal"] is True
    assert ref.sample_rate(normal) == 48000 and ours.sample_rate(normal) == 12000
    x = load_signal(str(shared_data / "cwru" / normal[0]), normal[6], normal[5], False)
    raw = scipy.io.loadmat(shared_data / "cwru" / normal[0])[normal[6]].ravel()
    assert len(x) == len(raw) == normal[7] == 243938  # as recorded: no resampling
    np.testing.assert_allclose(x, (raw - raw.mean()) / raw.std(), rtol=0, atol=1e-5)
    # The reference's window count for the normal record, (243,938 − 1,024) // 512 + 1 = 475,
    # four times arena's (60,985 samples after decimation: 118 windows).
    def normal_windows(t):
        return sum(t.window_counts(s).get(0, 0) for s in ("train", "test")) + (
            0 if t.params["val_from"] == "test" else t.window_counts("val").get(0, 0))
    assert normal_windows(ref) == (243938 - 1024) // 512 + 1 == 475
    assert n_windows(60985, 1024, 512) == 118
    # Fault records are 12 kHz either way: every other record reads the same.
    fault = next(r for r in FILES if r[2] == "IR007" and r[4] == 0)
    assert ref.sample_rate(fault) == ours.sample_rate(fault) == 12000
    assert ref._length(fault) == ours._length(fault) == fault[7]


def test_reference_split_is_random_80_20_and_leaks_overlapping_windows(shared_data):
    ref = task("mogru-reference")
    n = sum(n_windows(ref._length(r), 1024, 512) for r in ref.files("test"))
    origins = {s: ref.window_origins(s) for s in ("train", "val", "test")}
    assert len(origins["train"][0]) == int(0.8 * n) and len(origins["test"][0]) == n - int(0.8 * n)
    # Validation is the test set itself (the reference reports the best epoch on its 20 %).
    assert all(np.array_equal(a, b) for a, b in zip(origins["val"], origins["test"]))
    # Random: every record lands on both sides, windows are not in record order.
    assert set(origins["test"][0].tolist()) == set(origins["train"][0].tolist()) == {FILES.index(r)
                                                                                     for r in ref.files("test")}
    assert np.any(np.diff(origins["test"][0]) < 0)
    # THE LEAK: nearly every test window shares samples with a training window.
    leak = overlaps(ref, "train", "test")
    assert leak.mean() > 0.9, leak.mean()
    # ... seen in the data itself: a half of the test window is a half of a training window.
    data = {s: ref.data(s, seed=0, epoch=0, device=CPU) for s in ("train", "val", "test")}
    train_halves = {h for pair in halves(data["train"]["x"][:, :, 0].numpy()) for h in pair}
    shared = [a in train_halves or b in train_halves for a, b in halves(data["test"]["x"][:, :, 0].numpy())]
    assert np.mean(shared) > 0.9
    assert torch.equal(data["val"]["x"], data["test"]["x"]) and torch.equal(data["val"]["y"], data["test"]["y"])
    assert ref.window_counts("test") == dict(enumerate(torch.bincount(data["test"]["y"], minlength=4).tolist()))
    # With noise the validation windows are still the test windows, noise included.
    noisy = task("mogru-reference", noise=0.5)
    assert torch.equal(noisy.data("val", seed=1, epoch=0, device=CPU)["x"],
                       noisy.data("test", seed=1, epoch=0, device=CPU)["x"])


def test_reference_split_can_validate_inside_the_training_80_percent(shared_data):
    t = task("mogru-reference", val_from="train")
    n = sum(n_windows(t._length(r), 1024, 512) for r in t.files("test"))
    sizes = {s: len(t.window_origins(s)[0]) for s in ("train", "val", "test")}
    assert sizes["test"] == n - int(0.8 * n) and sizes["train"] + sizes["val"] == int(0.8 * n)
    assert sizes["val"] == int(0.8 * n) // 8  # 70/10/20
    # Disjoint windows (the same test set as with val_from=test), overlapping samples all the same.
    keys = {s: set(zip(*(a.tolist() for a in t.window_origins(s)))) for s in sizes}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]
    assert keys["test"] == set(zip(*(a.tolist() for a in task("mogru-reference").window_origins("test"))))
    assert overlaps(t, "train", "test").mean() > 0.8


@pytest.mark.parametrize("preset", ["standard", "mogru"])
def test_default_and_mogru_splits_are_contiguous_and_do_not_leak(shared_data, preset):
    t = task(preset)
    assert t.params["split"] == "time" and t.params["decimate_normal"] is True
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not overlaps(t, a, b).any()
    # Contiguous in time: within each record the training windows all precede the test windows.
    (itr, s_tr), (ite, s_te) = t.window_origins("train"), t.window_origins("test")
    for i in set(ite.tolist()):
        assert s_tr[itr == i].max() + t.params["window"] <= s_te[ite == i].min()
    data = {s: t.data(s, seed=0, epoch=0, device=CPU)["x"][:, :, 0].numpy() for s in ("train", "test")}
    train_halves = {h for pair in halves(data["train"]) for h in pair}
    assert not any(a in train_halves or b in train_halves for a, b in halves(data["test"]))


def test_val_from_test_needs_the_reference_split():
    with pytest.raises(ValueError, match="random-80-20"):
        task("standard", val_from="test")
    with pytest.raises(ValueError, match="val_from"):
        task("mogru-reference", val_from="nowhere")


def test_new_parameters_keep_the_stored_keys():
    """``decimate_normal`` and ``val_from`` are added parameters: at their defaults they are left
    out of a run, so every run planned (and stored) before them keeps its key and data seed."""
    added = ("decimate_normal", "val_from")
    assert set(added) <= set(INFO.added_params) and (INFO.params["decimate_normal"], INFO.params["val_from"]) == (
        True, "train")
    host = get_host()
    entry = host.tasks.get("cwru")
    old_info = dataclasses.replace(
        INFO, params={k: v for k, v in INFO.params.items() if k not in added}, added_params=(),
        presets={n: p for n, p in INFO.presets.items() if not set(added) & set(p.params)})
    old_tasks = Registry("task")
    old_cls = type("OldCwru", (CwruTask,), {"info": old_info, "validate": lambda self: None})
    old_tasks.add("cwru", old_cls, old_info, entry.plugin, dist=entry.dist)

    def specs(tasks, preset, *sets):
        return plan_runs(host.cells, tasks, ["gru", "lstm", "mogru"], ["cwru[noise=0,0.5,1,2]"], [0, 3], preset,
                         parse_overrides(list(sets)))

    for preset in ("smoke", "standard", "cross-load", "mogru"):
        now = specs(host.tasks, preset)
        assert [(s.key, s.data_seed) for s in now] == [(s.key, s.data_seed) for s in specs(old_tasks, preset)]
        assert not any(set(added) & set(s.params) for s in now)
    ref = specs(host.tasks, "mogru-reference")
    assert all(s.params["decimate_normal"] is False and s.params["val_from"] == "test" for s in ref)
