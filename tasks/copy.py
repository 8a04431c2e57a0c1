"""Copy (delayed recall): remember L symbols across a delay of D blanks, then recall them.

    input   x = [s_1 … s_L, 0 × D, V+1, 0 × L]      s_i ~ U{1..V}, blank 0, delimiter V+1
    target  y = 0 everywhere except the last L positions, which hold s_1 … s_L
    length  2L + D + 1 (delimiter at index L+D, as in both references; ARU's report says
            "70 timesteps" for L=10, D=50, its generator makes 71)

Loss: cross-entropy masked to the recall positions (MoGRU, ``mask_loss=true``) or over all
positions with target 0 elsewhere (ARU, ``mask_loss=false``). Metrics on the recall positions
only: per-token accuracy (MoGRU's headline) and whole-sequence exact accuracy (ARU's headline).

References: ARU benchmarks/phase2/copy_task_benchmark.py (L=10, D=50, V=8, 20k fixed samples,
unmasked CE, V+2 output classes); MoGRU mogru/benchmark.py (L=50, D=50, V=16, 10k fresh samples
per epoch, masked CE, V+1 output classes). See ../shared/specs/cells-and-tasks.md §1.3, §3.2, §6.1.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.metrics import masked_classification

PARAMS: dict[str, Any] = {
    "length": 10,  # L, symbols to remember
    "delay": 50,  # D, blanks between the content and the delimiter
    "vocab": 8,  # V, alphabet size (symbols 1..V)
    "mask_loss": True,  # loss on recall positions only (MoGRU) or on every position (ARU)
    "out_classes": 0,  # head width; 0 means V+1 (blank + symbols); ARU uses V+2
    "n_train": 10000,
    "n_val": 2000,
    "n_test": 2000,
    "fresh": False,  # draw new training samples every epoch (MoGRU) instead of a fixed set (ARU)
}

INFO = TaskInfo(
    summary="Delayed recall: reproduce L random symbols after a delay of D blanks.",
    reference="ARU phase2 copy task; MoGRU copy benchmark; Hochreiter & Schmidhuber 1997",
    input_kind="tokens",
    output_kind="classes",
    readout="every",
    metrics=(
        Metric("token_acc", True, "accuracy per recalled symbol", solved=1.0),
        Metric("seq_acc", True, "fraction of sequences recalled exactly", solved=1.0),
        Metric("loss", False, "cross-entropy on the recall positions"),
    ),
    main_metric="token_acc",
    params=PARAMS,
    version="1",
    presets={
        "smoke": Preset(
            params={"length": 4, "delay": 5, "vocab": 6, "n_train": 512, "n_val": 128, "n_test": 128},
            train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
            description="seconds on a CPU; for tests and trying things out",
        ),
        "standard": Preset(
            params={"length": 5, "delay": 20, "vocab": 8, "n_train": 4000, "n_val": 1000, "n_test": 1000},
            train={"hidden": 64, "epochs": 20, "batch_size": 64, "lr": 3e-3, "patience": 5},
            description="about a minute per run on 2 CPU cores; solvable by gated baselines",
        ),
        "aru": Preset(
            params={"length": 10, "delay": 50, "vocab": 8, "mask_loss": False, "out_classes": 10,
                    "n_train": 14000, "n_val": 3000, "n_test": 3000, "fresh": False},
            train={"hidden": 128, "epochs": 100, "batch_size": 128, "lr": 1e-3, "patience": 10,
                   "monitor": "seq_acc"},
            description="ARU phase 2: 20k fixed samples split 70/15/15, unmasked CE, early stop on seq acc",
        ),
        "mogru": Preset(
            params={"length": 50, "delay": 50, "vocab": 16, "mask_loss": True, "n_train": 10000,
                    "n_val": 2000, "n_test": 2000, "fresh": True},
            train={"hidden": 128, "epochs": 30, "batch_size": 64, "lr": 1e-3, "patience": 30},
            description="MoGRU benchmark: 10k fresh samples per epoch, 30 epochs, masked CE",
        ),
    },
)


class CopyTask(Task):
    info = INFO
    padding_idx = 0  # the blank embeds to a fixed zero vector, as in both references

    def validate(self) -> None:
        p = self.params
        if p["length"] < 1 or p["delay"] < 0 or p["vocab"] < 2:
            raise ValueError("copy needs length ≥ 1, delay ≥ 0 and vocab ≥ 2")
        if p["out_classes"] and p["out_classes"] < p["vocab"] + 1:
            raise ValueError("out_classes must be 0 (V+1) or at least vocab+1")
        if min(p["n_train"], p["n_val"], p["n_test"]) < 1:
            raise ValueError("copy needs at least one sample per split")

    @property
    def input_size(self) -> int:
        return self.params["vocab"] + 2  # blank, symbols, delimiter

    @property
    def output_size(self) -> int:
        return self.params["out_classes"] or self.params["vocab"] + 1

    @property
    def seq_len(self) -> int:
        return 2 * self.params["length"] + self.params["delay"] + 1

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        L, D, V = self.params["length"], self.params["delay"], self.params["vocab"]
        content = torch.randint(1, V + 1, (n, L), generator=generator, device=device)
        x = torch.zeros(n, self.seq_len, dtype=torch.long, device=device)
        x[:, :L] = content
        x[:, L + D] = V + 1
        y = torch.zeros_like(x)
        y[:, L + D + 1:] = content
        mask = torch.zeros_like(x, dtype=torch.bool)
        mask[:, L + D + 1:] = True
        return {"x": x, "y": y, "mask": mask}

    def loss(self, out: Any, batch: Mapping[str, Any]) -> Any:
        import torch.nn.functional as F

        if self.params["mask_loss"]:
            L = self.params["length"]
            return F.cross_entropy(out[:, -L:].reshape(-1, out.shape[-1]), batch["y"][:, -L:].reshape(-1))
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), batch["y"].reshape(-1))

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        return masked_classification(out, batch["y"], batch["mask"])

    def chance(self) -> dict[str, float]:
        import math

        V, L = self.params["vocab"], self.params["length"]
        # An input-blind predictor can do no better than a uniform guess among the V symbols.
        return {"token_acc": 1 / V, "seq_acc": (1 / V) ** L, "loss": math.log(V)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("copy", CopyTask, info=INFO)
