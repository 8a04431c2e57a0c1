"""AG News topic classification (World, Sports, Business, Sci/Tech) from the news text.

Pipeline of the ARU reference: text = title + " " + description; strip HTML tags; lowercase;
drop every character outside [a-z0-9 whitespace . , ! ?]; collapse whitespace; split on
whitespace; vocabulary = PAD (0), UNK (1) and the 4,998 most frequent training words (ties
broken alphabetically so the vocabulary is deterministic); truncate to 100 tokens and post-pad
with 0 (no masking: the cell runs over the padding and the last step is read, as in ARU). The
parameter ``readout="last-valid"`` reads each text at its last real token instead (``lengths``).

Presets:
- ``standard`` — the official 120,000-row train file (the reference's 60k subset split 54k/6k
  into train/validation) and the official 7,600-row test file. It needs ``train.csv``.
- ``small`` — built from the official **test file alone**, re-split 70/15/15 into
  train/validation/test. For machines without the train file; its numbers are not comparable to
  ``standard`` (or to published AG News results) and are stored under their own preset name.
- ``small-last-valid`` — ``small`` with readout ``last-valid``: each text's state at its own last
  token classifies (the batch gives ``lengths``), not the state after the padding. At ``small``
  the reference's post-padding leaves GRU, LSTM, RNN, ARU, HSRU and minGRU at chance: ~60 zero
  steps follow a median text, the cells forget it across them at initialisation, and 333 optimizer
  steps (5,320 texts, 8 epochs) are too few to leave that plateau (docs/tasks.md).
- ``smoke`` — a small slice of the test file, for tests.

Data: Zhang, Zhao & LeCun (2015) ag_news_csv release (test.csv sha256 checked; train.csv by the
MD5 torchtext records). Reference: ARU benchmarks/phase1/ag_news_benchmark.py (embedding 128 =
hidden, dropout 0.1, Adam 2e-3 — 1e-3 for LSTM only; arena uses one lr for every cell —, batch
256, ≤ 8 epochs, patience 3 on validation accuracy). See cells-and-tasks.md §1.3 P1, §6.9.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.datasets import DataFile, Dataset, register, require

MIRROR = "https://s3.amazonaws.com/fast-ai-nlp/ag_news_csv.tgz"  # the release tarball
DATASET = register(Dataset(
    name="ag_news",
    files=(
        DataFile("test.csv", MIRROR, sha256="521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                 archive_member="ag_news_csv/test.csv"),
        DataFile("train.csv", MIRROR, md5="b1a00f826fdfbd249f79597b59e1dc12", archive_member="ag_news_csv/train.csv"),
    ),
    optional=("train.csv",),
    description="AG News (Zhang et al. 2015), 4 classes",
    citation="Zhang, Zhao & LeCun, Character-level Convolutional Networks for Text Classification, NIPS 2015",
))

PARAMS: dict[str, Any] = {"source": "official", "vocab_size": 5000, "max_len": 100, "n_train": 54000,
                          "n_val": 6000, "n_test": 0, "fresh": False, "readout": "last"}
#: ``last``: the state after the padding classifies (the reference); ``last-valid``: the state at
#: each text's own last token (the batch gives ``lengths``).
READOUT_CHOICES = ("last", "last-valid")

INFO = TaskInfo(
    summary="AG News topic classification (4 classes) from word tokens.",
    reference="Zhang et al. 2015 (ag_news_csv); ARU phase1 AG News benchmark",
    input_kind="tokens",
    output_kind="classes",
    readout="last",
    metrics=(Metric("acc", True, "test accuracy", solved=1.0), Metric("loss", False, "cross-entropy")),
    main_metric="acc",
    params=PARAMS,
    added_params=("readout",),
    presets={
        "smoke": Preset(params={"source": "test-only", "vocab_size": 2000, "max_len": 40, "n_train": 600,
                                "n_val": 200, "n_test": 200},
                        train={"hidden": 32, "epochs": 2, "batch_size": 64, "lr": 2e-3, "patience": 2},
                        description="a slice of the official test file; for tests"),
        "small": Preset(params={"source": "test-only", "vocab_size": 5000, "max_len": 100, "n_train": 5320,
                                "n_val": 1140, "n_test": 1140},
                        train={"hidden": 64, "epochs": 8, "batch_size": 128, "lr": 2e-3, "patience": 3,
                               "dropout": 0.1},
                        description="ONLY the official test file, re-split 70/15/15: not comparable to standard"),
        "small-last-valid": Preset(
            params={"source": "test-only", "vocab_size": 5000, "max_len": 100, "n_train": 5320, "n_val": 1140,
                    "n_test": 1140, "readout": "last-valid"},
            train={"hidden": 64, "epochs": 8, "batch_size": 128, "lr": 2e-3, "patience": 3, "dropout": 0.1},
            description="'small' (the test file only: not comparable to standard) read at each text's last "
                        "real token instead of after the padding"),
        "standard": Preset(params={"source": "official", "n_train": 54000, "n_val": 6000, "n_test": 0},
                           train={"hidden": 128, "epochs": 8, "batch_size": 256, "lr": 2e-3, "patience": 3,
                                  "dropout": 0.1},
                           description="ARU phase 1: official train (60k subset → 54k/6k) and test files"),
    },
    default_preset="small",
    notes="Preset 'small' is built from the official test file alone (re-split); its results are not "
          "comparable to 'standard' or to published AG News numbers. 'small-last-valid' is 'small' with "
          "readout=last-valid (each text read at its last real token, not after the padding).",
)

TAG = re.compile(r"<[^>]+>")
NOT_ALLOWED = re.compile(r"[^a-z0-9\s.,!?]")
SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    text = TAG.sub(" ", text).lower()
    return SPACES.sub(" ", NOT_ALLOWED.sub("", text)).strip()


@functools.lru_cache(maxsize=4)
def read_csv(path: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Labels (0–3) and cleaned texts of an ag_news_csv file."""
    import csv

    labels, texts = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            labels.append(int(row[0]) - 1)
            texts.append(clean(row[1] + " " + row[2]))
    return tuple(labels), tuple(texts)


def build_vocab(texts: list[str], size: int) -> dict[str, int]:
    counts = Counter(w for t in texts for w in t.split())
    words = sorted(counts, key=lambda w: (-counts[w], w))[: size - 2]
    return {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}


def encode(texts: list[str], vocab: dict[str, int], max_len: int) -> list[list[int]]:
    out = []
    for t in texts:
        ids = [vocab.get(w, 1) for w in t.split()][:max_len]
        out.append(ids + [0] * (max_len - len(ids)))
    return out


class AgNewsTask(Task):
    info = INFO
    discrete_inputs = False  # real texts: splits are disjoint by construction

    def validate(self) -> None:
        p = self.params
        if p["source"] not in ("official", "test-only"):
            raise ValueError("source must be 'official' (train + test files) or 'test-only'")
        if p["vocab_size"] < 3 or p["max_len"] < 1:
            raise ValueError("ag-news needs vocab_size ≥ 3 and max_len ≥ 1")
        if p["readout"] not in READOUT_CHOICES:
            raise ValueError(f"readout must be one of {READOUT_CHOICES}, not {p['readout']!r}")
        if p["source"] == "test-only" and p["n_train"] + p["n_val"] + p["n_test"] > 7600:
            raise ValueError("the test file has 7,600 rows: n_train + n_val + n_test must not exceed it")

    def prepare(self) -> None:
        require("ag_news", ["test.csv", "train.csv"] if self.params["source"] == "official" else ["test.csv"])

    @property
    def input_size(self) -> int:
        return self.params["vocab_size"]

    @property
    def output_size(self) -> int:
        return 4

    padding_idx = 0

    @property
    def readout(self) -> str:
        return self.params["readout"]

    def _splits(self) -> dict[str, tuple[list[int], list[str]]]:
        import numpy as np

        p = self.params
        if p["source"] == "official":
            paths = require("ag_news", ["test.csv", "train.csv"])
            train_y, train_t = read_csv(str(paths["train.csv"]))
            test_y, test_t = read_csv(str(paths["test.csv"]))
            # The reference: shuffle the train file (seed 42), keep 60k, split 54k/6k.
            order = np.random.default_rng(42).permutation(len(train_y))[: p["n_train"] + p["n_val"]]
            tr, va = order[: p["n_train"]], order[p["n_train"]:]
            return {"train": ([train_y[i] for i in tr], [train_t[i] for i in tr]),
                    "val": ([train_y[i] for i in va], [train_t[i] for i in va]),
                    "test": (list(test_y), list(test_t))}
        paths = require("ag_news", ["test.csv"])
        ys, ts = read_csv(str(paths["test.csv"]))
        order = np.random.default_rng(42).permutation(len(ys))
        a, b, c = p["n_train"], p["n_train"] + p["n_val"], p["n_train"] + p["n_val"] + p["n_test"]
        parts = {"train": order[:a], "val": order[a:b], "test": order[b:c]}
        return {k: ([ys[i] for i in idx], [ts[i] for i in idx]) for k, idx in parts.items()}

    def data(self, split: str, *, seed: int, epoch: int, device: Any) -> dict[str, Any]:
        import torch

        splits = _cached_splits(self)
        vocab = build_vocab(splits["train"][1], self.params["vocab_size"])
        ys, ts = splits[split]
        max_len = self.params["max_len"]
        x = torch.tensor(encode(ts, vocab, max_len), dtype=torch.long, device=device)
        # Real tokens per text (UNK included), before the post-padding; readout "last-valid" reads there.
        lengths = torch.tensor([min(len(t.split()), max_len) for t in ts], dtype=torch.long, device=device)
        return {"x": x, "y": torch.tensor(ys, dtype=torch.long, device=device), "lengths": lengths}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        import torch.nn.functional as F

        return {"acc": (out.argmax(-1) == batch["y"]).float().mean().item(),
                "loss": F.cross_entropy(out, batch["y"]).item()}

    def chance(self) -> dict[str, float]:
        import math

        return {"acc": 0.25, "loss": math.log(4)}  # the official files are balanced (1,900 per class in test)


def _cached_splits(task: AgNewsTask) -> dict[str, tuple[list[int], list[str]]]:
    key = tuple(sorted(task.params.items()))
    if key not in _SPLITS:
        _SPLITS.clear()  # keep one dataset in memory
        _SPLITS[key] = task._splits()
    return _SPLITS[key]


_SPLITS: dict[tuple[Any, ...], dict[str, tuple[list[int], list[str]]]] = {}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("ag-news", AgNewsTask, info=INFO)
