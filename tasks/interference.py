"""Interference resistance (MoGRU): recall key→value pairs after near-duplicate distractors.

With V=32 (vocabulary V+3 = 35: pad 0, marker V+1, query V+2), per sample:

    phase 1 (3K tokens)  [marker, k_i, v_i] for i = 1..K      k_i ~ U{1..V/2}, v_i ~ U{V/2..V}
    phase 2 (2N tokens)  N distractor pairs [k'_j, v'_j]: k'_j = clamp(k_(j mod K) + δ_j, 1, V/2),
                         δ_j ~ U{−1, 0, 1}; v'_j ~ U{V/2..V}
    phase 3 (2K tokens)  [query, k_i] for i = 1..K; the target at each k_i is v_i (masked CE)

Length 5K + 2N. Metric: per-token accuracy on the K recalled values (main; chance 1/(V/2+1) =
1/17 for V=32), whole-sequence accuracy. Keys may repeat within a sample (as in the reference),
which makes a few queries ambiguous; this is kept for fidelity. The embedding has no padding
index, as in the reference.

Reference: Thormatt/mogru mogru/interference_deep_dive.py (code: hidden 96, 25 epochs, 5k/1k
regenerated, batch 64; paper caption: hidden 128, 20 epochs; sweeps N ∈ {10,25,50,100,200} at
K=5 and K ∈ {3,5,8,10} at N=50). See ../shared/specs/cells-and-tasks.md §3.3, §6.6.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.metrics import masked_classification

PARAMS: dict[str, Any] = {"n_pairs": 5, "n_distractors": 50, "vocab": 32, "n_train": 5000, "n_val": 1000,
                          "n_test": 1000, "fresh": False}

INFO = TaskInfo(
    summary="Recall K key→value pairs after N near-duplicate distractor pairs.",
    reference="MoGRU interference deep dive (Thormatt/mogru)",
    input_kind="tokens",
    output_kind="classes",
    readout="every",
    metrics=(
        Metric("token_acc", True, "accuracy per recalled value", solved=1.0),
        Metric("seq_acc", True, "fraction of samples with all K values right", solved=1.0),
        Metric("loss", False, "cross-entropy on the recalled values"),
    ),
    main_metric="token_acc",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"n_pairs": 2, "n_distractors": 4, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"n_pairs": 3, "n_distractors": 10, "n_train": 4000, "n_val": 1000,
                                   "n_test": 1000},
                           train={"hidden": 64, "epochs": 12, "batch_size": 64, "lr": 3e-3, "patience": 5},
                           description="about 20 s per GRU run on one CPU core; sweep n_distractors"),
        "mogru": Preset(params={"n_pairs": 5, "n_distractors": 50, "vocab": 32, "n_train": 5000, "n_val": 1000,
                                "n_test": 1000, "fresh": True},
                        train={"hidden": 96, "epochs": 25, "batch_size": 64, "lr": 1e-3, "patience": 25},
                        description="MoGRU code: hidden 96, 25 epochs, 5k/1k regenerated samples"),
        "mogru-paper": Preset(params={"n_pairs": 5, "n_distractors": 50, "vocab": 32, "n_train": 5000,
                                      "n_val": 1000, "n_test": 1000, "fresh": True},
                              train={"hidden": 128, "epochs": 20, "batch_size": 64, "lr": 1e-3, "patience": 20},
                              description="MoGRU paper caption: hidden 128, 20 epochs"),
    },
)


class InterferenceTask(Task):
    info = INFO

    def validate(self) -> None:
        p = self.params
        if p["n_pairs"] < 1 or p["n_distractors"] < 0 or p["vocab"] < 4 or p["vocab"] % 2:
            raise ValueError("interference needs n_pairs ≥ 1, n_distractors ≥ 0 and an even vocab ≥ 4")

    @property
    def input_size(self) -> int:
        return self.params["vocab"] + 3

    @property
    def output_size(self) -> int:
        return self.params["vocab"] + 3

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        K, N, V = self.params["n_pairs"], self.params["n_distractors"], self.params["vocab"]
        half = V // 2
        marker, query = V + 1, V + 2
        keys = torch.randint(1, half + 1, (n, K), generator=generator, device=device)
        values = torch.randint(half, V + 1, (n, K), generator=generator, device=device)
        phase1 = torch.stack([torch.full_like(keys, marker), keys, values], dim=2).reshape(n, 3 * K)
        cycled = keys[:, torch.arange(N, device=device) % K]
        offset = torch.randint(-1, 2, (n, N), generator=generator, device=device)
        d_keys = (cycled + offset).clamp(1, half)
        d_values = torch.randint(half, V + 1, (n, N), generator=generator, device=device)
        phase2 = torch.stack([d_keys, d_values], dim=2).reshape(n, 2 * N)
        phase3 = torch.stack([torch.full_like(keys, query), keys], dim=2).reshape(n, 2 * K)
        x = torch.cat([phase1, phase2, phase3], dim=1)
        y = torch.zeros_like(x)
        mask = torch.zeros_like(x, dtype=torch.bool)
        at = 3 * K + 2 * N + 1 + 2 * torch.arange(K, device=device)  # the k_i positions of phase 3
        y[:, at] = values
        mask[:, at] = True
        return {"x": x, "y": y, "mask": mask}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        return masked_classification(out, batch["y"], batch["mask"])

    def chance(self) -> dict[str, float]:
        import math

        m = self.params["vocab"] // 2 + 1  # values are uniform on V/2..V
        return {"token_acc": 1 / m, "seq_acc": m ** -self.params["n_pairs"], "loss": math.log(m)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("interference", InterferenceTask, info=INFO)
