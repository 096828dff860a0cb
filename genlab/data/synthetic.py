"""Small generated labelled images: no files, for tests and dry runs.

Class k is a bright bar at an angle of k * 180 / num_classes degrees plus a little noise, so the
classes differ visibly and a model can learn them in a few steps.
"""

from __future__ import annotations

import math

import torch


def synthetic_images(size: int, image_shape, num_classes: int, seed: int = 0):
    """Returns (images uint8 (N, C, H, W), labels int64 (N,))."""
    c, h, w = image_shape
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(size) % num_classes
    labels = labels[torch.randperm(size, generator=g)]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    angle = labels.float() * math.pi / num_classes  # (N,)
    # distance of each pixel from the line through the centre at that angle
    dist = (xs * torch.sin(angle)[:, None, None] - ys * torch.cos(angle)[:, None, None]).abs()
    bar = torch.exp(-((dist / 0.15) ** 2))  # (N, H, W)
    noise = 0.1 * torch.rand(size, c, h, w, generator=g)
    images = (bar[:, None].expand(size, c, h, w) + noise).clamp(0, 1)
    return (images * 255).round().to(torch.uint8), labels
