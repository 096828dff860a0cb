"""From a resolved config to runnable objects. The one module below the entrypoint that reads
config; everything it builds takes plain typed arguments.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from genlab.data import DATASETS, ImageSet, ResidentLoader, load_images
from genlab.losses import GAN_LOSSES, VAE_LOSSES
from genlab.losses.vae import VAELoss
from genlab.models import ARCHS, make_gan, make_vae
from genlab.priors import PRIORS, make_prior
from genlab.trainers.gan import GANTask
from genlab.trainers.guards import NAN_POLICIES
from genlab.trainers.loop import LoopSettings, Trainer
from genlab.trainers.vae import VAETask

MODELS = ("vae", "gan", "cgan")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A value genlab cannot run; the message names the key, the value and what is allowed."""


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)


def _choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value} is not known; choose one of {', '.join(allowed)}")


def _positive(key: str, value, kind=int, zero_ok=False) -> None:
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
    _choice("model", c["model"]["name"], MODELS)
    _choice("arch", c["arch"]["name"], ARCHS)
    _choice("data", c["data"]["name"], DATASETS)
    _choice("prior", c["prior"]["name"], PRIORS)
    _choice("device", c["device"]["name"], DEVICES)
    family = c["model"]["name"]
    losses = VAE_LOSSES if family == "vae" else tuple(GAN_LOSSES)
    if c["loss"]["name"] not in losses:
        raise ConfigError(
            f"model={family} cannot train with loss={c['loss']['name']}; "
            f"with model={family} choose loss from {', '.join(losses)}"
        )
    _positive("model.latent_dim", c["model"]["latent_dim"])
    _positive("data.batch_size", c["data"]["batch_size"])
    _positive("optimizer.lr", c["optimizer"]["lr"], float)
    t = c["trainer"]
    _positive("trainer.epochs", t["epochs"], zero_ok=True)
    for key in ("log_every", "checkpoint_every", "image_every", "g_steps", "d_steps"):
        _positive(f"trainer.{key}", t[key])
    if t["max_steps"] is not None:
        _positive("trainer.max_steps", t["max_steps"])
    _validate_run(c)


def _validate_run(c: dict) -> None:
    """Types and ranges the checks above leave open: seed, switches, optimiser, sizes."""
    if not isinstance(c["seed"], int) or isinstance(c["seed"], bool) or c["seed"] < 0:
        raise ConfigError(f"seed={c['seed']} is not allowed; it must be an integer >= 0")
    t = c["trainer"]
    _choice("trainer.nan_policy", t.get("nan_policy", "stop"), NAN_POLICIES)
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
    _positive("optimizer.weight_decay", c["optimizer"].get("weight_decay", 0.0), float, True)
    for key in ("hidden", "layers", "channels"):
        if key in c["arch"]:
            _positive(f"arch.{key}", c["arch"][key])
    for key in ("size", "num_classes"):
        if key in c["data"]:
            _positive(f"data.{key}", c["data"][key])


def make_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no GPU is visible; choose device=cpu or device=auto")
    return torch.device(name)


def make_data(c: dict, split: str = "train") -> ImageSet:
    d = c["data"]
    options = {k: d[k] for k in ("size", "image_shape", "num_classes") if k in d}
    return load_images(d["name"], split, d.get("root"), **options)


def make_optimizer(params, o: dict) -> torch.optim.Optimizer:
    _choice("optimizer", o["name"], ("adam",))
    return torch.optim.Adam(
        params, lr=o["lr"], betas=tuple(o["betas"]), weight_decay=o.get("weight_decay", 0.0)
    )


def make_task(c: dict, data: ImageSet, device: torch.device):
    """The model, its optimisers and its training step, on device."""
    family, arch, latent = c["model"]["name"], c["arch"]["name"], c["model"]["latent_dim"]
    sizes = {k: v for k, v in c["arch"].items() if k in ("hidden", "layers", "channels")}
    prior = make_prior(c["prior"]["name"], c["prior"].get("low", -1.0), c["prior"].get("high", 1.0))
    if family == "vae":
        vae = make_vae(arch, data.image_shape, latent, **sizes).to(device)
        loss = VAELoss(
            recon=c["loss"]["name"], **{k: v for k, v in c["loss"].items() if k != "name"}
        )
        fixed_x = data.images[:32].to(device).float() / 255
        return VAETask(
            vae,
            make_optimizer(vae.parameters(), c["optimizer"]),
            loss,
            prior,
            fixed_x,
            seed=c["seed"],
        )
    classes = data.num_classes if family == "cgan" else 0
    g, d = make_gan(arch, data.image_shape, latent, classes, **sizes)
    g, d = g.to(device), d.to(device)
    t, loss_cfg = c["trainer"], c["loss"]
    return GANTask(
        g,
        d,
        make_optimizer(g.parameters(), c["optimizer"]),
        make_optimizer(d.parameters(), c["optimizer"]),
        GAN_LOSSES[loss_cfg["name"]],
        prior,
        device,
        g_steps=t["g_steps"],
        d_steps=t["d_steps"],
        label_smoothing=loss_cfg.get("label_smoothing", 0.0),
        gp_weight=loss_cfg.get("gp_weight", 10.0),
        seed=c["seed"],
    )


def make_trainer(cfg: DictConfig | dict, run_dir: Path) -> Trainer:
    """cfg: the composed config, or the plain dict a checkpoint holds (on resume)."""
    c = cfg if isinstance(cfg, dict) else to_dict(cfg)
    validate(c)
    device = make_device(c["device"]["name"])
    torch.manual_seed(c["seed"])
    data = make_data(c)
    task = make_task(c, data, device)
    loader = ResidentLoader(data, c["data"]["batch_size"], device, seed=c["seed"])
    t = c["trainer"]
    settings = LoopSettings(**{k: t[k] for k in LoopSettings.__dataclass_fields__ if k in t})
    return Trainer(task, loader, run_dir, settings, config=c)
