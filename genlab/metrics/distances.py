"""Frechet distance and KID between two sets of features, by torchmetrics.

torchmetrics' FrechetInceptionDistance and KernelInceptionDistance take any feature network; we
hand them features already computed (an identity "network"), so each image passes through the
classifier once and the same features also serve precision/recall and the classifier score.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance


class Precomputed(nn.Module):
    """The identity, sized: torchmetrics reads num_features to allocate its statistics."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


@contextmanager
def quiet():
    """KID and the score keep every feature in memory, as they must; torchmetrics warns so."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Metric `.*` will save all extracted features")
        yield


# one process computes the metrics (rank 0 under torchrun): never gather across processes
LOCAL = {"sync_on_compute": False}


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) (Heusel et al. 2017), (N, D) each."""
    if real.device.type == "mps":  # torchmetrics sums the statistics in float64, which MPS lacks
        real, fake = real.cpu(), fake.cpu()
    fid = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), **LOCAL).to(real.device)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    return fid.compute().item()


def kernel_distance(
    real: torch.Tensor, fake: torch.Tensor, subset_size: int = 1000, subsets: int = 100
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with a cubic polynomial kernel (Binkowski et al. 2018); (mean, std)."""
    size = min(subset_size, len(real), len(fake))
    with quiet():
        kid = KernelInceptionDistance(
            feature=Precomputed(real.shape[1]), subsets=subsets, subset_size=size, **LOCAL
        ).to(real.device)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    mean, std = kid.compute()
    return mean.item(), std.item()


def classifier_score(logits: torch.Tensor, splits: int = 10) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception score (Salimans et al. 2016), our classifier."""
    with quiet():
        score = InceptionScore(feature=Precomputed(logits.shape[1]), splits=splits, **LOCAL)
    score.update(logits)
    return score.compute()[0].item()


def min_class_share(logits: torch.Tensor) -> float:
    """The rarest class's share of the samples by the classifier's predictions: mode coverage
    (1 / number of classes when balanced; near 0 for a GAN that dropped a class)."""
    counts = torch.bincount(logits.argmax(1).cpu(), minlength=logits.shape[1])
    return (counts.min() / counts.sum()).item()
