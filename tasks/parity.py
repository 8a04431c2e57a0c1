"""Temporal parity (HSRU): is the number of ones in a bit sequence odd?

    x_t ~ Bernoulli(1/2)  (input [T, 1], float)      y = (Σ_t x_t) mod 2   (2 classes, last step)

Cross-entropy; metrics accuracy (main; chance 1/2) and loss. ``label_noise`` flips that
fraction of the *training* labels (HSRU's noisy variant); validation and test labels stay clean.
Training never contains a validation or test sequence (HSRU's unique-sequence pools).
Parity needs only a per-step toggle, which HSRU's D state provides even without gradients
through time.

Reference: hsameerc/hsru tests/ and verify/ (T=50, hidden 128, 12,800 samples 80/20, 40 epochs,
AdamW, LR sweep {5e-3, 1e-3, 5e-4, 1e-4} — arena fixes lr 1e-3 instead of reporting the best of
a sweep; 5 % label-noise variant). See ../shared/specs/cells-and-tasks.md §4.2, §6.10.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl

PARAMS: dict[str, Any] = {"seq_len": 50, "label_noise": 0.0, "n_train": 10240, "n_val": 2560, "n_test": 2560,
                          "fresh": False}

INFO = TaskInfo(
    summary="Temporal parity of a random bit sequence (two classes at the last step).",
    reference="HSRU temporal parity (hsameerc/hsru)",
    input_kind="features",
    output_kind="classes",
    readout="last",
    metrics=(
        Metric("acc", True, "classification accuracy", solved=1.0),
        Metric("loss", False, "cross-entropy"),
    ),
    main_metric="acc",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"seq_len": 12, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 30, "n_train": 5000, "n_val": 1000, "n_test": 1000},
                           train={"hidden": 64, "epochs": 15, "batch_size": 64, "lr": 3e-3, "patience": 6},
                           description="about 20 s per GRU run on one CPU core"),
        "hsru": Preset(params={"seq_len": 50, "n_train": 10240, "n_val": 2560, "n_test": 2560},
                       train={"hidden": 128, "epochs": 40, "batch_size": 256, "lr": 1e-3, "optimizer": "adamw",
                              "weight_decay": 0.01, "patience": 40},
                       description="HSRU fixed-length: T=50, hidden 128, 12,800 samples 80/20 (+ a test set), AdamW"),
        "hsru-noisy": Preset(params={"seq_len": 50, "label_noise": 0.05, "n_train": 10240, "n_val": 2560,
                                     "n_test": 2560},
                             train={"hidden": 128, "epochs": 40, "batch_size": 256, "lr": 1e-3, "optimizer": "adamw",
                                    "weight_decay": 0.01, "patience": 40},
                             description="HSRU noisy-label variant: 5 % of training labels flipped"),
    },
)


class ParityTask(Task):
    info = INFO
    discrete_inputs = True

    def validate(self) -> None:
        if self.params["seq_len"] < 1 or not 0 <= self.params["label_noise"] < 0.5:
            raise ValueError("parity needs seq_len ≥ 1 and 0 ≤ label_noise < 0.5")

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 2

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        bits = torch.randint(0, 2, (n, self.params["seq_len"]), generator=generator, device=device)
        return {"x": bits.unsqueeze(-1).float(), "y": bits.sum(dim=1) % 2}

    def data(self, split: str, *, seed: int, epoch: int, device: Any) -> dict[str, Any]:
        import torch

        from arena.keys import derive_seed

        batch = super().data(split, seed=seed, epoch=epoch, device=device)
        noise = self.params["label_noise"]
        if split == "train" and noise > 0:
            gen = torch.Generator(device=device)
            gen.manual_seed(derive_seed("label-noise", seed, epoch if self.fresh_train_data() else 0) % (2**63))
            flip = torch.rand(batch["y"].shape, generator=gen, device=device) < noise
            batch = {**batch, "y": torch.where(flip, 1 - batch["y"], batch["y"])}
        return batch

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        import torch.nn.functional as F

        return {"acc": (out.argmax(-1) == batch["y"]).float().mean().item(),
                "loss": F.cross_entropy(out, batch["y"]).item()}

    def chance(self) -> dict[str, float]:
        import math

        return {"acc": 0.5, "loss": math.log(2)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("parity", ParityTask, info=INFO)
