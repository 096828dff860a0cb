"""Checks of what a model family allows: its own keys (a VAE has no GAN settings), the losses
and priors it trains with, and the range of each family-only setting. Called by checks.validate.
"""

from __future__ import annotations

from genlab.config.values import one_of, positive
from genlab.errors import ConfigError

MODELS = ("vae", "cvae", "gan", "cgan")
VAES = ("vae", "cvae")  # trained on the ELBO
CONDITIONAL = ("cvae", "cgan")  # given the class: need labelled data
GAN_KEYS = ("name", "latent_dim", "g_steps", "d_steps", "ema", "spectral_norm", "minibatch_std",
            "health")  # fmt: skip
MODEL_KEYS = {  # what conf/model/<family>.yaml declares under `model:` (a test keeps them equal)
    "vae": ("name", "latent_dim", "activation"),
    "cvae": ("name", "latent_dim", "activation"),
    "gan": GAN_KEYS,
    "cgan": (*GAN_KEYS, "aux_classifier"),
}
OPTIMIZER_KEYS = {
    "vae": (),
    "cvae": (),
    "gan": ("lr_d",),
    "cgan": ("lr_d",),
}  # beyond conf/optimizer/'s
VAE_LOSS_KEYS = ("beta", "recon_weight", "pixel_mean", "binarize", "sigma")


def families_with(group: str, key: str) -> list[str]:
    """The model families that declare group.key (model or optimizer)."""
    table = MODEL_KEYS if group == "model" else OPTIMIZER_KEYS
    return [f for f, keys in table.items() if key in keys]


def check_model(c: dict) -> None:
    """Stops on a setting the chosen family does not have (one a preset, a recipe of another
    pair or a `+key=` brought in), then on choices and values the family cannot train with."""
    family = c["model"]["name"]
    one_of("model", family, MODELS)
    for group in ("model", "optimizer"):
        own = MODEL_KEYS[family] if group == "model" else OPTIMIZER_KEYS[family]
        shared = () if group == "model" else ("name", "lr", "betas", "weight_decay", "schedule")
        for key in c[group]:
            if key not in (*own, *shared):
                others = families_with(group, key)
                why = f"a setting of model={', '.join(others)}" if others else "no genlab setting"
                allowed = ", ".join(f"{group}.{k}" for k in (*shared, *own))
                raise ConfigError(
                    f"{group}.{key} does not apply to model={family} (it is {why}); "
                    f"model={family} has {allowed}"
                )
    positive("model.latent_dim", c["model"]["latent_dim"])
    check_loss(c)
    if family in VAES:
        _check_vae(c)
    else:
        _check_gan(c)


def check_loss(c: dict) -> None:
    """The loss fits the family, and has only its own settings."""
    from genlab.losses import GAN_LOSSES, VAE_LOSSES  # (the key tables above need no torch)

    family, loss = c["model"]["name"], c["loss"]
    losses = VAE_LOSSES if family in VAES else tuple(GAN_LOSSES)
    if loss["name"] not in losses:
        raise ConfigError(
            f"model={family} cannot train with loss={loss['name']}; "
            f"with model={family} choose loss from {', '.join(losses)}"
        )
    keys = VAE_LOSS_KEYS if family in VAES else ("label_smoothing", "gp_weight")
    extra = sorted(set(loss) - {"name", *keys})
    if extra:
        raise ConfigError(
            f"loss.{extra[0]} is not a setting of loss={loss['name']}; "
            f"its settings are {', '.join(keys)}"
        )


def _check_vae(c: dict) -> None:
    from genlab.models import ACTIVATIONS

    loss, prior, family = c["loss"], c["prior"]["name"], c["model"]["name"]
    one_of("model.activation", c["model"]["activation"], ACTIVATIONS)
    if prior != "normal":
        raise ConfigError(
            f"model={family} cannot use prior={prior}: its KL term is to N(0, I) (a Gaussian "
            f"q(z|x) has no finite KL to a uniform prior); with model={family} choose prior=normal"
        )
    positive("loss.beta", loss["beta"], float, zero_ok=True)
    positive("loss.recon_weight", loss["recon_weight"], float)
    if loss["name"] == "gaussian":
        positive("loss.sigma", loss["sigma"], float)
    elif "sigma" in loss:
        raise ConfigError(
            f"loss.sigma cannot go with loss={loss['name']}: it is the standard deviation of "
            "loss=gaussian's decoder"
        )
    if loss["binarize"] and loss["name"] != "bernoulli":
        raise ConfigError(
            f"loss.binarize=true cannot go with loss={loss['name']}: binarisation feeds a "
            "Bernoulli decoder; choose loss=bernoulli or loss.binarize=false"
        )


def _check_gan(c: dict) -> None:
    """The loss's settings, D's learning rate (TTUR), G's EMA decay, D's extras (spectral norm,
    minibatch std, auxiliary classifier), the update counts and the health watch."""
    from genlab.losses import GAN_LOSSES

    smoothed = tuple(k for k, v in GAN_LOSSES.items() if v.smoothing)  # a real-label target
    m, loss, o = c["model"], c["loss"], c["optimizer"]
    name, smoothing = loss["name"], loss.get("label_smoothing", 0.0)
    if not isinstance(smoothing, int | float) or not 0 <= smoothing < 1:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} is not allowed; it must be in [0, 1) (e.g. 0.1)"
        )
    if smoothing and name not in smoothed:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} cannot go with loss={name}: its critic has no "
            f"real-label target; label smoothing works with loss={', '.join(smoothed)}"
        )
    if "gp_weight" in loss and name != "wgan_gp":
        raise ConfigError(
            f"loss.gp_weight cannot go with loss={name}: the gradient penalty belongs to "
            "loss=wgan_gp"
        )
    positive("loss.gp_weight", loss.get("gp_weight", 0.0), float, zero_ok=True)
    if c["data"]["batch_size"] < 2:
        raise ConfigError(
            f"data.batch_size={c['data']['batch_size']} cannot go with model={m['name']}: "
            "G's BatchNorm needs at least 2 images per batch"
        )
    for key in ("g_steps", "d_steps"):
        positive(f"model.{key}", m[key])
    if o["lr_d"] is not None:
        positive("optimizer.lr_d", o["lr_d"], float)
    ema = m["ema"]
    number = isinstance(ema, int | float) and not isinstance(ema, bool)
    if ema is not None and not (number and 0 <= ema < 1):
        raise ConfigError(f"model.ema={ema} is not allowed; give a decay in [0, 1) or null")
    if not isinstance(m["spectral_norm"], bool):
        raise ConfigError(f"model.spectral_norm={m['spectral_norm']} is not allowed; true or false")
    aux = m.get("aux_classifier", 0)
    if not (isinstance(aux, int | float) and not isinstance(aux, bool) and aux >= 0):
        raise ConfigError(f"model.aux_classifier={aux} is not allowed; a loss weight >= 0 (0: off)")
    group = m["minibatch_std"]
    if not (isinstance(group, int) and not isinstance(group, bool) and group >= 0):
        raise ConfigError(
            f"model.minibatch_std={group} is not allowed; a group size (an integer >= 1) or 0 (off)"
        )
    health = m["health"]
    if health["window"] is not None:
        positive("model.health.window", health["window"])
        positive("model.health.d_loss_below", health["d_loss_below"], float, zero_ok=True)
