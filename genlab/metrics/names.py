"""The metrics by name: what each family's evaluation returns, which way is better, which a run
prints as it ends. Without torch, so the sweep report and the search can use them."""

from __future__ import annotations

METRICS = (  # every name _measure can return
    "fid", "kid", "kid_std", "precision", "recall", "classifier_score",
    "class_accuracy", "min_class_share", "neg_elbo", "iw_nll", "psnr",
)  # fmt: skip


HEADLINE = {  # what a run prints as it ends, per family
    "vae": ("neg_elbo", "iw_nll", "fid"),
    "cvae": ("class_accuracy", "neg_elbo", "iw_nll", "fid"),
    "gan": ("fid", "recall", "precision", "min_class_share"),
    "cgan": ("class_accuracy", "fid", "recall"),
}


def headline(metrics: dict[str, float], family: str, measured: dict | None = None) -> str:
    """One line of a run's main numbers, e.g. "fid 3.32, recall 0.61 (mnist-0123abcd4567)"."""
    shown = [f"{k} {metrics[k]:.4g}" for k in HEADLINE.get(family, ()) if k in metrics]
    by = f" (measured in {measured['network']})" if measured and measured.get("network") else ""
    return ", ".join(shown) + by if shown else ""


LOWER_IS_BETTER = ("fid", "kid", "neg_elbo", "iw_nll", "loss", "recon", "kl", "train_s")
HIGHER_IS_BETTER = (
    "precision",
    "recall",
    "classifier_score",
    "class_accuracy",
    "min_class_share",
    "psnr",
)  # fmt: skip  (others, e.g. d_real or an adversarial g_loss, have no better direction)


def higher_is_better(name: str) -> bool:
    """precision, recall, class accuracy, ...: higher; FID, KID, the VAE's nats: lower."""
    return name not in LOWER_IS_BETTER


def metrics_of(family: str) -> tuple[str, ...]:
    """The metric names a model family's evaluation returns (data with one class: fewer)."""
    vae = ("neg_elbo", "iw_nll", "psnr")
    extra = {"vae": vae, "cvae": ("class_accuracy", *vae), "cgan": ("class_accuracy",), "gan": ()}
    return (*METRICS[:6], "min_class_share", *extra[family])
