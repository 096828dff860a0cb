"""Convolutional bodies, sized from the image shape (28x28x1, 32x32x3, 64x64x3, ...).

Symmetric, as the DCGAN recipe asks: the encoder halves the resolution with stride-2 convolutions
while doubling channels; the decoder mirrors it with stride-2 transposed convolutions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def levels(image_shape) -> int:
    """How many times to halve: while the height is even and above 4 (28 -> 14 -> 7,
    32 -> 16 -> 8 -> 4); the width must halve as often."""
    _, h, w = image_shape
    p, size = 0, h
    while size % 2 == 0 and size > 4:
        size, p = size // 2, p + 1
    if p == 0 or w % 2**p:
        raise ValueError(
            f"images of {h}x{w} cannot be halved alike in both sides; the CNN needs an even "
            "side above 4, the other a multiple of the same power of 2 (28x28, 32x32, 64x64)"
        )
    return p


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, F): p stride-2 convs, channels c, 2c, 4c, ..., then flatten; each
    level adds blocks - 1 3x3 convs at its resolution (deeper, same shape); fc > 0 ends with a
    fully connected layer of that width (F = fc), as InfoGAN's MNIST networks do."""

    def __init__(
        self, image_shape, channels: int, act: Callable[[], nn.Module], blocks: int, fc: int
    ):
        super().__init__()
        c, h, w = image_shape
        p = levels(image_shape)
        layers, width = [], c
        for i in range(p):
            out = channels * 2**i
            layers += [nn.Conv2d(width, out, 4, 2, 1), act()]
            for _ in range(blocks - 1):
                layers += [nn.Conv2d(out, out, 3, 1, 1), act()]
            width = out
        layers.append(nn.Flatten())
        self.out_dim = width * (h >> p) * (w >> p)  # state size: (c * 2^(p-1)) x h/2^p x w/2^p
        if fc:
            layers += [nn.Linear(self.out_dim, fc), act()]
            self.out_dim = fc
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """(B, in_dim) -> (B, C, H, W) pre-activation image; mirrors ConvEncoder (fc > 0: a fully
    connected layer of that width first; blocks - 1 3x3 convs at each level before its stride-2
    transposed conv)."""

    def __init__(
        self,
        in_dim: int,
        image_shape,
        channels: int,
        batchnorm: bool,
        act: Callable[[], nn.Module],
        blocks: int,
        fc: int,
    ):
        super().__init__()
        c, h, w = image_shape
        p = levels(image_shape)
        top = channels * 2 ** (p - 1)
        norm1 = nn.BatchNorm1d if batchnorm else nn.Identity
        norm2 = nn.BatchNorm2d if batchnorm else nn.Identity
        layers = []
        if fc:
            layers += [nn.Linear(in_dim, fc), norm1(fc), act()]
            in_dim = fc
        layers += [
            nn.Linear(in_dim, top * (h >> p) * (w >> p)),
            norm1(top * (h >> p) * (w >> p)),  # the critical BN after G's first layers
            act(),
            nn.Unflatten(1, (top, h >> p, w >> p)),  # state size: top x h/2^p x w/2^p
        ]
        width = top
        for i in reversed(range(p)):
            for _ in range(blocks - 1):
                layers += [nn.Conv2d(width, width, 3, 1, 1), norm2(width), act()]
            if i == 0:
                break
            out = channels * 2 ** (i - 1)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1), norm2(out), act()]
            width = out
        layers.append(nn.ConvTranspose2d(width, c, 4, 2, 1))  # state size: c x h x w
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
