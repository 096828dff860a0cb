"""Frechet distance, KID and the classifier score of two sets of features.

The formulas are torchmetrics' (FrechetInceptionDistance, KernelInceptionDistance,
InceptionScore), written out here on features already computed, with the same float64
statistics and the same random subsets from the same global generator, so the numbers are the
ones torchmetrics gives (a test compares them). By hand because importing torchmetrics imports
scipy and matplotlib (about 620 modules and 126 MiB) into every training process that
evaluates, for four formulas of a few lines each.
"""

from __future__ import annotations

import torch


def frechet_from_stats(mu_r, cov_r, mu_f, cov_f) -> torch.Tensor:
    """FID of two Gaussians: ||mu_r - mu_f||^2 + Tr(S_r) + Tr(S_f) - 2 sum sqrt(eig(S_r S_f))."""
    root = torch.linalg.eigvals(cov_r @ cov_f).sqrt().real.sum(dim=-1)
    return (mu_r - mu_f).square().sum(dim=-1) + cov_r.trace() + cov_f.trace() - 2 * root


def gaussian_stats(features: torch.Tensor, weights: torch.Tensor | None = None):
    """Mean and unbiased covariance in float64, from the sums torchmetrics accumulates; weights:
    how many times each row counts (a bootstrap resample; they sum to the number of rows)."""
    x = features.double()
    w = torch.ones(len(x), dtype=x.dtype, device=x.device) if weights is None else weights.double()
    n = w.sum()
    mean = w @ x / n
    cov = ((x.T * w) @ x - n * torch.outer(mean, mean)) / (n - 1)
    return mean, cov


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) (Heusel et al. 2017), (N, D) each;
    float64 sums (on the CPU under MPS, which has none), the result in the features' dtype."""
    dtype = real.dtype
    if real.device.type == "mps":
        real, fake = real.cpu(), fake.cpu()
    fid = frechet_from_stats(*gaussian_stats(real), *gaussian_stats(fake))
    return fid.to(dtype).item()


def _poly_mmd(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 with the kernel (x.y / D + 1)^3 on one subset of each."""
    kernel = lambda a, b: (a @ b.T / a.shape[1] + 1.0) ** 3  # noqa: E731
    k_xx, k_yy, k_xy = kernel(f_real, f_real), kernel(f_fake, f_fake), kernel(f_real, f_fake)
    m = k_xx.shape[0]
    within = (k_xx.sum(dim=-1) - k_xx.diag()).sum() + (k_yy.sum(dim=-1) - k_yy.diag()).sum()
    return within / (m * (m - 1)) - 2 * k_xy.sum(dim=0).sum() / (m**2)


def kernel_distance(
    real: torch.Tensor, fake: torch.Tensor, subset_size: int = 1000, subsets: int = 100
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with a cubic polynomial kernel (Binkowski et al. 2018) over random
    subsets; (mean, std over the subsets)."""
    size = min(subset_size, len(real), len(fake))
    scores = []
    for _ in range(subsets):
        f_real = real[torch.randperm(len(real))[:size]]
        f_fake = fake[torch.randperm(len(fake))[:size]]
        scores.append(_poly_mmd(f_real, f_fake))
    scores = torch.stack(scores)
    return scores.mean().item(), scores.std(unbiased=False).item()


def classifier_score(logits: torch.Tensor, splits: int = 10) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception score (Salimans et al. 2016), our classifier;
    the mean over `splits` random parts."""
    logits = logits[torch.randperm(len(logits))]
    prob, log_prob = logits.softmax(dim=1), logits.log_softmax(dim=1)
    scores = [
        (p * (log_p - p.mean(dim=0, keepdim=True).log())).sum(dim=1).mean().exp()
        for p, log_p in zip(prob.chunk(splits), log_prob.chunk(splits), strict=True)
    ]
    return torch.stack(scores).mean().item()


def min_class_share(logits: torch.Tensor) -> float:
    """The rarest class's share of the samples by the classifier's predictions: mode coverage
    (1 / number of classes when balanced; near 0 for a GAN that dropped a class)."""
    counts = torch.bincount(logits.argmax(1).cpu(), minlength=logits.shape[1])
    return (counts.min() / counts.sum()).item()
