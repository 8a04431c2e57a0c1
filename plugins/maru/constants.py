"""MARU's option choices, size presets and numeric constants, shared by the modules of the package."""
from __future__ import annotations

SIZES: dict[str, tuple[int, int, int]] = {  # (num_memories K, memory_size S, memory_dim Dm)
    "small": (4, 32, 32),
    "reference": (6, 256, 128),
}
ROUTERS = ("enhanced", "softmax")
SCANS = ("auto", "sequential", "parallel")

# Router stabiliser constants of the reference's "conservative" config (enhanced_mom_gru_config.py).
TAU_INIT, TAU_FINAL, TAU_DECAY, TAU_MIN = 1.0, 0.1, 0.999, 0.05
DT_MIN, DT_MAX = 1e-3, 0.1
LOG2E = 1.4426950408889634  # exp(Δ·A) = exp2(Δ·A·log2 e): exp2 is ~4× cheaper than exp on this CPU
CHUNK = 16  # steps between the checkpoints the hand-written backwards recompute from
