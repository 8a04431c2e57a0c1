"""Noisy trend tracking (MoGRU): denoise a trend plus a sinusoid, at every step.

    t = linspace(0, 1, T);  per sample: slope ~ U[−2, 2], f ~ U[2, 8], a ~ U[0.1, 0.6], σ ~ U[0.05, 0.35]
    clean_t = slope·t + a·sin(2π f t);   input x_t = clean_t + σ·ε_t (ε ~ N(0,1));   target clean_t

Sequence-to-sequence regression with MSE loss. Metrics: per-step MSE (main) and per-sequence
SSE, the sum of squared errors over the T steps averaged over sequences — MoGRU's headline
"MSE" ≈ 0.78 is this SSE (≈ 80 × per-step MSE). An input-blind predictor's best per-step MSE is
the mean over t of Var(clean_t), computed here by quadrature over f. The reference writes π as
3.14159; arena uses math.pi (a 3e-6 relative difference in the frequency).

Reference: Thormatt/mogru mogru/benchmark.py (T=80, hidden 128, 10k fresh samples per epoch,
2k validation, batch 64, 30 epochs). See ../shared/specs/cells-and-tasks.md §3.2, §6.7.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl

PARAMS: dict[str, Any] = {"seq_len": 80, "n_train": 10000, "n_val": 2000, "n_test": 2000, "fresh": False}

SLOPE, FREQ, AMP, NOISE = (-2.0, 2.0), (2.0, 8.0), (0.1, 0.6), (0.05, 0.35)

#: The solved level of both error metrics, as a fraction of their chance level.
SOLVED_FRACTION_OF_CHANCE = 0.01

INFO = TaskInfo(
    summary="Track a noisy linear trend plus sinusoid: regress the clean signal at every step.",
    reference="MoGRU noisy trend benchmark (Thormatt/mogru)",
    input_kind="features",
    output_kind="regression",
    readout="every",
    metrics=(
        Metric("mse", False, "mean squared error per step", scale="log"),
        Metric("sse_seq", False, "sum of squared errors over a sequence, averaged over sequences (MoGRU's 'MSE')", scale="log"),
    ),
    main_metric="mse",
    params=PARAMS,
    presets={
        "smoke": Preset(params={"seq_len": 20, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 80, "n_train": 4000, "n_val": 1000, "n_test": 1000},
                           train={"hidden": 64, "epochs": 10, "batch_size": 64, "lr": 3e-3, "patience": 5},
                           description="about 25 s per GRU run on one CPU core"),
        "mogru": Preset(params={"seq_len": 80, "n_train": 10000, "n_val": 2000, "n_test": 2000, "fresh": True},
                        train={"hidden": 128, "epochs": 30, "batch_size": 64, "lr": 1e-3, "patience": 30},
                        description="MoGRU benchmark: T=80, 10k fresh samples per epoch, 30 epochs"),
    },
)


class TrendTask(Task):
    info = INFO

    def validate(self) -> None:
        if self.params["seq_len"] < 2:
            raise ValueError("trend needs seq_len ≥ 2")

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T = self.params["seq_len"]

        def uniform(lo_hi: tuple[float, float]) -> Any:
            lo, hi = lo_hi
            return lo + (hi - lo) * torch.rand(n, 1, generator=generator, device=device)

        slope, freq, amp, noise = uniform(SLOPE), uniform(FREQ), uniform(AMP), uniform(NOISE)
        t = torch.linspace(0, 1, T, device=device).unsqueeze(0)
        clean = slope * t + amp * torch.sin(2 * math.pi * freq * t)
        x = clean + noise * torch.randn(n, T, generator=generator, device=device)
        return {"x": x.unsqueeze(-1), "y": clean}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        sq = (out.reshape(batch["y"].shape) - batch["y"]).pow(2)
        return {"mse": sq.mean().item(), "sse_seq": sq.sum(dim=1).mean().item()}

    def chance(self) -> dict[str, float]:
        T = self.params["seq_len"]
        var_slope = (SLOPE[1] - SLOPE[0]) ** 2 / 12
        e_amp = sum(AMP) / 2
        e_amp2 = (AMP[1] ** 3 - AMP[0] ** 3) / (3 * (AMP[1] - AMP[0]))
        grid = [FREQ[0] + (FREQ[1] - FREQ[0]) * (i + 0.5) / 4000 for i in range(4000)]  # midpoint rule
        total = 0.0
        for i in range(T):
            t = i / (T - 1)
            s = [math.sin(2 * math.pi * f * t) for f in grid]
            e_sin = sum(s) / len(s)
            e_sin2 = sum(v * v for v in s) / len(s)
            total += t * t * var_slope + e_amp2 * e_sin2 - (e_amp * e_sin) ** 2
        mse = total / T
        return {"mse": mse, "sse_seq": mse * T}

    def solved(self) -> dict[str, float]:
        """1 % of the chance error: the clean signal tracked with 99 % of its variance explained
        (the reference names no threshold; the Bayes error under input noise has no closed form)."""
        return {k: v * SOLVED_FRACTION_OF_CHANCE for k, v in self.chance().items()}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("trend", TrendTask, info=INFO)
