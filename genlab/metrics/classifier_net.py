"""A small CNN classifier per data set: its penultimate features are the space FID, KID and
precision/recall are measured in; its predictions give class accuracy and a classifier score.
Which one measures a run, and where it comes from: feature_networks.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data import ImageSet, ResidentLoader

FEATURES = 128  # width of the penultimate layer: the feature space of the distances


def block(i: int, o: int, k: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(i, o, k, stride, padding=1), nn.BatchNorm2d(o), nn.ReLU()]


class Classifier(nn.Module):
    """(B, C, H, W) in [0, 1] -> class logits; features() gives the (B, 128) penultimate layer."""

    def __init__(self, image_shape, num_classes: int):
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(  # small enough to train on a CPU in minutes
            *block(c, 32, 4, 2),  # state size: 32 x h/2 x w/2
            *block(32, 32, 3, 1),
            nn.MaxPool2d(2),  # state size: 32 x h/4 x w/4
            *block(32, 64, 3, 1),
            nn.MaxPool2d(2),  # state size: 64 x h/8 x w/8
            nn.Flatten(),
        )
        width = 64
        self.head = nn.Sequential(
            nn.Linear(width * (h // 8) * (w // 8), FEATURES), nn.BatchNorm1d(FEATURES), nn.ReLU()
        )
        self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, num_classes))
        self.image_shape, self.num_classes = tuple(image_shape), num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Random translations of up to `pixels` per image: the only augmentation."""
    b, _, h, w = x.shape
    t = (torch.rand(b, 2, generator=generator) * 2 - 1) * pixels
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2], theta[:, 1, 2] = t[:, 0] * 2 / w, t[:, 1] * 2 / h
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def train_classifier(
    train: ImageSet,
    epochs: int,
    device: torch.device,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
) -> Classifier:
    """Adam with a cosine learning-rate decay, on randomly shifted training images."""
    torch.manual_seed(seed)
    model = Classifier(train.image_shape, train.num_classes).to(device)
    loader = ResidentLoader(train, batch_size, device, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0)))
    )
    g = torch.Generator().manual_seed(seed)
    model.train()
    for e in range(epochs):
        for x, y in loader.epoch(e):
            loss = F.cross_entropy(model(_shift(x, g)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def predict(model: Classifier, images: torch.Tensor, batch_size: int = 500):
    """uint8 (N, C, H, W) -> (features (N, 128), logits (N, classes)), on the model's device."""
    device = next(model.parameters()).device
    feats, logits = [], []
    for i in range(0, len(images), batch_size):
        h = model.features(images[i : i + batch_size].to(device).float() / 255)
        feats.append(h)
        logits.append(model.out(h))
    return torch.cat(feats), torch.cat(logits)


def accuracy(model: Classifier, data: ImageSet) -> float:
    _, logits = predict(model, data.images)
    return (logits.argmax(1).cpu() == data.labels).float().mean().item()
