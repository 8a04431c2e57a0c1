"""CWRU bearing faults: classify drive-end vibration windows as normal or a fault type.

Data: Case Western Reserve University Bearing Data Center, drive-end accelerometer at 12 kHz,
loads 0–3 hp (normal only at 0 hp). Per file: the 48 kHz normal record is decimated by 4 with
an anti-aliasing filter (scipy's order-8 Chebyshev I, zero phase) so that its spectrum and
band edge match the 12 kHz fault records (read as-is, its spectrum is compressed 4× and a model
could spot "normal" by its sampling rate alone); ``decimate_normal=false`` reads it as-is at
48 kHz instead, as MoGRU does (4× as many normal windows, each spanning a quarter of the time);
then the whole signal is z-scored; windows of ``window`` samples every ``stride``; Gaussian
noise N(0, σ²) added to each window after normalisation (``noise``, MoGRU's robustness sweep).

Classes: ``classes=4`` — normal, inner race, ball, outer race @6 (all fault sizes pooled, as in
MoGRU); ``classes=10`` — each fault size its own class (the usual 10-class setup).

Splits (``split``):
- ``time`` (default): each file is cut into contiguous train / validation / test segments in
  time and windows are taken inside each segment, so no window overlaps across splits;
- ``random``: all windows shuffled (one fixed shuffle, seed 42) and split 80/10/10;
- ``random-80-20`` (preset ``mogru-reference``): MoGRU's split. All windows, record by record in
  the reference's order (normal, inner race, ball, outer race; sizes 7, 14, 21), shuffled once
  by NumPy's legacy generator seeded 42, first 80 % train, last 20 % test. Validation
  (``val_from``): ``train`` (default) takes the last eighth of the shuffled 80 % (so 70/10/20);
  ``test`` validates on the test windows themselves, as the reference does (it reports the best
  epoch's accuracy on its held-out 20 %);
- ``cross-load``: train and validate on ``train_loads``, test on ``test_loads`` (the normal
  class has no record above 0 hp, so a 3 hp test set holds fault classes only).

With 50 % window overlap both random splits LEAK: most test windows share half their samples
with a training window, so their accuracies are optimistic.

Classes are imbalanced (one normal file against three per fault type); ``balance=weighted-loss``
weights the cross-entropy by inverse class frequency in training, and balanced accuracy is
reported beside accuracy.

Reference: Thormatt/mogru mogru/bearing_benchmark.py (0 hp, 4 classes, window 1024 stride 512,
80/20 random split, hidden 64, Adam 1e-3, batch 64, 15 epochs, best validation accuracy).
Preset ``mogru`` keeps its setting on arena's reading (decimated normal record, contiguous
80/10/10 time split, no leak); ``mogru-reference`` reads and splits as the reference does.
See ../shared/specs/cells-and-tasks.md §3.4, §6.8.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.datasets import DataFile, Dataset, register, require

SOURCE = "https://engineering.case.edu/sites/default/files/{no}.mat"

# file, CWRU no., class, fault type, load hp, sampling Hz, DE variable, samples, sha256
FILES: tuple[tuple[str, int, str, str, int, int, str, int, str], ...] = (
    ("normal_0hp_097.mat", 97, "normal", "normal", 0, 48000, "X097_DE_time", 243938,
     "16bf48babcf1c7ac224bc1a81cd9eafdb27e42d5cf559761907e067e8eeadf3c"),
    ("12k_DE_B007_0hp_118.mat", 118, "B007", "ball", 0, 12000, "X118_DE_time", 122571,
     "b00628f8dd8d1d930af77fa465d1e5cdb385fe259489053f91f3680bda7f640e"),
    ("12k_DE_B014_0hp_185.mat", 185, "B014", "ball", 0, 12000, "X185_DE_time", 121846,
     "5bea2c60f177215ba3ec4ae287faf745d7e14aed1a12efe9e37b27c27044bafc"),
    ("12k_DE_B021_0hp_222.mat", 222, "B021", "ball", 0, 12000, "X222_DE_time", 121991,
     "fcc0ee740fa123b1f4683f555458891719efb2857afd9fdee63e8fde0ed14469"),
    ("12k_DE_IR007_0hp_105.mat", 105, "IR007", "inner_race", 0, 12000, "X105_DE_time", 121265,
     "f80b0ea04fd06b372a0eaec7c056543ea37e4bb4727a5b173d2a5bacd2aa9cab"),
    ("12k_DE_IR014_0hp_169.mat", 169, "IR014", "inner_race", 0, 12000, "X169_DE_time", 121846,
     "f5448673725c4ea2735fe7d3fe4b16ad82b217eac6b62c4bf351c4549b0a5229"),
    ("12k_DE_IR021_0hp_209.mat", 209, "IR021", "inner_race", 0, 12000, "X209_DE_time", 122136,
     "9f723d6d9d2eba714c6dc50f99321dffa73d8b1e4d3605675b2c2251511eff80"),
    ("12k_DE_OR007at6_0hp_130.mat", 130, "OR007@6", "outer_race_6oclock", 0, 12000, "X130_DE_time", 121991,
     "35a095307d0971477049b343a1b5981dde465a58fb7f233ad89b035068c1717d"),
    ("12k_DE_OR014at6_0hp_197.mat", 197, "OR014@6", "outer_race_6oclock", 0, 12000, "X197_DE_time", 121846,
     "fa571b47cd942f9514a920b403fb7c053cd442bb2963a360a96d0f61432f03e9"),
    ("12k_DE_OR021at6_0hp_234.mat", 234, "OR021@6", "outer_race_6oclock", 0, 12000, "X234_DE_time", 122426,
     "ebcbdb96612e8085bbdbf81f0e5e8e8a8d1a693d1ec559c4894f7792771aa9b2"),
    ("12k_DE_B007_1hp_119.mat", 119, "B007", "ball", 1, 12000, "X119_DE_time", 121410,
     "bc72d9df7668219e004a0f711232b23ec0aed393eb9bd8f9f5483426f6b51330"),
    ("12k_DE_B014_1hp_186.mat", 186, "B014", "ball", 1, 12000, "X186_DE_time", 122136,
     "1b3b6f3ad38e891feaa8026fe957b34f62f9082785089cc74f6878acdfe88ec5"),
    ("12k_DE_B021_1hp_223.mat", 223, "B021", "ball", 1, 12000, "X223_DE_time", 121701,
     "7287410fd2217e3b332c5ab4732a68963be046d7d17bd40efa41cabe6a0514e5"),
    ("12k_DE_IR007_1hp_106.mat", 106, "IR007", "inner_race", 1, 12000, "X106_DE_time", 121991,
     "e5cec7cdd138e6cd1deb9ed8634e5aaa9bc1bd7094ddc075bff606580eb6e883"),
    ("12k_DE_IR014_1hp_170.mat", 170, "IR014", "inner_race", 1, 12000, "X170_DE_time", 121846,
     "bcb73a5208b67265468232a2e342f53719850901671d0ee28494f3af97621f46"),
    ("12k_DE_IR021_1hp_210.mat", 210, "IR021", "inner_race", 1, 12000, "X210_DE_time", 121556,
     "596692397e77e129a00f7b7a61c4c3ffd6c7a59979b89039e7f70a7431cce1c7"),
    ("12k_DE_OR007at6_1hp_131.mat", 131, "OR007@6", "outer_race_6oclock", 1, 12000, "X131_DE_time", 122426,
     "7883f7b83beadc54b2f301767f9145ce07055707182fb0278fdf0a6bb53ce3cb"),
    ("12k_DE_OR014at6_1hp_198.mat", 198, "OR014@6", "outer_race_6oclock", 1, 12000, "X198_DE_time", 122136,
     "dbd58e4585ca8f8332c708b15936987ec0990ca701359fd2483dae2719df5b49"),
    ("12k_DE_OR021at6_1hp_235.mat", 235, "OR021@6", "outer_race_6oclock", 1, 12000, "X235_DE_time", 121991,
     "667e4bf1f213f92d10dca71d494ad002d8fd22bfd8004b31a4c71ccf0d764b66"),
    ("12k_DE_B007_2hp_120.mat", 120, "B007", "ball", 2, 12000, "X120_DE_time", 121556,
     "e0b7a584c49af52335ff0904a97d4afcf02d045625c582de63a7c85ce10b489c"),
    ("12k_DE_B014_2hp_187.mat", 187, "B014", "ball", 2, 12000, "X187_DE_time", 121991,
     "0f1338cce89beb5c8d8e5e154579bc576354e7c7d1617ebd1759662c6f3100b2"),
    ("12k_DE_B021_2hp_224.mat", 224, "B021", "ball", 2, 12000, "X224_DE_time", 122136,
     "8a16894c2ff4d6bcdb9f4c345c0d5f13737b3bd6d15015d6b566c86e7a3ee7b7"),
    ("12k_DE_IR007_2hp_107.mat", 107, "IR007", "inner_race", 2, 12000, "X107_DE_time", 122136,
     "111ba8996a115684661a13c913bd74d8029a59294492f88aec7b03e175fdd388"),
    ("12k_DE_IR014_2hp_171.mat", 171, "IR014", "inner_race", 2, 12000, "X171_DE_time", 121846,
     "63d0fdc1a68e64610ddfaf56a9c224d6137ab7b5c0d318eea1d542b9e5ffc029"),
    ("12k_DE_IR021_2hp_211.mat", 211, "IR021", "inner_race", 2, 12000, "X211_DE_time", 121846,
     "8296a02ee489c2d16cbd9fc278ca2e29b22475cec70ebe840558c78b6b743dc1"),
    ("12k_DE_OR007at6_2hp_132.mat", 132, "OR007@6", "outer_race_6oclock", 2, 12000, "X132_DE_time", 121410,
     "17a69ed5d2270b42532e678e35bbe2fa04a2cc413cf2bf9e88c7692de8662d18"),
    ("12k_DE_OR014at6_2hp_199.mat", 199, "OR014@6", "outer_race_6oclock", 2, 12000, "X199_DE_time", 121846,
     "ca4e6407fdb68845a6973da6028477911a62d018580063749fe956441be95cf2"),
    ("12k_DE_OR021at6_2hp_236.mat", 236, "OR021@6", "outer_race_6oclock", 2, 12000, "X236_DE_time", 122281,
     "c411d6d9826cba8073430555dc833e05fcbe4c38535f3eb7f03c525ea6797589"),
    ("12k_DE_B007_3hp_121.mat", 121, "B007", "ball", 3, 12000, "X121_DE_time", 121556,
     "52f686e984ba8e9b04a047a57416271cdb322cee57ee105dce58926a24b966cb"),
    ("12k_DE_B014_3hp_188.mat", 188, "B014", "ball", 3, 12000, "X188_DE_time", 122136,
     "1981614324d653c2522bea68fd4fd87e337495b117d12596db67abd1e10e7443"),
    ("12k_DE_B021_3hp_225.mat", 225, "B021", "ball", 3, 12000, "X225_DE_time", 122136,
     "ece92fa141af03473fdfca80d00d9112472a20340224514e79979c6ddc97a6cf"),
    ("12k_DE_IR007_3hp_108.mat", 108, "IR007", "inner_race", 3, 12000, "X108_DE_time", 122917,
     "d415f0e65128bfa0b118c2051c988fb0dc6ce3e4c8aa45fdc5ad1d0967462e7d"),
    ("12k_DE_IR014_3hp_172.mat", 172, "IR014", "inner_race", 3, 12000, "X172_DE_time", 121701,
     "f75170ceef70d5da475671de0d2e52a0acd9b3883ad422b6deaf2907d888ba24"),
    ("12k_DE_IR021_3hp_212.mat", 212, "IR021", "inner_race", 3, 12000, "X212_DE_time", 121991,
     "bfe13761f545a26b217db897a12d27e16fec74306aa86ade8dbdc8ebe587c253"),
    ("12k_DE_OR007at6_3hp_133.mat", 133, "OR007@6", "outer_race_6oclock", 3, 12000, "X133_DE_time", 122571,
     "53f076cb0d905cf46bffaee7736abce8224ffed777deed03c0c863d762a90c71"),
    ("12k_DE_OR014at6_3hp_200.mat", 200, "OR014@6", "outer_race_6oclock", 3, 12000, "X200_DE_time", 121991,
     "2526483d2701220a700df8e6c9db0c527641b0887225907f4096610dd7120f4b"),
    ("12k_DE_OR021at6_3hp_237.mat", 237, "OR021@6", "outer_race_6oclock", 3, 12000, "X237_DE_time", 121991,
     "233d1edb2daa963658369119e389e30f02aca551dd7bb028ab33e7ba63edfd20"),
)

DATASET = register(Dataset(
    name="cwru",
    files=tuple(DataFile(f[0], SOURCE.format(no=f[1]), sha256=f[8]) for f in FILES),
    description="CWRU bearing data, 12 kHz drive end, loads 0–3 hp",
    citation="Case Western Reserve University Bearing Data Center",
))

FOUR_CLASS = {"normal": 0, "inner_race": 1, "ball": 2, "outer_race_6oclock": 3}
TEN_CLASS = ["normal", "B007", "B014", "B021", "IR007", "IR014", "IR021", "OR007@6", "OR014@6", "OR021@6"]

PARAMS: dict[str, Any] = {
    "classes": 4, "loads": "0", "window": 1024, "stride": 512, "noise": 0.0, "split": "time",
    "train_loads": "0,1,2", "test_loads": "3", "val_frac": 0.15, "test_frac": 0.15,
    "max_windows_per_file": 0, "balance": "weighted-loss", "fresh": False,
    "decimate_normal": True, "val_from": "train",
}
SPLIT_KINDS = ("time", "random", "random-80-20", "cross-load")
#: Where split ``random-80-20`` takes its validation windows from (see the module docstring).
VAL_FROM = ("train", "test")

INFO = TaskInfo(
    summary="Classify CWRU bearing vibration windows (normal / inner race / ball / outer race).",
    reference="CWRU Bearing Data Center; MoGRU bearing benchmark (Thormatt/mogru)",
    input_kind="features",
    output_kind="classes",
    readout="last",
    metrics=(
        Metric("acc", True, "accuracy over test windows", solved=1.0),
        Metric("balanced_acc", True, "mean per-class recall over the classes present in the test set", solved=1.0),
        Metric("loss", False, "cross-entropy (unweighted)"),
    ),
    main_metric="acc",
    params=PARAMS,
    added_params=("decimate_normal", "val_from"),
    presets={
        "smoke": Preset(params={"window": 128, "stride": 128, "max_windows_per_file": 24},
                        train={"hidden": 16, "epochs": 2, "batch_size": 32, "lr": 3e-3, "patience": 2},
                        description="seconds on a CPU; needs the data files"),
        "standard": Preset(params={"window": 256, "stride": 256, "max_windows_per_file": 100},
                           train={"hidden": 64, "epochs": 10, "batch_size": 64, "lr": 2e-3, "patience": 5},
                           description="about 25 s per GRU run on one CPU core; time-contiguous split"),
        "mogru": Preset(params={"classes": 4, "loads": "0", "window": 1024, "stride": 512, "split": "time",
                                "val_frac": 0.1, "test_frac": 0.1, "balance": "none"},
                        train={"hidden": 64, "epochs": 15, "batch_size": 64, "lr": 1e-3, "patience": 15},
                        description="MoGRU's setting, leak-free: decimated normal record, contiguous 80/10/10 "
                                    "time split, 15 epochs"),
        "mogru-reference": Preset(params={"classes": 4, "loads": "0", "window": 1024, "stride": 512,
                                          "split": "random-80-20", "val_from": "test", "decimate_normal": False,
                                          "balance": "none"},
                                  train={"hidden": 64, "epochs": 15, "batch_size": 64, "lr": 1e-3,
                                         "patience": 15},
                                  description="MoGRU as its code runs: 48 kHz normal record as-is, random 80/20 "
                                              "window split validated on the test windows (leaks overlapping "
                                              "windows), 15 epochs"),
        "cross-load": Preset(params={"classes": 10, "split": "cross-load", "train_loads": "0,1,2",
                                     "test_loads": "3", "window": 1024, "stride": 512},
                             train={"hidden": 64, "epochs": 15, "batch_size": 64, "lr": 1e-3, "patience": 5},
                             description="train on 0–2 hp, test on 3 hp (faults only: no normal record at 3 hp)"),
    },
    notes="Preset mogru-reference reproduces MoGRU's reading (48 kHz normal record as-is) and its random "
          "80/20 window split, which leaks overlapping windows between training and test and picks the "
          "epoch on the test windows; its accuracies are optimistic. The default split and preset mogru "
          "are time-contiguous (no window overlaps across splits).",
)


def _loads(text: str) -> list[int]:
    return [int(v) for v in str(text).split(",") if v.strip()]


def _reference_order(row: tuple[Any, ...]) -> tuple[int, int, str]:
    """MoGRU's record order: normal, inner race, ball, outer race, each by fault size (then load)."""
    return FOUR_CLASS[row[3]], row[4], row[2]


@functools.lru_cache(maxsize=64)
def load_signal(path: str, key: str, fs: int, decimate: bool = True) -> Any:
    """One record as a z-scored float32 signal at 12 kHz (the 48 kHz normal record decimated by
    4), or with ``decimate=False`` the 48 kHz record as it is (MoGRU's reading)."""
    import numpy as np
    import scipy.io
    import scipy.signal

    x = scipy.io.loadmat(path)[key].ravel().astype(np.float64)
    if fs == 48000:
        if decimate:
            x = scipy.signal.decimate(x, 4, zero_phase=True)
    elif fs != 12000:
        raise ValueError(f"unexpected sampling rate {fs}")
    return ((x - x.mean()) / x.std()).astype(np.float32)


def n_windows(length: int, window: int, stride: int) -> int:
    return 0 if length < window else (length - window) // stride + 1


class CwruTask(Task):
    info = INFO

    def validate(self) -> None:
        p = self.params
        if p["classes"] not in (4, 10):
            raise ValueError("classes must be 4 or 10")
        if p["split"] not in SPLIT_KINDS:
            raise ValueError(f"split must be one of {', '.join(SPLIT_KINDS)}")
        if p["val_from"] not in VAL_FROM:
            raise ValueError(f"val_from must be one of {', '.join(VAL_FROM)}")
        if p["val_from"] != "train" and p["split"] != "random-80-20":
            raise ValueError("val_from applies to split random-80-20 only")
        if not isinstance(p["decimate_normal"], bool):
            raise TypeError("decimate_normal must be true or false")
        if p["balance"] not in ("weighted-loss", "none"):
            raise ValueError("balance must be 'weighted-loss' or 'none'")
        if p["window"] < 2 or p["stride"] < 1 or p["noise"] < 0:
            raise ValueError("cwru needs window ≥ 2, stride ≥ 1 and noise ≥ 0")
        if not (0 < p["val_frac"] < 1 and 0 < p["test_frac"] < 1 and p["val_frac"] + p["test_frac"] < 1):
            raise ValueError("val_frac and test_frac must be in (0, 1) with a sum below 1")
        if not self.files("train") or not self.files("test"):
            raise ValueError("no CWRU record matches these loads")

    def prepare(self) -> None:
        require("cwru", [r[0] for r in self.files("train") + self.files("val") + self.files("test")])

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return self.params["classes"]

    def label(self, row: tuple[Any, ...]) -> int:
        return FOUR_CLASS[row[3]] if self.params["classes"] == 4 else TEN_CLASS.index(row[2])

    def files(self, split: str) -> list[tuple[Any, ...]]:
        p = self.params
        if p["split"] == "cross-load":
            loads = _loads(p["test_loads"] if split == "test" else p["train_loads"])
        else:
            loads = _loads(p["loads"])
        return [f for f in FILES if f[4] in loads]

    def _segment(self, length: int, split: str) -> tuple[int, int]:
        """The [start, end) samples of a record that belong to a split under the time split."""
        p = self.params
        if p["split"] == "cross-load":
            if split == "test":
                return 0, length
            cut = int(length * (1 - p["val_frac"]))
            return (0, cut) if split == "train" else (cut, length)
        a = int(length * (1 - p["val_frac"] - p["test_frac"]))
        b = int(length * (1 - p["test_frac"]))
        return {"train": (0, a), "val": (a, b), "test": (b, length)}[split]

    def _decimated(self, row: tuple[Any, ...]) -> bool:
        return row[5] == 48000 and self.params["decimate_normal"]

    def sample_rate(self, row: tuple[Any, ...]) -> int:
        """The sampling rate of a record as the task reads it (48 kHz: the normal record as-is)."""
        return row[5] // 4 if self._decimated(row) else row[5]

    def _length(self, row: tuple[Any, ...]) -> int:
        return -(-row[7] // 4) if self._decimated(row) else row[7]  # decimate keeps ceil(n/4)

    def _n_windows(self, length: int) -> int:
        p = self.params
        n = n_windows(length, p["window"], p["stride"])
        return min(n, p["max_windows_per_file"]) if p["max_windows_per_file"] else n

    def window_origins(self, split: str) -> tuple[Any, Any]:
        """Where each window of a split comes from, in the split's order, without loading data:
        the index of its record in ``FILES`` and its first sample in the record as read."""
        import numpy as np

        p = self.params
        kind = p["split"]
        rows = self.files(split)
        if kind == "random-80-20":
            rows = sorted(rows, key=_reference_order)
        whole = kind in ("random", "random-80-20")  # windows over each whole record, then shuffled
        spans = [(0, self._length(r)) if whole else self._segment(self._length(r), split) for r in rows]
        counts = [self._n_windows(b - a) for a, b in spans]
        idx = np.repeat(np.array([FILES.index(r) for r in rows], dtype=np.int64), counts)
        starts = np.concatenate([a + np.arange(n, dtype=np.int64) * p["stride"]
                                 for (a, _), n in zip(spans, counts)] or [np.zeros(0, dtype=np.int64)])
        if kind == "random":
            # One fixed shuffle of every window (seed 42), then 80/10/10.
            order = np.random.default_rng(42).permutation(len(idx))
            a, b = int(0.8 * len(idx)), int(0.9 * len(idx))
            part = {"train": order[:a], "val": order[a:b], "test": order[b:]}[split]
        elif kind == "random-80-20":
            # MoGRU's split: np.random.seed(42) then permutation, first 80 % train, rest held out.
            order = np.random.RandomState(42).permutation(len(idx))
            cut = int(0.8 * len(idx))
            train, test = order[:cut], order[cut:]
            if p["val_from"] == "test":
                part = {"train": train, "val": test, "test": test}[split]
            else:
                v = len(train) - len(train) // 8
                part = {"train": train[:v], "val": train[v:], "test": test}[split]
        else:
            return idx, starts
        return idx[part], starts[part]

    def window_counts(self, split: str) -> dict[int, int]:
        """Windows per class in a split, from the record lengths alone (no data loading)."""
        p = self.params
        counts: dict[int, int] = {}
        if p["split"] == "random":
            total = {}
            for row in self.files(split):
                n = n_windows(self._length(row), p["window"], p["stride"])
                if p["max_windows_per_file"]:
                    n = min(n, p["max_windows_per_file"])
                total[self.label(row)] = total.get(self.label(row), 0) + n
            frac = {"train": 0.8, "val": 0.1, "test": 0.1}[split]
            return {c: round(n * frac) for c, n in total.items()}
        if p["split"] == "random-80-20":
            idx, _ = self.window_origins(split)
            for i in idx.tolist():
                counts[self.label(FILES[i])] = counts.get(self.label(FILES[i]), 0) + 1
            return counts
        for row in self.files(split):
            a, b = self._segment(self._length(row), split)
            n = n_windows(b - a, p["window"], p["stride"])
            if p["max_windows_per_file"]:
                n = min(n, p["max_windows_per_file"])
            counts[self.label(row)] = counts.get(self.label(row), 0) + n
        return counts

    def _windows(self, split: str) -> tuple[Any, Any]:
        """All clean windows of a split as numpy arrays (x [n, window], y [n])."""
        import numpy as np

        p = self.params
        idx, starts = self.window_origins(split)
        paths = require("cwru", [r[0] for r in self.files(split)])
        x = np.empty((len(idx), p["window"]), dtype=np.float32)
        y = np.empty(len(idx), dtype=np.int64)
        offsets = np.arange(p["window"])
        for i in np.unique(idx).tolist():
            row = FILES[i]
            sig = load_signal(str(paths[row[0]]), row[6], row[5], p["decimate_normal"])
            if len(sig) != self._length(row):
                raise ValueError(f"{row[0]}: {len(sig)} samples, the manifest says {self._length(row)}")
            here = idx == i
            x[here] = sig[starts[here][:, None] + offsets[None, :]]
            y[here] = self.label(row)
        return x, y

    def _val_is_test(self) -> bool:
        return self.params["split"] == "random-80-20" and self.params["val_from"] == "test"

    def data(self, split: str, *, seed: int, epoch: int, device: Any) -> dict[str, Any]:
        import torch

        from arena.keys import derive_seed

        x_np, y_np = self._windows(split)
        x = torch.from_numpy(x_np).to(device).unsqueeze(-1)
        y = torch.from_numpy(y_np).to(device)
        if self.params["noise"] > 0:
            draw = epoch if (split == "train" and self.fresh_train_data()) else 0
            # Validating on the test windows: the same windows with the same noise.
            noise_split = "test" if (split == "val" and self._val_is_test()) else split
            gen = torch.Generator(device=device)
            gen.manual_seed(derive_seed("cwru-noise", seed, noise_split, draw) % (2**63))
            x = x + self.params["noise"] * torch.randn(x.shape, generator=gen, device=device)
        batch = {"x": x, "y": y}
        if split == "train" and self.params["balance"] == "weighted-loss":
            counts = torch.bincount(y, minlength=self.output_size).float()
            weights = torch.where(counts > 0, counts.sum() / (counts.clamp(min=1) * (counts > 0).sum()), 0.0)
            self._class_weights = weights
        return batch

    def loss(self, out: Any, batch: Mapping[str, Any]) -> Any:
        import torch.nn.functional as F

        weight = getattr(self, "_class_weights", None)
        if weight is not None:
            weight = weight.to(out.device)
        return F.cross_entropy(out, batch["y"], weight=weight)

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        import torch.nn.functional as F

        y = batch["y"]
        pred = out.argmax(-1)
        recalls = [(pred[y == c] == c).float().mean().item() for c in y.unique().tolist()]
        return {"acc": (pred == y).float().mean().item(), "balanced_acc": sum(recalls) / len(recalls),
                "loss": F.cross_entropy(out, y).item()}

    def chance(self) -> dict[str, float]:
        import math

        counts = self.window_counts("test")
        total = sum(counts.values())
        return {"acc": max(counts.values()) / total, "balanced_acc": 1 / len(counts),
                "loss": -sum(n / total * math.log(n / total) for n in counts.values() if n)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("cwru", CwruTask, info=INFO)
