"""Peak memory of one call: the CUDA allocator on GPU, the process's resident set on CPU.

On CPU the kernel's high-water mark (VmHWM) is reset through /proc/self/clear_refs before the
call (Linux ≥ 4.0) and freed heap memory is handed back with glibc's malloc_trim, so the figure
is the RSS peak during the call minus the RSS just before it. Where either is unavailable the
figure is None, never a guess.
"""
from __future__ import annotations

import ctypes
import gc
from pathlib import Path
from typing import Callable

import torch


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_bytes(fn: Callable[[], None], device: torch.device) -> int | None:
    """Extra memory at the peak of ``fn()`` over what was in use before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    _trim()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None
    return max(0, peak - before) * 1024
