"""The cwru task: its parameters and presets (``INFO``) and ``CwruTask``, which cuts the records into
windows, splits them (time, random, random-80-20, cross-load: see the package docstring) and feeds,
scores and weighs them.
"""
from __future__ import annotations

from typing import Any, Mapping

from arena import Metric, Preset, Task, TaskInfo
from arena.datasets import require

from .records import FILES, FOUR_CLASS, TEN_CLASS, load_signal, n_windows

PARAMS: dict[str, Any] = {
    "classes": 4, "loads": "0", "window": 1024, "stride": 512, "noise": 0.0, "split": "time",
    "train_loads": "0,1,2", "test_loads": "3", "val_frac": 0.15, "test_frac": 0.15,
    "max_windows_per_file": 0, "balance": "weighted-loss", "fresh": False,
    "decimate_normal": True, "val_from": "train",
}
SPLIT_KINDS = ("time", "random", "random-80-20", "cross-load")
#: Where split ``random-80-20`` takes its validation windows from (see the package docstring).
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
