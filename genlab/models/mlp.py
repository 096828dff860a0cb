"""Fully connected bodies: image -> features, and latent -> image."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


class MLPEncoder(nn.Module):
    """(B, C, H, W) -> (B, hidden): `layers` Linear + activation blocks on the flattened image."""

    def __init__(self, image_shape, hidden: int, layers: int, act: Callable[[], nn.Module]):
        super().__init__()
        blocks, width = [nn.Flatten()], math.prod(image_shape)
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), act()]
            width = hidden
        self.net = nn.Sequential(*blocks)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPDecoder(nn.Module):
    """(B, in_dim) -> (B, C, H, W) pre-activation image."""

    def __init__(
        self,
        in_dim: int,
        image_shape,
        hidden: int,
        layers: int,
        batchnorm: bool,
        act: Callable[[], nn.Module],
    ):
        super().__init__()
        blocks, width = [], in_dim
        for i in range(layers):
            blocks.append(nn.Linear(width, hidden))
            if batchnorm and i == 0:  # the critical BN: right after G's first layer (CS4243 tricks)
                blocks.append(nn.BatchNorm1d(hidden))
            blocks.append(act())
            width = hidden
        blocks += [nn.Linear(width, math.prod(image_shape)), nn.Unflatten(1, tuple(image_shape))]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
