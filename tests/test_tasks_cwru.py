"""CWRU on the real .mat files: resampling, windows, splits without overlap, classes, noise."""
import numpy as np
import pytest
import scipy.io
import scipy.signal
import torch

from arena.tasks.cwru import FILES, INFO, CwruTask, load_signal

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
    assert "leak" in INFO.notes and INFO.presets["mogru"].params["split"] == "random"


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
