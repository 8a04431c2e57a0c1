"""Selective copy (MoGRU's variant): recall, in order, the K tokens that carry a marker.

    tokens   s_1 … s_T ~ U{1..V} (no blanks), then K query steps with token 0
    markers  m_t = 1 at K sorted random positions of the first T steps, else 0
    input    Embedding(token) + Embedding(marker)       (two streams, x[..., 0] and x[..., 1])
    target   the marked tokens in order, at the K query steps (masked cross-entropy)

``padding_query=True`` (preset ``mogru``) embeds the query token 0 as a fixed zero vector
(``padding_idx=0`` on the token table, no gradient), as the reference does, so a query step's
input is the marker embedding of 0 alone; by default token 0 has a learned vector like any other.

Metrics on the K query steps: per-token accuracy (main; chance 1/V), whole-sequence accuracy.
This is MoGRU's task, not the Mamba / minGRU-paper "selective copying" (which has noise tokens
and no marker stream).

Reference: Thormatt/mogru mogru/benchmark.py (T=50, K=5, V=16, hidden 128, 10k fresh samples
per epoch, 2k validation, batch 64, 30 epochs). See ../shared/specs/cells-and-tasks.md §3.2, §6.2.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from arena import Metric, Preset, Task, TaskInfo, hookimpl
from arena.metrics import masked_classification

PARAMS: dict[str, Any] = {"seq_len": 50, "n_marked": 5, "vocab": 16, "n_train": 10000, "n_val": 2000,
                          "n_test": 2000, "fresh": False, "padding_query": False}

INFO = TaskInfo(
    summary="Recall in order the K tokens marked by a separate marker stream.",
    reference="MoGRU selective copy benchmark (Thormatt/mogru)",
    input_kind="tokens",
    output_kind="classes",
    readout="every",
    metrics=(
        Metric("token_acc", True, "accuracy per recalled token", solved=1.0),
        Metric("seq_acc", True, "fraction of sequences with all K tokens right", solved=1.0),
        Metric("loss", False, "cross-entropy on the query steps"),
    ),
    main_metric="token_acc",
    params=PARAMS,
    added_params=("padding_query",),
    presets={
        "smoke": Preset(params={"seq_len": 10, "n_marked": 2, "vocab": 8, "n_train": 512, "n_val": 128,
                                "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 30, "n_marked": 4, "vocab": 16, "n_train": 4000, "n_val": 1000,
                                   "n_test": 1000},
                           train={"hidden": 64, "epochs": 12, "batch_size": 64, "lr": 3e-3, "patience": 5},
                           description="about 20 s per GRU run on one CPU core"),
        "mogru": Preset(params={"seq_len": 50, "n_marked": 5, "vocab": 16, "n_train": 10000, "n_val": 2000,
                                "n_test": 2000, "fresh": True, "padding_query": True},
                        train={"hidden": 128, "epochs": 30, "batch_size": 64, "lr": 1e-3, "patience": 30},
                        description="MoGRU benchmark: T=50, K=5, V=16, 10k fresh samples per epoch, "
                                    "query token embedded as a zero vector (padding_idx 0)"),
    },
)


class SelectiveCopyTask(Task):
    info = INFO

    def validate(self) -> None:
        p = self.params
        if not 1 <= p["n_marked"] <= p["seq_len"] or p["vocab"] < 2:
            raise ValueError("selective-copy needs 1 ≤ n_marked ≤ seq_len and vocab ≥ 2")
        if not isinstance(p["padding_query"], bool):
            raise TypeError("padding_query must be true or false")

    @property
    def input_size(self) -> int:
        return self.params["vocab"] + 1  # query token 0 and symbols 1..V

    @property
    def output_size(self) -> int:
        return self.params["vocab"] + 1

    @property
    def padding_idx(self) -> int | None:  # type: ignore[override]
        """The query token 0 embeds to a fixed zero vector when ``padding_query`` is on."""
        return 0 if self.params["padding_query"] else None

    def build_encoder(self, dim: int) -> tuple[Any, int]:
        from arena.model import SummedEmbeddings

        # Token table (stream 0) padded as ``padding_idx`` says; the marker table never is.
        return SummedEmbeddings([self.input_size, 2], dim, padding_idx=self.padding_idx), dim

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T, K, V = self.params["seq_len"], self.params["n_marked"], self.params["vocab"]
        tokens = torch.randint(1, V + 1, (n, T), generator=generator, device=device)
        pos = torch.rand(n, T, generator=generator, device=device).argsort(dim=1)[:, :K].sort(dim=1).values
        marks = torch.zeros(n, T, dtype=torch.long, device=device).scatter_(1, pos, 1)
        pad = torch.zeros(n, K, dtype=torch.long, device=device)
        x = torch.stack([torch.cat([tokens, pad], 1), torch.cat([marks, pad], 1)], dim=-1)
        y = torch.cat([torch.zeros_like(tokens), tokens.gather(1, pos)], dim=1)
        mask = torch.zeros(n, T + K, dtype=torch.bool, device=device)
        mask[:, T:] = True
        return {"x": x, "y": y, "mask": mask}

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        return masked_classification(out, batch["y"], batch["mask"])

    def chance(self) -> dict[str, float]:
        import math

        V, K = self.params["vocab"], self.params["n_marked"]
        return {"token_acc": 1 / V, "seq_acc": V ** -K, "loss": math.log(V)}


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("selective-copy", SelectiveCopyTask, info=INFO)
