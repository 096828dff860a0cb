"""Images from a step (trained or training): batched samples as uint8, and latent interpolation
grids. What the evaluator, `genlab sample` and the Python API draw with."""

from __future__ import annotations

import torch

from genlab.trainers.step import Step


def balanced_labels(n: int, num_classes: int) -> torch.Tensor:
    """0, 1, ..., C-1, 0, 1, ...: every class n / C times (n divisible by C)."""
    return torch.arange(n) % num_classes


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


@torch.no_grad()
def sample(step: Step, n: int, labels=None, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """n images as uint8 (N, C, H, W) on the CPU, drawn from the prior with a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch_size):
        y = labels[i : i + batch_size] if labels is not None else None
        out.append(to_uint8(step.sample(min(batch_size, n - i), y, generator=g)).cpu())
    return torch.cat(out)


@torch.no_grad()
def interpolation(step: Step, rows: int = 8, steps: int = 10, seed: int = 0) -> torch.Tensor:
    """rows x steps images in [0, 1]: each row walks linearly from one prior draw to another
    (a cGAN keeps the class of the row fixed: row r is class r mod C)."""
    g = torch.Generator().manual_seed(seed)
    latent, device = step.latent_dim, step.fixed_z.device
    ends = step.prior.sample(2 * rows, latent, generator=g).view(2, rows, 1, latent)
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = ((1 - t) * ends[0] + t * ends[1]).reshape(rows * steps, latent).to(device)
    labels = None
    if step.num_classes:
        labels = (torch.arange(rows) % step.num_classes).repeat_interleave(steps)
    return step.decode(z, labels)
