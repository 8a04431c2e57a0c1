"""Counting (dense binary): count the ones in a sequence of random bits.

    x_t ~ Bernoulli(p)  (input [T, 1], float)        y = Σ_t x_t   (one output at the last step)

MSE loss; metrics MSE (main) and MAE, plus exact-count accuracy after rounding. An input-blind
predictor's best MSE is Var(y) = T·p·(1−p) (ARU reports 9.83 for T=100, p=0.1; the train mean
it predicts gives ≈ the same); its best MAE is E|y − median(y)| and its best exact accuracy
max_k P(y = k), both from the binomial distribution.

Reference: ARU benchmarks/phase3/counting_benchmark.py (T=100 or 300, p=0.1, hidden 64, raw 1-d
input, 8k/1k/1k, Adam 1e-3, batch 128, ≤30 epochs, patience 8 on val MSE).
See ../shared/specs/cells-and-tasks.md §1.3 P3, §6.4.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl

PARAMS: dict[str, Any] = {"seq_len": 100, "density": 0.1, "n_train": 8000, "n_val": 1000, "n_test": 1000,
                          "fresh": False}

INFO = TaskInfo(
    summary="Count the ones in a sequence of random bits (regression on the final state).",
    reference="ARU phase3 counting benchmark (abderahmane-ai/additive-recurrent-unit)",
    input_kind="features",
    output_kind="regression",
    readout="last",
    metrics=(
        Metric("mse", False, "mean squared error of the count", scale="log", solved=0.01),
        Metric("mae", False, "mean absolute error of the count", scale="log", solved=0.1),
        Metric("exact", True, "fraction of sequences whose rounded prediction is the exact count", solved=1.0),
    ),
    main_metric="mse",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"seq_len": 20, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 100, "density": 0.1, "n_train": 4000, "n_val": 1000, "n_test": 1000},
                           train={"hidden": 64, "epochs": 20, "batch_size": 64, "lr": 3e-3, "patience": 6},
                           description="about a minute per run on 2 CPU cores"),
        "aru": Preset(params={"seq_len": 100, "density": 0.1, "n_train": 8000, "n_val": 1000, "n_test": 1000},
                      train={"hidden": 64, "epochs": 30, "batch_size": 128, "lr": 1e-3, "patience": 8},
                      description="ARU phase 3: T=100, p=0.1, 8k/1k/1k fixed samples"),
        "aru-long": Preset(params={"seq_len": 300, "density": 0.1, "n_train": 8000, "n_val": 1000, "n_test": 1000},
                           train={"hidden": 64, "epochs": 30, "batch_size": 128, "lr": 1e-3, "patience": 8},
                           description="ARU phase 3 with --long: T=300"),
    },
)


def binomial_pmf(n: int, p: float) -> list[float]:
    return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


def binomial_median(pmf: list[float]) -> int:
    cdf = 0.0
    for k, q in enumerate(pmf):
        cdf += q
        if cdf >= 0.5:
            return k
    return len(pmf) - 1


class CountingTask(Task):
    info = INFO
    discrete_inputs = True

    def validate(self) -> None:
        if self.params["seq_len"] < 1 or not 0 < self.params["density"] < 1:
            raise ValueError("counting needs seq_len ≥ 1 and 0 < density < 1")

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T, p = self.params["seq_len"], self.params["density"]
        x = (torch.rand(n, T, 1, generator=generator, device=device) < p).float()
        return {"x": x, "y": x.sum(dim=(1, 2))}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        pred = out.reshape(-1)
        err = pred - batch["y"]
        return {"mse": err.pow(2).mean().item(), "mae": err.abs().mean().item(),
                "exact": (pred.round() == batch["y"]).float().mean().item()}

    def chance(self) -> dict[str, float]:
        T, p = self.params["seq_len"], self.params["density"]
        pmf = binomial_pmf(T, p)
        median = binomial_median(pmf)
        return {"mse": T * p * (1 - p), "mae": sum(q * abs(k - median) for k, q in enumerate(pmf)),
                "exact": max(pmf)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("counting", CountingTask, info=INFO)
