"""Images from a step (trained or training): batched samples as uint8, and latent interpolation
grids. What the evaluator, `genlab sample` and the Python API draw with."""

from __future__ import annotations

import os

import torch

from genlab.errors import ConfigError
from genlab.trainers.step import Step

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed's range


def sample_request(
    step: Step, n, labels=None, seed=0, image_shape=None, key: str = "label"
) -> torch.Tensor | None:
    """Checks a request for n images, as `genlab sample` and the Python API both take it, and
    returns the class ids to draw: a cGAN's or cVAE's labels (one id for all, one per image, or
    None: balanced); None for a model without classes. Bad values are one line, before any work."""
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ConfigError(f"n={n!r} is not allowed; it must be an integer > 0")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed!r} is not allowed; it must be an integer in 0 to 2^63 - 1")
    if image_shape is not None:
        need, have = n * int(torch.tensor(image_shape).prod()), _memory_bytes()
        if have and need > have // 2:
            raise ConfigError(
                f"n={n} images would need {need / 2**30:.1f} GiB, more than half of this "
                f"machine's {have / 2**30:.1f} GiB; sample fewer at a time (seed=... for more)"
            )
    classes = step.num_classes
    if not classes:
        if labels is not None:
            raise ConfigError(f"{key}={labels!r} needs a cGAN or cVAE run; this run has no classes")
        return None
    if labels is None:
        return balanced_labels(n, classes)
    given = labels if isinstance(labels, torch.Tensor) else _ints(labels, classes, key)
    ids = torch.as_tensor(given)
    ids = ids.long().reshape(-1)
    ids = ids.expand(n) if ids.numel() == 1 else ids
    if isinstance(labels, int) and not 0 <= labels < classes:
        raise ConfigError(f"{key}={labels} is not a class; choose 0 to {classes - 1}")
    if ids.numel() != n or ids.min() < 0 or ids.max() >= classes:
        raise ConfigError(
            f"{key}={labels!r} is not allowed; give {n} class ids (or one) in 0 to {classes - 1}"
        )
    return ids


def _ints(labels, classes: int, key: str):
    values = labels if isinstance(labels, list | tuple) else [labels]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError(
            f"{key}={labels!r} is not allowed; class ids are integers in 0 to {classes - 1}"
        )
    return values


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


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
    (a cGAN or cVAE keeps the class of the row fixed: row r is class r mod C)."""
    g = torch.Generator().manual_seed(seed)
    latent, device = step.latent_dim, step.fixed_z.device
    ends = step.prior.sample(2 * rows, latent, generator=g).view(2, rows, 1, latent)
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = ((1 - t) * ends[0] + t * ends[1]).reshape(rows * steps, latent).to(device)
    labels = None
    if step.num_classes:
        labels = (torch.arange(rows) % step.num_classes).repeat_interleave(steps)
    return step.decode(z, labels)
