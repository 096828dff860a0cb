"""Learning-rate schedules over a whole run, stepped once per batch (torch.optim.lr_scheduler)."""

from __future__ import annotations

import math

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


def stretch(scheduler: LRScheduler, total_steps: int) -> None:
    """A resumed run given a new length (a finished run trained on with more epochs): the schedule
    spans the new run. Its rate moves to the schedule's value at the current step, as if the run
    had been launched with this length; an unchanged length changes nothing (exact resume)."""
    total = max(total_steps, 1)
    attr = "T_max" if isinstance(scheduler, CosineAnnealingLR) else "total_iters"
    if getattr(scheduler, attr) == total:
        return
    setattr(scheduler, attr, total)
    done = min(scheduler.last_epoch, total) / total
    if attr == "T_max":
        factor = 0.5 * (1 + math.cos(math.pi * done))
    else:
        factor = 1 - done
    lrs = [base * factor for base in scheduler.base_lrs]
    for group, lr in zip(scheduler.optimizer.param_groups, lrs, strict=True):
        group["lr"] = lr
    scheduler._last_lr = lrs  # what get_last_lr() (the logged train/lr_*) reads
