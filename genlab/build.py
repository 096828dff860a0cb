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
from genlab.trainers.loop import LoopSettings, Trainer
from genlab.trainers.precision import PRECISIONS, Precision
from genlab.trainers.vae import VAETask

MODELS = ("vae", "gan", "cgan")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZER_IMPLS = ("plain", "foreach", "fused")
# What device=auto picks for each fast path; the same values as conf/device/{cpu,cuda}.yaml
FAST_DEFAULTS = {
    "cpu": {
        "precision": "32",
        "compile": False,
        "channels_last": False,
        "optimizer_impl": "fused",
    },
    "cuda": {
        "precision": "bf16",
        "compile": True,
        "channels_last": True,
        "optimizer_impl": "fused",
    },
}


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
    _choice("model", c["model"]["name"], MODELS)
    _choice("arch", c["arch"]["name"], ARCHS)
    _choice("data", c["data"]["name"], DATASETS)
    _choice("prior", c["prior"]["name"], PRIORS)
    _choice("device", c["device"]["name"], DEVICES)
    d = c["device"]  # fast paths: `auto` (or a missing key) is the device's default
    _choice("device.precision", str(d.get("precision", "auto")), (*PRECISIONS, "auto"))
    _choice("device.optimizer_impl", d.get("optimizer_impl", "auto"), (*OPTIMIZER_IMPLS, "auto"))
    for key in ("compile", "channels_last"):
        if d.get(key, "auto") not in (True, False, "auto"):
            raise ConfigError(f"device.{key}={d[key]} is not allowed; choose true, false or auto")
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


def make_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no GPU is visible; choose device=cpu or device=auto")
    return torch.device(name)


def fast_paths(d: dict, device: torch.device) -> dict:
    """The device's fast-path switches, with every `auto` replaced by that device's default."""
    defaults = FAST_DEFAULTS[device.type]
    fast = {k: d.get(k, "auto") for k in defaults}
    fast = {k: defaults[k] if v == "auto" else v for k, v in fast.items()}
    fast["precision"] = str(fast["precision"])  # YAML reads 32 as an int
    return fast


def speed_up(module: torch.nn.Module, fast: dict) -> torch.nn.Module:
    """In place: NHWC weights for convolutions, then torch.compile; state_dict keys unchanged."""
    if fast["channels_last"]:
        module.to(memory_format=torch.channels_last)  # only 4-D weights change layout
    if fast["compile"]:
        module.compile()
    return module


def make_data(c: dict, split: str = "train") -> ImageSet:
    d = c["data"]
    options = {k: d[k] for k in ("size", "image_shape", "num_classes") if k in d}
    return load_images(d["name"], split, d.get("root"), **options)


def make_optimizer(params, o: dict, impl: str = "fused") -> torch.optim.Optimizer:
    _choice("optimizer", o["name"], ("adam",))
    kernels = {"foreach": impl == "foreach", "fused": impl == "fused"}
    return torch.optim.Adam(
        params,
        lr=o["lr"],
        betas=tuple(o["betas"]),
        weight_decay=o.get("weight_decay", 0.0),
        **kernels,
    )


def make_task(c: dict, data: ImageSet, device: torch.device):
    """The model, its optimisers and its training step, on device, with its fast paths."""
    family, arch, latent = c["model"]["name"], c["arch"]["name"], c["model"]["latent_dim"]
    fast = fast_paths(c["device"], device)
    fast["channels_last"] = fast["channels_last"] and arch == "cnn"
    precision = Precision(fast["precision"], device.type)
    impl = fast["optimizer_impl"]
    sizes = {k: v for k, v in c["arch"].items() if k in ("hidden", "layers", "channels")}
    prior = make_prior(c["prior"]["name"], c["prior"].get("low", -1.0), c["prior"].get("high", 1.0))
    if family == "vae":
        vae = speed_up(make_vae(arch, data.image_shape, latent, **sizes).to(device), fast)
        loss = VAELoss(
            recon=c["loss"]["name"], **{k: v for k, v in c["loss"].items() if k != "name"}
        )
        fixed_x = data.images[:32].to(device).float() / 255
        return VAETask(
            vae,
            make_optimizer(vae.parameters(), c["optimizer"], impl),
            loss,
            prior,
            fixed_x,
            seed=c["seed"],
            precision=precision,
        )
    classes = data.num_classes if family == "cgan" else 0
    g, d = make_gan(arch, data.image_shape, latent, classes, **sizes)
    g, d = speed_up(g.to(device), fast), speed_up(d.to(device), fast)
    t, loss_cfg = c["trainer"], c["loss"]
    return GANTask(
        g,
        d,
        make_optimizer(g.parameters(), c["optimizer"], impl),
        make_optimizer(d.parameters(), c["optimizer"], impl),
        GAN_LOSSES[loss_cfg["name"]],
        prior,
        device,
        g_steps=t["g_steps"],
        d_steps=t["d_steps"],
        label_smoothing=loss_cfg.get("label_smoothing", 0.0),
        gp_weight=loss_cfg.get("gp_weight", 10.0),
        seed=c["seed"],
        precision=precision,
    )


def make_trainer(cfg: DictConfig, run_dir: Path) -> Trainer:
    c = to_dict(cfg)
    validate(c)
    device = make_device(c["device"]["name"])
    torch.manual_seed(c["seed"])
    data = make_data(c)
    task = make_task(c, data, device)
    loader = ResidentLoader(data, c["data"]["batch_size"], device, seed=c["seed"])
    t = c["trainer"]
    settings = LoopSettings(**{k: t[k] for k in LoopSettings.__dataclass_fields__})
    return Trainer(task, loader, run_dir, settings, config=c)
