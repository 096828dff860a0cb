"""Checks of a resolved config (a plain dict) before any work: every value genlab cannot run is
refused in one line that names the key, the value and what is allowed."""

from __future__ import annotations

from genlab.data import DATASETS
from genlab.losses import GAN_LOSSES, VAE_LOSSES
from genlab.models import ARCHS
from genlab.priors import PRIORS
from genlab.trainers.guards import NAN_POLICIES
from genlab.trainers.precision import PRECISIONS

MODELS = ("vae", "gan", "cgan")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZER_IMPLS = ("plain", "foreach", "fused")


class ConfigError(ValueError):
    """A value genlab cannot run; the message names the key, the value and what is allowed."""


def one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value} is not known; choose one of {', '.join(allowed)}")


def positive(key: str, value, kind=int, zero_ok=False) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        what = "an integer" if kind is int else "a number"
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{key}={value} is not allowed; it must be {what} {bound}")


def validate(c: dict) -> None:
    """Stops before any work on a value genlab cannot run, in one line."""
    try:
        _validate(c)
    except (KeyError, TypeError) as e:  # a key deleted with ~key, or a group set to a scalar
        raise ConfigError(
            f"the config lacks a key genlab needs ({type(e).__name__}: {e})"
        ) from None


def _validate(c: dict) -> None:
    one_of("model", c["model"]["name"], MODELS)
    one_of("arch", c["arch"]["name"], ARCHS)
    one_of("data", c["data"]["name"], DATASETS)
    one_of("prior", c["prior"]["name"], PRIORS)
    one_of("device", c["device"]["name"], DEVICES)
    d = c["device"]  # fast paths: `auto` (or a missing key) is the device's default
    one_of("device.precision", str(d.get("precision", "auto")), (*PRECISIONS, "auto"))
    one_of("device.optimizer_impl", d.get("optimizer_impl", "auto"), (*OPTIMIZER_IMPLS, "auto"))
    for key in ("compile", "channels_last"):
        if d.get(key, "auto") not in (True, False, "auto"):
            raise ConfigError(f"device.{key}={d[key]} is not allowed; choose true, false or auto")
    check_fit(c)
    positive("model.latent_dim", c["model"]["latent_dim"])
    positive("data.batch_size", c["data"]["batch_size"])
    positive("optimizer.lr", c["optimizer"]["lr"], float)
    t = c["trainer"]
    positive("trainer.epochs", t["epochs"], zero_ok=True)
    for key in ("log_every", "checkpoint_every", "image_every", "g_steps", "d_steps"):
        positive(f"trainer.{key}", t[key])
    for key in ("max_steps", "batches_per_epoch"):
        if t.get(key) is not None:
            positive(f"trainer.{key}", t[key])
    health = t.get("health") or {}
    if health.get("window") is not None:
        positive("trainer.health.window", health["window"])
        positive("trainer.health.d_loss_below", health["d_loss_below"], float, zero_ok=True)
    if c.get("threads") is not None:
        positive("threads", c["threads"])

    _validate_run(c)


VAE_LOSS_KEYS = ("beta", "recon_weight", "pixel_mean", "binarize")
SMOOTHED = tuple(k for k, v in GAN_LOSSES.items() if v.smoothing)  # losses with a real-label target


def check_fit(c: dict) -> None:
    """Choices that cannot train together, refused in one line naming both and what is allowed."""
    family, loss = c["model"]["name"], c["loss"]
    losses = VAE_LOSSES if family == "vae" else tuple(GAN_LOSSES)
    if loss["name"] not in losses:
        raise ConfigError(
            f"model={family} cannot train with loss={loss['name']}; "
            f"with model={family} choose loss from {', '.join(losses)}"
        )
    keys = VAE_LOSS_KEYS if family == "vae" else ("label_smoothing", "gp_weight")
    extra = sorted(set(loss) - {"name", *keys})
    if extra:
        raise ConfigError(
            f"loss.{extra[0]} is not a setting of loss={loss['name']}; "
            f"its settings are {', '.join(keys)}"
        )
    if family == "vae":
        _check_vae(c)
    else:
        _check_gan_loss(loss)
    prior, d = c["prior"], c["data"]
    if prior["name"] == "uniform" and not prior["low"] < prior["high"]:
        raise ConfigError(
            f"prior.low={prior['low']} with prior.high={prior['high']} is not allowed; "
            "prior.low must be below prior.high (e.g. 0 and 1, or -1 and 1)"
        )
    if d["name"] == "image_folder" and not d.get("path"):
        raise ConfigError("data=image_folder needs data.path=<a folder of images>")
    if "image_size" in d:
        positive("data.image_size", d["image_size"])
    if d.get("channels", 3) not in (1, 3):
        raise ConfigError(f"data.channels={d['channels']} is not allowed; choose 1 or 3")


def _check_vae(c: dict) -> None:
    loss, prior = c["loss"], c["prior"]["name"]
    if prior != "normal":
        raise ConfigError(
            f"model=vae cannot use prior={prior}: its analytic KL assumes N(0, I); "
            "with model=vae choose prior=normal"
        )
    positive("loss.beta", loss.get("beta", 1.0), float, zero_ok=True)
    positive("loss.recon_weight", loss.get("recon_weight", 1.0), float)
    if loss.get("binarize") and loss["name"] != "bernoulli":
        raise ConfigError(
            f"loss.binarize=true cannot go with loss={loss['name']}: binarisation feeds a "
            "Bernoulli decoder; choose loss=bernoulli or loss.binarize=false"
        )
    for key in ("g_steps", "d_steps"):
        if c["trainer"][key] != 1:
            raise ConfigError(
                f"trainer.{key}={c['trainer'][key]} cannot go with model=vae (one network); "
                f"it applies to model=gan or cgan; with model=vae keep trainer.{key}=1"
            )


def _check_gan_loss(loss: dict) -> None:
    name, smoothing = loss["name"], loss.get("label_smoothing", 0.0)
    if not isinstance(smoothing, int | float) or not 0 <= smoothing < 1:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} is not allowed; it must be in [0, 1) (e.g. 0.1)"
        )
    if smoothing and name not in SMOOTHED:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} cannot go with loss={name}: its critic has no "
            f"real-label target; label smoothing works with loss={', '.join(SMOOTHED)}"
        )
    if "gp_weight" in loss and name != "wgan_gp":
        raise ConfigError(
            f"loss.gp_weight cannot go with loss={name}: the gradient penalty belongs to "
            "loss=wgan_gp"
        )
    positive("loss.gp_weight", loss.get("gp_weight", 0.0), float, zero_ok=True)


def _validate_run(c: dict) -> None:
    """Types and ranges the checks above leave open: seed, switches, optimiser, sizes."""
    if not isinstance(c["seed"], int) or isinstance(c["seed"], bool) or c["seed"] < 0:
        raise ConfigError(f"seed={c['seed']} is not allowed; it must be an integer >= 0")
    if c.get("objective") is not None:
        one_of("objective", c["objective"], objectives(c["model"]["name"]))
    t = c["trainer"]
    one_of("trainer.nan_policy", t.get("nan_policy", "stop"), NAN_POLICIES)
    if not isinstance(t["progress"], bool):
        raise ConfigError(f"trainer.progress={t['progress']} is not allowed; use true or false")
    betas = c["optimizer"]["betas"]
    if not (
        isinstance(betas, list)
        and len(betas) == 2
        and all(
            isinstance(b, int | float) and not isinstance(b, bool) and 0 <= b < 1 for b in betas
        )
    ):
        raise ConfigError(f"optimizer.betas={betas} is not allowed; give two numbers in [0, 1)")
    positive("optimizer.weight_decay", c["optimizer"].get("weight_decay", 0.0), float, True)
    _validate_gan_extras(c)
    for key in ("hidden", "layers", "channels", "blocks"):
        if key in c["arch"]:
            positive(f"arch.{key}", c["arch"][key])
    for key in ("size", "num_classes"):
        if key in c["data"]:
            positive(f"data.{key}", c["data"][key])


def _validate_gan_extras(c: dict) -> None:
    """The schedule, D's learning rate (TTUR), G's EMA decay and spectral norm."""
    from genlab.trainers.schedules import SCHEDULES

    o, m = c["optimizer"], c["model"]
    one_of("optimizer.schedule", o.get("schedule", "constant"), SCHEDULES)
    if o.get("lr_d") is not None:
        positive("optimizer.lr_d", o["lr_d"], float)
    ema = m.get("ema")
    number = isinstance(ema, int | float) and not isinstance(ema, bool)
    if ema is not None and not (number and 0 <= ema < 1):
        raise ConfigError(f"model.ema={ema} is not allowed; give a decay in [0, 1) or null")
    if not isinstance(m.get("spectral_norm", False), bool):
        raise ConfigError(f"model.spectral_norm={m['spectral_norm']} is not allowed; true or false")


def objectives(family: str) -> tuple[str, ...]:
    """What `objective=` may name: a final metric or a last training scalar of the family."""
    from genlab.metrics.evaluate import METRICS

    scalars = (
        ("loss", "recon", "kl") if family == "vae" else ("d_loss", "g_loss", "d_real", "d_fake")
    )
    return (*METRICS, *scalars)
