"""Character-level language modelling on Tiny Shakespeare, trained as a stream with carried state.

Data: karpathy/char-rnn's ``tinyshakespeare/input.txt`` (1,115,394 characters, sha256 checked),
the file GRUfinity's README downloads. Split by position: the first 90 % trains, the next 5 %
validates, the last 5 % tests. Vocabulary: the 65 characters of the file, sorted (``ALPHABET``).

A stream task (``stream = True``, arena/stream.py): each split is one sequence, ``x`` the
characters and ``y`` the next ones. The host trains on ``batch_size`` contiguous parallel
streams in windows of ``bptt`` characters, carrying each stream's state (detached) into its
next window, and evaluates the whole split as one stream twice: with the state carried
throughout (``bpc``, ``accuracy``) and with it reset to zero every ``bptt`` characters
(``bpc_reset``). ``reset_gap`` = bpc_reset − bpc, the bits per character the carried state
saves: GRUfinity's claim (unbounded context through hidden-state passing) in one number.

bpc = mean over predicted characters of −log₂ p(next character). Chance is the unigram entropy
of the training split (4.774 bits); solved is 1.0 bit per character, about the entropy of
English by Shannon's estimates (0.6–1.3): no model of this size reaches it on 1 MB of text.

Presets: ``smoke`` (the first 20,000 characters, for tests); ``standard`` (a few CPU-minutes a
run at hidden 128); ``grufinity`` — GRUfinity's README recipe as close as the host expresses it
(docs/tasks.md lists the differences: 65 characters, not 256 bytes; one optimizer step per 128
characters with gradients truncated there, not carried back 1,024; epochs over the whole
training stream, not 16,384-character contexts from random offsets).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.datasets import DataFile, Dataset, register, require

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
DATASET = register(Dataset(
    name="tinyshakespeare",
    files=(DataFile("input.txt", URL,
                    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
    description="Tiny Shakespeare (karpathy/char-rnn), 1,115,394 characters",
    citation="Karpathy, The Unreasonable Effectiveness of Recurrent Neural Networks, 2015 (char-rnn)",
))
#: The 65 characters of the checksummed file, sorted (tests check it against the file).
ALPHABET = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
FRACTIONS = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0)}
LN2 = 0.6931471805599453

PARAMS: dict[str, Any] = {"chars": 0, "bptt": 128}

INFO = TaskInfo(
    summary="Next-character prediction on Tiny Shakespeare, trained as a stream with carried state.",
    reference="karpathy/char-rnn tinyshakespeare; GRUfinity (ekg/grufinity) TBPTT with hidden-state passing",
    input_kind="tokens",
    output_kind="classes",
    readout="every",
    metrics=(Metric("bpc", False, "test bits per character, state carried through the whole split", solved=1.0),
             Metric("accuracy", True, "next-character accuracy, state carried"),
             Metric("bpc_reset", False, "bits per character with the state reset every bptt characters"),
             Metric("reset_gap", True, "bpc_reset − bpc: bits per character the carried state saves")),
    main_metric="bpc",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"chars": 20000, "bptt": 32},
                        train={"hidden": 16, "epochs": 2, "batch_size": 8, "lr": 3e-3, "patience": 2},
                        description="the first 20,000 characters; for tests"),
        "standard": Preset(params={"bptt": 128},
                           train={"hidden": 128, "epochs": 4, "batch_size": 32, "lr": 2e-3, "patience": 2,
                                  "clip": 0.5, "schedule": "cosine", "warmup_steps": 50, "min_lr_factor": 0.1},
                           description="the whole file; a few CPU-minutes a run at hidden 128"),
        "grufinity": Preset(params={"bptt": 128},
                            train={"hidden": 128, "layers": 3, "block": "residual-mlp", "epochs": 50,
                                   "batch_size": 32, "lr": 1e-3, "patience": 50, "clip": 0.5,
                                   "schedule": "cosine", "warmup_steps": 0, "min_lr_factor": 0.1},
                            description="GRUfinity's README recipe (width 128, 3 residual-mlp blocks, chunk "
                                        "128, batch 32, lr 1e-3 cosine, clip 0.5), as close as the host can"),
    },
    default_preset="standard",
    notes="A stream task: trained with truncated BPTT and carried state; evaluated carried and reset.",
)


@functools.lru_cache(maxsize=2)
def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


class CharLMTask(Task):
    info = INFO
    stream = True
    discrete_inputs = False  # one stream per split, disjoint by position

    def validate(self) -> None:
        p = self.params
        if not isinstance(p["chars"], int) or p["chars"] < 0 or 0 < p["chars"] < 1000:
            raise ValueError("chars must be 0 (the whole file) or at least 1000")
        if not isinstance(p["bptt"], int) or p["bptt"] < 1:
            raise ValueError("bptt must be a positive integer (characters per window)")

    def prepare(self) -> None:
        require("tinyshakespeare")

    @property
    def input_size(self) -> int:
        return len(ALPHABET)

    @property
    def output_size(self) -> int:
        return len(ALPHABET)

    @property
    def bptt(self) -> int:
        return int(self.params["bptt"])

    def text(self) -> str:
        text = read_text(str(require("tinyshakespeare")["input.txt"]))
        return text[: self.params["chars"]] if self.params["chars"] else text

    def split_text(self, split: str) -> str:
        text = self.text()
        lo, hi = FRACTIONS[split]
        return text[int(len(text) * lo): int(len(text) * hi)]

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(ALPHABET))
        if unknown:
            raise ValueError(f"characters outside the vocabulary: {''.join(unknown)!r}")
        return [ALPHABET.index(c) for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(ALPHABET[i] for i in ids)

    def data(self, split: str, *, seed: int, epoch: int, device: Any) -> dict[str, Any]:
        """The split as one sequence: ``x`` [1, N − 1] characters, ``y`` [1, N − 1] the next ones.
        Fixed by position: the seed changes nothing."""
        import torch

        ids = torch.tensor(_ids(self.split_text(split)), dtype=torch.long, device=device)
        return {"x": ids[:-1].unsqueeze(0), "y": ids[1:].unsqueeze(0)}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        """``out``: logits with the state carried; ``batch["out_reset"]``: with it reset every bptt."""
        import torch.nn.functional as F

        if "out_reset" not in batch:
            raise ValueError("a stream task's evaluate() needs batch['out_reset'] (arena/stream.py gives it)")
        y = batch["y"].reshape(-1)
        carried = F.cross_entropy(out.reshape(-1, out.shape[-1]), y).item() / LN2
        reset = batch["out_reset"]
        reset_bpc = F.cross_entropy(reset.reshape(-1, reset.shape[-1]), y).item() / LN2
        accuracy = (out.reshape(-1, out.shape[-1]).argmax(-1) == y).float().mean().item()
        return {"bpc": carried, "accuracy": accuracy, "bpc_reset": reset_bpc, "reset_gap": reset_bpc - carried}

    def chance(self) -> dict[str, float]:
        """The unigram model of the training split: its entropy in bits, its most frequent character."""
        import math
        from collections import Counter

        counts = Counter(self.split_text("train"))
        n = sum(counts.values())
        entropy = -sum(c / n * math.log2(c / n) for c in counts.values())
        return {"bpc": entropy, "bpc_reset": entropy, "accuracy": max(counts.values()) / n, "reset_gap": 0.0}


@functools.lru_cache(maxsize=6)
def _ids(text: str) -> tuple[int, ...]:
    index = {c: i for i, c in enumerate(ALPHABET)}
    return tuple(index[c] for c in text)


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("char-lm", CharLMTask, info=INFO)
