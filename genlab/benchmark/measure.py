"""Images per second between two step numbers, and the peak memory of a run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepClock:
    """Times the steps [start, stop): call tick(step) as each step begins; waits for the device."""

    def __init__(self, device: torch.device, start: int, stop: int):
        self.device, self.start, self.stop = device, start, stop
        self.times: dict[int, float] = {}

    def tick(self, step: int) -> bool:
        """Records the clock at start and stop; returns True once the timed steps are done."""
        if step in (self.start, self.stop):
            sync(self.device)
            self.times[step] = time.perf_counter()
        return step >= self.stop

    @property
    def seconds(self) -> float:
        return self.times[self.stop] - self.times[self.start]


class PeakMemory:
    """Peak memory of a block, in MiB.

    cuda: torch.cuda.max_memory_allocated (tensors only). cpu: the peak resident set size minus
    the resident size before the block; Linux lets a process reset its peak (/proc clear_refs),
    elsewhere ru_maxrss is the whole process's peak so far.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.mib = float("nan")

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            _reset_peak_rss()
            self.base = _rss_kib("VmRSS")
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) - self.base
            self.mib = peak / 2**20
        else:
            self.mib = (_rss_kib("VmHWM") - self.base) / 1024
        return False


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM)
    except OSError:
        pass


def _rss_kib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) in KiB; without /proc, ru_maxrss (the process's peak);
    NaN where neither exists (Windows has no `resource` module)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # bytes on macOS
