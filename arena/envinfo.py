"""Where a run ran: versions, device, CPU and GPU, threads, git sha (recorded with each run).

Not part of the run key (results are reusable across machines) but stored beside every run and
benchmark row, so any number can be traced to the machine that made it.
"""
from __future__ import annotations

import os
import platform
import subprocess

from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_sha(path: Path | None = None) -> str | None:
    """The commit of arena's source checkout (with "-dirty" for local changes), if any."""
    root = path or Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("-dirty" if dirty else "")) or None


def environment(device: str | None = None, plugins: dict[str, str] | None = None) -> dict[str, Any]:
    """The environment of this process; imports torch only when a device is asked for."""
    from arena import __version__

    env: dict[str, Any] = {
        "arena": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_sha": git_sha(),
        "plugins": dict(sorted((plugins or {}).items())),
    }
    if device is not None:
        import torch

        env.update({
            "torch": torch.__version__,
            "device": device,
            "threads": torch.get_num_threads(),
            "cuda": torch.version.cuda,
            "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
            "cudnn": torch.backends.cudnn.version() if device.startswith("cuda") else None,
            "mkldnn": torch.backends.mkldnn.is_available(),
        })
    return env


