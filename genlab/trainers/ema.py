"""An exponential moving average of the generator's weights and BN buffers (Karras et al. 2018;
Yazici et al. 2019): torch's AveragedModel with an EMA whose decay warms up from 0."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def warmup_ema(decay: float):
    """AveragedModel's multi_avg_fn: ema <- lerp(ema, current, 1 - d_n), where
    d_n = min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's ExponentialMovingAverage
    with num_updates): early averages follow G closely instead of freezing its random init."""

    @torch.no_grad()
    def update(ema: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        if torch.is_floating_point(ema[0]):
            d = torch.clamp((1 + n) / (10 + n), max=decay)
            # ema += (1 - d) * (current - ema), with d a tensor on the device: no host sync (a
            # 0-dim tensor as lerp's weight would be read to the host, once per G step)
            step = torch._foreach_sub(current, ema)
            torch._foreach_mul_(step, (1 - d).to(ema[0].dtype))
            torch._foreach_add_(ema, step)
        else:  # integer buffers (BN's num_batches_tracked): the latest value
            for e, c in zip(ema, current, strict=True):
                e.copy_(c)

    return update


def make_ema(module: nn.Module, decay: float) -> AveragedModel:
    """A frozen copy of module that update_parameters(module) moves toward it; use_buffers=True
    averages BN running statistics too, so the copy samples in eval mode on its own."""
    ema = AveragedModel(module, multi_avg_fn=warmup_ema(decay), use_buffers=True)
    return ema.requires_grad_(False)  # never trained (and never wrapped in DDP)
