"""Learning-rate schedules over a whole run, stepped once per batch (torch.optim.lr_scheduler)."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler

SCHEDULES = ("constant", "linear", "cosine")


def make_scheduler(
    optimizer: torch.optim.Optimizer, name: str, total_steps: int
) -> LRScheduler | None:
    """constant: None (no scheduler); linear: lr -> 0 at the last step; cosine: half a cosine
    from lr to 0 over the run (Loshchilov & Hutter 2017, without restarts)."""
    if name == "constant":
        return None
    total = max(total_steps, 1)
    if name == "linear":
        return LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=total)
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=total, eta_min=0.0)
    raise ValueError(f"unsupported schedule {name}; choose one of {', '.join(SCHEDULES)}")


def make_schedulers(optimizers: dict, name: str, total_steps: int) -> dict[str, LRScheduler]:
    """One scheduler per optimizer (same names), none for a constant rate."""
    out = {k: make_scheduler(o, name, total_steps) for k, o in optimizers.items()}
    return {k: s for k, s in out.items() if s is not None}
