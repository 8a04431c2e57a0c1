"""arena-indrnn: registers the IndRNN cell with arena.

arena imports this module at every start (even `arena --help`), so it stays free of torch; the
cell class is named by a "module:Class" string and imported only when a run builds it.
"""
from __future__ import annotations

from typing import Callable

from arena import CellInfo, hookimpl


@hookimpl
def register_cells(register: Callable[..., None]) -> None:
    register(
        "indrnn",
        "arena_indrnn.cell:IndRNN",
        info=CellInfo(
            summary="Independently recurrent neural network: ReLU units, each with one recurrent weight.",
            reference="Li, Li, Cook, Zhu & Gao 2018, 'Independently Recurrent Neural Network (IndRNN): "
                      "Building A Longer and Deeper RNN', CVPR, arXiv:1803.04831",
            equation="h = relu(W x + u ⊙ h + b), |u| ≤ γ^(1/T)",
            options={"horizon": 100, "gamma": 2.0, "init": "uniform", "input_std": 0.001},
            capabilities=("step",),
            notes="u is clipped to [−γ^(1/T), γ^(1/T)] in the forward pass (the paper clips the weights "
                  "after each update; arena's training loop has no per-step hook). T is the option "
                  "horizon, γ the option gamma (the paper's MAG, 2). init 'uniform' draws u from "
                  "U(0, γ^(1/T)) as the paper's lower layers; 'memory' from U(γ^(−1/T), γ^(1/T)) as its "
                  "last layer when only the final output is read.",
            version="1",
        ),
    )
