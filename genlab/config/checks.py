"""Checks of a resolved config (a plain dict) before any work: every value genlab cannot run is
refused in one line that names the key, the value and what is allowed."""

from __future__ import annotations

import math

from genlab.data import DATASETS
from genlab.errors import ConfigError
from genlab.losses import GAN_LOSSES, VAE_LOSSES
from genlab.models import ACTIVATIONS, ARCHS
from genlab.models.priors import PRIORS
from genlab.trainers.nan_guard import NAN_POLICIES
from genlab.trainers.precision import PRECISIONS

MODELS = ("vae", "gan", "cgan")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZER_IMPLS = ("plain", "foreach", "fused")
OPTIMIZERS = ("adam",)
MAX_SEED = 2**63 - 1  # torch.manual_seed's range


def one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value} is not known; choose one of {', '.join(allowed)}")


def positive(key: str, value, kind=int, zero_ok=False) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        what = "an integer" if kind is int else "a number"
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{key}={value} is not allowed; it must be {what} {bound}")


def finite_everywhere(node, key: str = "") -> None:
    """No NaN or infinity anywhere in the config: a learning rate, a weight, a prior's bounds."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        name = f"{key}.{k}" if isinstance(node, dict) and key else (f"{key}[{k}]" if key else k)
        if isinstance(v, dict | list):
            finite_everywhere(v, name)
        elif isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{name}={v} is not allowed; it must be a finite number")


def validate(c: dict) -> None:
    """Stops before any work on a value genlab cannot run, in one line."""
    try:
        finite_everywhere(c)
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
    one_of("optimizer", c["optimizer"]["name"], OPTIMIZERS)
    one_of("device", c["device"]["name"], DEVICES)
    d = c["device"]  # fast paths: `auto` (or a missing key) is the device's default
    one_of("device.precision", str(d["precision"]), (*PRECISIONS, "auto"))
    one_of("device.optimizer_impl", d["optimizer_impl"], (*OPTIMIZER_IMPLS, "auto"))
    for key in ("compile", "channels_last"):
        if d[key] not in (True, False, "auto"):
            raise ConfigError(f"device.{key}={d[key]} is not allowed; choose true, false or auto")
    check_fit(c)
    positive("model.latent_dim", c["model"]["latent_dim"])
    if c["model"]["name"] == "vae":
        one_of("model.activation", c["model"]["activation"], ACTIVATIONS)
    positive("data.batch_size", c["data"]["batch_size"])
    positive("optimizer.lr", c["optimizer"]["lr"], float)
    t = c["trainer"]
    positive("trainer.epochs", t["epochs"], zero_ok=True)
    for key in ("log_every", "checkpoint_every", "image_every", "g_steps", "d_steps"):
        positive(f"trainer.{key}", t[key])
    for key in ("max_steps", "batches_per_epoch", "eval_every"):
        if t[key] is not None:
            positive(f"trainer.{key}", t[key])
    health = t["health"]
    if health["window"] is not None:
        positive("trainer.health.window", health["window"])
        positive("trainer.health.d_loss_below", health["d_loss_below"], float, zero_ok=True)
    if c["threads"] is not None:
        positive("threads", c["threads"])

    _validate_run(c)


VAE_LOSS_KEYS = ("beta", "recon_weight", "pixel_mean", "binarize", "sigma")
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
    seed = c["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed} is not allowed; it must be an integer in 0 to 2^63 - 1")
    if c["model"]["name"] != "vae" and c["data"]["batch_size"] < 2:
        raise ConfigError(
            f"data.batch_size={c['data']['batch_size']} cannot go with model="
            f"{c['model']['name']}: G's BatchNorm needs at least 2 images per batch"
        )
    if c["objective"] is not None:
        one_of("objective", c["objective"], objectives(c["model"]["name"]))
        if not c["eval"]["at_end"] and c["objective"] not in training_scalars(c["model"]["name"]):
            raise ConfigError(
                f"objective={c['objective']} is a metric of the end-of-run evaluation, which "
                "eval.at_end=false turns off; set eval.at_end=true or pick a training scalar"
            )
    t = c["trainer"]
    one_of("trainer.nan_policy", t["nan_policy"], NAN_POLICIES)
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
    positive("optimizer.weight_decay", c["optimizer"]["weight_decay"], float, True)
    _validate_gan_extras(c)
    for key in ("hidden", "layers", "channels", "blocks"):
        if key in c["arch"]:
            positive(f"arch.{key}", c["arch"][key])
    for key in ("size", "num_classes"):
        if key in c["data"]:
            positive(f"data.{key}", c["data"][key])


def check_eval(e: dict) -> None:
    """The eval group, checked when a run (or genlab.evaluate) measures."""
    from genlab.metrics.evaluator import BACKBONES

    one_of("eval.fid_backbone", e["fid_backbone"], BACKBONES)
    for key in ("n_samples", "iw_samples", "pr_k", "kid_subset_size", "batch_size"):
        positive(f"eval.{key}", e[key])
    if e["n_samples"] <= e["pr_k"]:
        raise ConfigError(
            f"eval.n_samples={e['n_samples']} is not allowed with eval.pr_k={e['pr_k']}: "
            "precision/recall need more images than neighbours; raise eval.n_samples"
        )


def training_scalars(family: str) -> tuple[str, ...]:
    """The scalars a run of the family logs while it trains (its result holds the last ones)."""
    if family == "vae":
        return ("loss", "recon", "kl", "neg_elbo")
    return ("d_loss", "g_loss", "d_real", "d_fake")


def _validate_gan_extras(c: dict) -> None:
    """The schedule, D's learning rate (TTUR), G's EMA decay and D's extras (spectral norm,
    minibatch std, auxiliary classifier)."""
    from genlab.trainers.schedules import SCHEDULES

    o, m = c["optimizer"], c["model"]
    one_of("optimizer.schedule", o["schedule"], SCHEDULES)
    if o["lr_d"] is not None:
        positive("optimizer.lr_d", o["lr_d"], float)
    ema = m["ema"]
    number = isinstance(ema, int | float) and not isinstance(ema, bool)
    if ema is not None and not (number and 0 <= ema < 1):
        raise ConfigError(f"model.ema={ema} is not allowed; give a decay in [0, 1) or null")
    if not isinstance(m["spectral_norm"], bool):
        raise ConfigError(f"model.spectral_norm={m['spectral_norm']} is not allowed; true or false")
    aux = m["aux_classifier"]
    if not (isinstance(aux, int | float) and not isinstance(aux, bool) and aux >= 0):
        raise ConfigError(f"model.aux_classifier={aux} is not allowed; a loss weight >= 0 (0: off)")
    if aux and m["name"] != "cgan":
        raise ConfigError(
            f"model.aux_classifier={aux} is not allowed with model={m['name']}; it needs "
            "labels: model=cgan, or 0"
        )
    group = m["minibatch_std"]
    if not (isinstance(group, int) and not isinstance(group, bool) and group >= 0):
        raise ConfigError(
            f"model.minibatch_std={group} is not allowed; a group size (an integer >= 1) or 0 (off)"
        )


def objectives(family: str) -> tuple[str, ...]:
    """What `objective=` may name: a final metric or a last training scalar of the family."""
    from genlab.metrics.evaluator import metrics_of

    return tuple(dict.fromkeys((*metrics_of(family), *training_scalars(family))))
