"""Sparse event counting: count rare typed events in a long token sequence.

    x_t = 0 with probability 1 − q, else an event type uniform in {1, …, E}     (tokens)
    y   = number of events (``target="total"``), or the count of each type (``"per-type"``)

The prediction is ReLU(head(h_T)) (counts are non-negative, as in the reference); MSE loss;
metrics MAE (main), RMSE, exact match after rounding and within ±1 (all over every output).
Token 0 ("no event") embeds to a fixed zero vector (padding_idx 0), as in the reference.
An input-blind predictor's best scores come from the Binomial(T, q) law of each count.

Reference: ARU benchmarks/phase4/sparse_event_counting_benchmark.py (T=500, q=0.03, E=3,
5,000 sequences 70/15/15, hidden 64, dropout 0.1, Adam 5e-3, batch 128, 25 epochs,
ReduceLROnPlateau(0.5, 4) and early stopping 8 on val MAE; ARU gate biases persistence 3.0,
accumulation −1.0 — the ARU cell option ``gate_preset=sparse-events``).
See ../shared/specs/cells-and-tasks.md §1.3 P4, §6.5.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.tasks.counting import binomial_median, binomial_pmf

PARAMS: dict[str, Any] = {"seq_len": 500, "event_prob": 0.03, "n_types": 3, "target": "total",
                          "n_train": 3500, "n_val": 750, "n_test": 750, "fresh": False}

INFO = TaskInfo(
    summary="Count rare typed events in a long token sequence (total or per type).",
    reference="ARU phase4 sparse event counting (abderahmane-ai/additive-recurrent-unit)",
    input_kind="tokens",
    output_kind="regression",
    readout="last",
    metrics=(
        Metric("mae", False, "mean absolute error of the count(s)", scale="log", solved=0.1),
        Metric("rmse", False, "root mean squared error of the count(s)", scale="log", solved=0.1),
        Metric("exact", True, "fraction of counts exactly right after rounding", solved=1.0),
        Metric("within1", True, "fraction of counts within ±1 after rounding", solved=1.0),
    ),
    main_metric="mae",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"seq_len": 40, "event_prob": 0.1, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 5e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 100, "event_prob": 0.05, "n_train": 2000, "n_val": 500, "n_test": 600},
                           train={"hidden": 64, "epochs": 12, "batch_size": 64, "lr": 5e-3, "patience": 5,
                                  "plateau_patience": 3},
                           description="about 25 s per GRU run on one CPU core"),
        "aru": Preset(params={"seq_len": 500, "event_prob": 0.03, "n_types": 3, "target": "total",
                              "n_train": 3500, "n_val": 750, "n_test": 750},
                      train={"hidden": 64, "epochs": 25, "batch_size": 128, "lr": 5e-3, "patience": 8,
                             "plateau_patience": 4, "plateau_factor": 0.5, "dropout": 0.1},
                      description="ARU phase 4: T=500, q=0.03, 5k sequences 70/15/15, plateau LR"),
    },
)


class SparseEventsTask(Task):
    info = INFO
    padding_idx = 0

    def validate(self) -> None:
        p = self.params
        if p["seq_len"] < 1 or not 0 < p["event_prob"] < 1 or p["n_types"] < 1:
            raise ValueError("sparse-events needs seq_len ≥ 1, 0 < event_prob < 1 and n_types ≥ 1")
        if p["target"] not in ("total", "per-type"):
            raise ValueError("target must be 'total' or 'per-type'")

    @property
    def input_size(self) -> int:
        return self.params["n_types"] + 1

    @property
    def output_size(self) -> int:
        return 1 if self.params["target"] == "total" else self.params["n_types"]

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T, q, E = self.params["seq_len"], self.params["event_prob"], self.params["n_types"]
        event = torch.rand(n, T, generator=generator, device=device) < q
        kind = torch.randint(1, E + 1, (n, T), generator=generator, device=device)
        x = torch.where(event, kind, torch.zeros_like(kind))
        if self.params["target"] == "total":
            y = event.sum(dim=1, keepdim=True).float()
        else:
            y = torch.stack([(x == e).sum(dim=1) for e in range(1, E + 1)], dim=1).float()
        return {"x": x, "y": y}

    def predict(self, out: Any) -> Any:
        import torch

        return torch.relu(out)

    def loss(self, out: Any, batch: Mapping[str, Any]) -> Any:
        import torch.nn.functional as F

        return F.mse_loss(self.predict(out), batch["y"])

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        pred = self.predict(out)
        err = pred - batch["y"]
        rounded = (pred.round() - batch["y"]).abs()
        return {"mae": err.abs().mean().item(), "rmse": err.pow(2).mean().sqrt().item(),
                "exact": (rounded == 0).float().mean().item(), "within1": (rounded <= 1).float().mean().item()}

    def chance(self) -> dict[str, float]:
        T, q, E = self.params["seq_len"], self.params["event_prob"], self.params["n_types"]
        p = q if self.params["target"] == "total" else q / E  # each count is Binomial(T, p)
        pmf = binomial_pmf(T, p)
        median = binomial_median(pmf)
        within = max(sum(pmf[j] for j in range(max(0, c - 1), min(T, c + 1) + 1)) for c in range(T + 1))
        return {"mae": sum(w * abs(k - median) for k, w in enumerate(pmf)), "rmse": math.sqrt(T * p * (1 - p)),
                "exact": max(pmf), "within1": within}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("sparse-events", SparseEventsTask, info=INFO)
