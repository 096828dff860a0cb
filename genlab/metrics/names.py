"""The metrics by name: what each family's evaluation returns, which way is better, which a run
prints as it ends. Without torch, so the sweep report and the search can use them."""

from __future__ import annotations

METRICS = (  # the quality metrics _measure can return (beside CHECKS and ERRORS)
    "fid", "kid", "kid_std", "precision", "recall", "classifier_score",
    "class_accuracy", "min_class_share", "neg_elbo", "iw_nll", "psnr",
)  # fmt: skip
CHECKS = ("memorized_share", "train_distance_ratio")  # the memorisation check: no better way
ERRORS = tuple(  # each headline metric's evaluation noise (metrics/noise.py)
    f"{m}_se" for m in ("fid", "precision", "recall", "class_accuracy", "neg_elbo", "iw_nll")
)


MOVED_BY = {  # an evaluation setting -> the only metrics it moves (a setting not here: all)
    "iw_samples": ("iw_nll", "iw_nll_se"),
    "likelihood": ("neg_elbo", "iw_nll", "neg_elbo_se", "iw_nll_se"),
    "pr_k": ("precision", "recall", "precision_se", "recall_se"),
    "kid_subset_size": ("kid", "kid_std"),
    "train_images": CHECKS,
    "bootstrap": ("fid_se",),
}

HEADLINE = {  # what a run prints as it ends, per family
    "vae": ("neg_elbo", "iw_nll", "fid"),
    "cvae": ("class_accuracy", "neg_elbo", "iw_nll", "fid"),
    "gan": ("fid", "recall", "precision", "min_class_share"),
    "cgan": ("class_accuracy", "fid", "recall"),
}


def headline(metrics: dict[str, float], family: str, measured: dict | None = None) -> str:
    """One line of a run's main numbers with their evaluation's standard errors, what measured
    them and what the nats bound, e.g. "fid 3.32 (se 0.05), recall 0.61 (measured in mnist-...)".
    """
    shown = [f"{k} {metrics[k]:.4g}" + (f" (se {metrics[k + '_se']:.2g})" if k + "_se" in metrics
             else "") for k in HEADLINE.get(family, ()) if k in metrics]  # fmt: skip
    measured = measured or {}
    said = [f"measured in {measured['network']}"] if measured.get("network") else []
    nats = (measured.get("settings") or {}).get("likelihood")
    said += [f"nats of the {nats}"] if nats and "neg_elbo" in metrics else []
    return ", ".join(shown) + (f" ({'; '.join(said)})" if said else "") if shown else ""


LOWER_IS_BETTER = ("fid", "kid", "neg_elbo", "iw_nll", "loss", "recon", "kl", "train_s")
HIGHER_IS_BETTER = (
    "precision",
    "recall",
    "classifier_score",
    "class_accuracy",
    "min_class_share",
    "psnr",
)  # fmt: skip  (others, e.g. d_real or an adversarial g_loss, have no better direction)


def direction(name: str) -> bool | None:
    """True: higher is better; False: lower; None: neither (memorized_share, an error, d_real)."""
    if name in LOWER_IS_BETTER:
        return False
    return True if name in HIGHER_IS_BETTER else None


def higher_is_better(name: str) -> bool:
    """precision, recall, class accuracy, ...: higher; FID, KID, the VAE's nats: lower."""
    return name not in LOWER_IS_BETTER


def metrics_of(family: str) -> tuple[str, ...]:
    """The metric names a model family's evaluation returns (data with one class: fewer)."""
    vae = ("neg_elbo", "iw_nll", "psnr")
    extra = {"vae": vae, "cvae": ("class_accuracy", *vae), "cgan": ("class_accuracy",), "gan": ()}
    return (*METRICS[:6], "min_class_share", *extra[family])
