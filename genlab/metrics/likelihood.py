"""The VAE's test likelihood: the negative ELBO and the importance-weighted NLL bound, in nats,
each with its standard error over the test images.

-log p(x) <= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x)   (Burda et al. 2016,
eq. 8). K = 1 gives the negative ELBO in expectation; the bound tightens as K grows. Both use the
decoder likelihood the model trained with (genlab.losses.elbo.VAELoss.nll).

Nats only where they bound a likelihood: a Bernoulli decoder is a distribution over binary
pixels, so it is measured on a fixed binarisation of the test set (seed 0), whether it trained
on grey levels or dynamically binarised ones (binarize=true, the literature's protocol: Burda et
al. 2016 report 86.76 nats for a one-layer VAE). On grey levels its "nats" would bound nothing.
The continuous Bernoulli and the Gaussian are densities of grey levels: their nats are measured
on the test images as they are. PROTOCOL names which, for the record and the headline.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from genlab.losses.elbo import VAELoss, kl_normal
from genlab.models.vae import VAE

PROTOCOL = {  # what the nats are a bound on, by decoder (VAELoss.recon)
    "bernoulli": "binarized test set (seed 0)",
    "continuous_bernoulli": "grey-level test set (continuous Bernoulli density)",
    "gaussian": "grey-level test set (Gaussian density)",
}


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
    """Mean over uint8 test images (N, C, H, W): neg_elbo, iw_nll (nats, with their standard
    errors neg_elbo_se, iw_nll_se) and recon PSNR (dB, of the grey-level images); labels: the
    images' (N,) class ids, for a conditional VAE (its bounds are of p(x | y)). Sums stay on the
    model's device: one host sync at the end, not one per batch (on MPS, which has no float64,
    they are kept on the CPU)."""
    device = next(vae.parameters()).device
    per_image = max(1, batch_size // k)  # K decodes per image: keep K * B near batch_size
    sums_on = torch.device("cpu") if device.type == "mps" else device
    totals = torch.zeros(5, device=sums_on, dtype=torch.float64)  # the bounds, their squares, psnr
    g = torch.Generator().manual_seed(0)  # a fixed binarisation of the test set
    for i in range(0, len(images), per_image):
        grey = images[i : i + per_image].float() / 255
        x = torch.bernoulli(grey, generator=g) if loss.recon == "bernoulli" else grey
        x, grey = x.to(device), grey.to(device)
        y = labels[i : i + per_image].to(device) if vae.num_classes else None
        bounds = vae_bounds(vae, x, loss, k, y)
        mean = loss.mean(vae.decode(vae.encode(grey, y)[0], y))  # reconstruction at z = mu
        psnr = -10 * (mean - grey).square().mean(dim=(1, 2, 3)).log10()  # dB, pixels in [0, 1]
        nats = torch.stack([bounds["neg_elbo"], bounds["iw_nll"]]).double()
        batch = torch.cat([nats.sum(1), nats.square().sum(1), psnr.double().sum()[None]])
        totals += batch.to(sums_on)
    n = len(images)
    neg_elbo, iw_nll, sq_elbo, sq_iw, psnr = (totals / n).tolist()
    se = lambda mean, square: math.sqrt(max(square - mean**2, 0.0) / max(n - 1, 1))  # noqa: E731
    return {"neg_elbo": neg_elbo, "iw_nll": iw_nll, "psnr": psnr,
            "neg_elbo_se": se(neg_elbo, sq_elbo), "iw_nll_se": se(iw_nll, sq_iw)}  # fmt: skip
