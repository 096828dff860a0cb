"""The VAE's test likelihood: the negative ELBO and the importance-weighted NLL bound, in nats.

-log p(x) <= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x)   (Burda et al. 2016,
eq. 8). K = 1 gives the negative ELBO in expectation; the bound tightens as K grows. Both use the
decoder likelihood the model trained with (genlab.losses.elbo.VAELoss.nll).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal
from torchmetrics.functional.image import peak_signal_noise_ratio

from genlab.losses.elbo import VAELoss, kl_normal
from genlab.models.vae import VAE


@torch.no_grad()
def vae_bounds(
    vae: VAE, x: torch.Tensor, loss: VAELoss, k: int, y: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Per image (B,): neg_elbo (K-sample reconstruction + analytic KL) and iw_nll (K samples).
    y: a conditional VAE's class ids; then both bound -log p(x | y)."""
    mu, logvar = vae.encode(x, y)  # (B, D)
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn(k, *mu.shape, device=x.device)  # (K, B, D)
    y_k = y.repeat(k) if y is not None else None  # z.flatten(0, 1) is K blocks of the B images
    logits = vae.decode(z.flatten(0, 1), y_k)  # (K * B, C, H, W)
    x_k = x.expand(k, *x.shape).flatten(0, 1)
    log_px_z = -loss.nll(logits, x_k).view(k, -1)  # (K, B)
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)  # the training objective's prior: N(0, I)
    log_qz = Normal(mu, std).log_prob(z).sum(-1)
    log_w = log_px_z + log_pz - log_qz  # (K, B)
    return {
        "neg_elbo": -log_px_z.mean(0) + kl_normal(mu, logvar),
        "iw_nll": -(torch.logsumexp(log_w, 0) - math.log(k)),
    }


@torch.no_grad()
def vae_test_metrics(
    vae: VAE, images: torch.Tensor, loss: VAELoss, k: int, batch_size: int, labels=None
) -> dict[str, float]:
    """Mean over uint8 test images (N, C, H, W): neg_elbo, iw_nll (nats) and recon PSNR (dB);
    labels: the images' (N,) class ids, for a conditional VAE (its bounds are of p(x | y)).
    Sums stay on the model's device: one host sync at the end, not three per batch (on MPS, which
    has no float64, they are kept on the CPU)."""
    device = next(vae.parameters()).device
    per_image = max(1, batch_size // k)  # K decodes per image: keep K * B near batch_size
    sums_on = torch.device("cpu") if device.type == "mps" else device
    totals = torch.zeros(3, device=sums_on, dtype=torch.float64)  # neg_elbo, iw_nll, psnr
    g = torch.Generator().manual_seed(0)  # a fixed binarisation of the test set
    for i in range(0, len(images), per_image):
        x = images[i : i + per_image].float() / 255
        if loss.binarize:
            x = torch.bernoulli(x, generator=g)
        x = x.to(device)
        y = labels[i : i + per_image].to(device) if vae.num_classes else None
        bounds = vae_bounds(vae, x, loss, k, y)
        mean = loss.mean(vae.decode(vae.encode(x, y)[0], y))  # reconstruction at z = mu
        psnr = peak_signal_noise_ratio(mean, x, data_range=1.0, reduction="none", dim=(1, 2, 3))
        batch = torch.stack([bounds["neg_elbo"].sum(), bounds["iw_nll"].sum(), psnr.sum()])
        totals += batch.to(sums_on)
    neg_elbo, iw_nll, psnr = (totals / len(images)).tolist()
    return {"neg_elbo": neg_elbo, "iw_nll": iw_nll, "psnr": psnr}
