"""Adding problem: sum the two values marked in a long sequence of random numbers.

    x_t = (v_t, m_t)   v_t ~ U[0, 1),  m_t ∈ {0, 1} with exactly two 1s
    y   = Σ_t v_t · m_t              (one output read at the last step; MSE)

Marker placement (``placement``): ``halves`` puts the first marker in [0, T/2) and the second
in [T/2, T) (ARU, Hochreiter & Schmidhuber); ``anywhere`` picks two distinct positions
uniformly (MoGRU). An input-blind predictor's best guess is E[y] = 1, whose MSE is
Var(v_a + v_b) = 1/6 ≈ 0.167 and whose MAE is 1/3; ARU calls a run "solved" below MSE 0.01.

References: ARU benchmarks/phase5/adding_problem_benchmark.py (T=200, 10k/1k/1k fixed, hidden
128, 50 epochs, patience 10); MoGRU mogru/benchmark.py (T=100, 10k fresh per epoch, 2k val).
See ../shared/specs/cells-and-tasks.md §1.3, §3.2, §6.3.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl

PARAMS: dict[str, Any] = {
    "seq_len": 100,
    "placement": "halves",  # "halves" (ARU) or "anywhere" (MoGRU)
    "n_train": 10000,
    "n_val": 1000,
    "n_test": 1000,
    "fresh": False,
}

INFO = TaskInfo(
    summary="Adding problem: output the sum of the two marked values of a random sequence.",
    reference="Hochreiter & Schmidhuber 1997; ARU phase5; MoGRU adding benchmark",
    input_kind="features",
    output_kind="regression",
    readout="last",
    metrics=(
        Metric("mse", False, "mean squared error of the predicted sum", scale="log", solved=0.01),
        Metric("mae", False, "mean absolute error of the predicted sum", scale="log"),
        Metric("solved", True, "1 if MSE < 0.01 (ARU's threshold), else 0", solved=1.0),
    ),
    main_metric="mse",
    params=PARAMS,
    version="1",
    presets={
        "smoke": Preset(
            params={"seq_len": 10, "n_train": 512, "n_val": 128, "n_test": 128},
            train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
            description="seconds on a CPU; for tests and trying things out",
        ),
        "standard": Preset(
            params={"seq_len": 50, "placement": "halves", "n_train": 3000, "n_val": 500, "n_test": 1000},
            train={"hidden": 64, "epochs": 12, "batch_size": 64, "lr": 3e-3, "patience": 5},
            description="about 25 s per GRU run on one CPU core",
        ),
        "aru": Preset(
            params={"seq_len": 200, "placement": "halves", "n_train": 10000, "n_val": 1000, "n_test": 1000},
            train={"hidden": 128, "epochs": 50, "batch_size": 128, "lr": 1e-3, "patience": 10},
            description="ARU phase 5: T=200, 10k/1k/1k fixed samples",
        ),
        "mogru": Preset(
            params={"seq_len": 100, "placement": "anywhere", "n_train": 10000, "n_val": 2000, "n_test": 2000,
                    "fresh": True},
            train={"hidden": 128, "epochs": 30, "batch_size": 64, "lr": 1e-3, "patience": 30},
            description="MoGRU benchmark: T=100, markers anywhere, 10k fresh samples per epoch",
        ),
    },
)


class AddingTask(Task):
    info = INFO

    def validate(self) -> None:
        if self.params["seq_len"] < 2:
            raise ValueError("adding needs seq_len ≥ 2")
        if self.params["placement"] not in ("halves", "anywhere"):
            raise ValueError("placement must be 'halves' or 'anywhere'")
        if min(self.params["n_train"], self.params["n_val"], self.params["n_test"]) < 1:
            raise ValueError("adding needs at least one sample per split")

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 1

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T = self.params["seq_len"]
        values = torch.rand(n, T, generator=generator, device=device)
        if self.params["placement"] == "halves":
            first = torch.randint(0, T // 2, (n,), generator=generator, device=device)
            second = torch.randint(T // 2, T, (n,), generator=generator, device=device)
            pos = torch.stack([first, second], dim=1)
        else:
            pos = torch.rand(n, T, generator=generator, device=device).argsort(dim=1)[:, :2]
        markers = torch.zeros(n, T, device=device).scatter_(1, pos, 1.0)
        x = torch.stack([values, markers], dim=-1)
        y = (values * markers).sum(dim=1)
        return {"x": x, "y": y}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        err = out.reshape(-1) - batch["y"]
        mse = err.pow(2).mean().item()
        return {"mse": mse, "mae": err.abs().mean().item(), "solved": float(mse < 0.01)}

    def chance(self) -> dict[str, float]:
        return {"mse": 1 / 6, "mae": 1 / 3, "solved": 0.0}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("adding", AddingTask, info=INFO)
