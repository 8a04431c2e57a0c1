"""`arena bench`: how fast cells run, and how their cost grows with sequence length.

Protocol (../shared/specs/cpu-performance.md §9, ../shared/specs/prior-art.md §6.7):
- inputs and cells are built before any timing; threads = cores on CPU;
- the first call is reported separately (``first_call_s``: scripting, compilation, allocator
  growth), then more warm-up calls, none of them in the figures;
- every competitor of one configuration is timed once per round, rounds interleaved with the
  order rotated; the device is synchronised before each clock read; gc is off while timing;
- figures: median seconds per call with 20th/80th percentiles, tokens/s = B·T / median, the
  ratio to the baseline cell measured in the same rounds (median of per-round ratios);
- modes: ``fwd`` (inference forward, no autograd), ``fwd-bwd`` (forward + backward of the summed
  output), ``step`` (T calls of the O(1) recurrent ``step``; also latency per token);
- peak memory of one extra call (CUDA allocator, or process RSS delta on CPU), recurrent state
  size in bytes per sequence, parameter count, and the implementation path the cell took;
- per cell, mode and hidden size: the fitted exponent of time vs sequence length (log-log slope;
  ≈1 for a linear-time cell, >1.2 flags an O(T²) bug or a cache cliff).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch

from arena.bench.memory import peak_bytes
from arena.bench.timing import time_interleaved

MODES = ("fwd", "fwd-bwd", "step")


def rounds_for(seq_len: int) -> int:
    return 15 if seq_len <= 64 else 9 if seq_len <= 256 else 5 if seq_len <= 1024 else 3


@dataclass
class BenchConfig:
    models: list[str]
    seq_lens: list[int]
    hiddens: list[int]
    batch: int = 32
    input_size: int = 64
    modes: tuple[str, ...] = ("fwd-bwd",)
    device: str = "cpu"
    compile: bool = False
    baseline: str = "gru"
    warmup: int = 5
    rounds: int | None = None  # None: by sequence length
    threads: int | None = None


def _callable(cell: Any, x: torch.Tensor, mode: str) -> Callable[[], None]:
    if mode == "fwd":
        def fwd() -> None:
            with torch.no_grad():
                cell(x)
        return fwd
    if mode == "fwd-bwd":
        def fwd_bwd() -> None:
            y, _ = cell(x)
            y.sum().backward()
        return fwd_bwd
    steps = x.unbind(1)

    def step() -> None:
        with torch.no_grad():
            state = None
            for x_t in steps:
                _, state = cell.step(x_t, state)
    return step


def run(host: Any, cfg: BenchConfig, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Measure every (model, seq_len, hidden, mode); returns one row each."""
    from arena.training import resolve_device

    device = resolve_device(cfg.device)
    if device.type == "cpu":
        torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None
    models = list(dict.fromkeys([cfg.baseline] + cfg.models)) if cfg.baseline else list(cfg.models)
    entries = {m: host.cells.get(m) for m in models}
    rows: list[dict[str, Any]] = []
    for hidden in cfg.hiddens:
        for T in cfg.seq_lens:
            x = torch.randn(cfg.batch, T, cfg.input_size, device=device)
            for mode in cfg.modes:
                cells = {}
                for m, entry in entries.items():
                    torch.manual_seed(0)
                    cell = entry.load()(cfg.input_size, hidden).to(device)
                    cell.train(mode == "fwd-bwd")
                    if cfg.compile:
                        cell = _compiled(cell)
                    cells[m] = cell
                fns = {m: _callable(c, x, mode) for m, c in cells.items()}

                def drop_grads(name: str) -> None:
                    for p in cells[name].parameters():
                        p.grad = None

                timings = time_interleaved(fns, cfg.baseline or models[0], warmup=cfg.warmup,
                                           rounds=cfg.rounds or rounds_for(T), sync=sync, prepare=drop_grads)
                for m, t in timings.items():
                    cell = cells[m]
                    base = _inner(cell)
                    drop_grads(m)
                    mem = peak_bytes(fns[m], device)
                    drop_grads(m)
                    elem = torch.finfo(torch.float32).bits // 8
                    rows.append({
                        "model": m, "seq_len": T, "hidden": hidden, "batch": cfg.batch, "input_size": cfg.input_size,
                        "mode": mode, "device": str(device),
                        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
                        "threads": torch.get_num_threads(), "torch": torch.__version__, "compile": cfg.compile,
                        "median_s": t.median_s, "p20_s": t.p20_s, "p80_s": t.p80_s,
                        "tokens_per_s": cfg.batch * T / t.median_s,
                        "latency_per_token_s": t.median_s / T if mode == "step" else None,
                        "peak_mem_bytes": mem, "state_bytes": base.state_size() * elem,
                        "params": sum(p.numel() for p in base.parameters()), "impl": str(base.impl),
                        "first_call_s": t.first_call_s, "rounds": len(t.samples_s),
                        "baseline": cfg.baseline or None,
                        "ratio_to_baseline": t.ratio if cfg.baseline else None,
                        "ratio_p20": t.ratio_p20 if cfg.baseline else None,
                        "ratio_p80": t.ratio_p80 if cfg.baseline else None,
                    })
                    if progress:
                        progress(f"{m:10s} T={T:<5d} H={hidden:<4d} {mode:8s} {t.median_s * 1e3:9.2f} ms  "
                                 f"{t.ratio:5.2f}x {cfg.baseline}  [{base.impl}]")
                del cells, fns
    add_scaling(rows)
    return rows


def add_scaling(rows: list[dict[str, Any]]) -> None:
    """Give each row the log-log slope of time vs sequence length of its model/mode/hidden."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["mode"], r["hidden"], r["device"]), []).append(r)
    for group in groups.values():
        pts = sorted({(r["seq_len"], r["median_s"]) for r in group})
        slope = None
        if len(pts) >= 2:
            xs = [math.log(t) for t, _ in pts]
            ys = [math.log(s) for _, s in pts]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            sxx = sum((a - mx) ** 2 for a in xs)
            slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx if sxx else None
        for r in group:
            r["time_exponent"] = slope


def _inner(cell: Any) -> Any:
    return getattr(cell, "_orig_mod", cell)


def _compiled(cell: Any) -> Any:
    return torch.compile(cell)


def _cpu_name() -> str:
    from arena.envinfo import cpu_model

    return cpu_model()
