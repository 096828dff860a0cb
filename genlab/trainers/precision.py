"""Mixed precision for the training steps: an autocast context and, for fp16, a gradient scaler.

bf16 keeps float32's exponent range, so it needs no scaling; fp16 does (Micikevicius et al. 2018).
The steps compute their losses in float32, outside autocast.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("32", "bf16", "fp16")
_DTYPES = {"32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str, device_type: str):
        self.name, self.device_type, self.dtype = name, device_type, _DTYPES[name]
        self.scaler = torch.amp.GradScaler(device_type) if name == "fp16" else None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """One optimiser step on loss: zero_grad(set_to_none), backward, step (scaled for fp16)."""
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)  # skips the step when a gradient overflowed
        self.scaler.update()
