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
    evaluator = make_evaluator(c, device)
    return Trainer(task, loader, run_dir, settings, config=c, evaluator=evaluator)


def parse_args(schema, argv: list[str]):
    """key=value command-line arguments into the dataclass `schema`; a bad key is one line."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_cli(argv))
        return OmegaConf.to_object(merged)
    except Exception as e:  # omegaconf's errors: unknown key, wrong type, missing value
        allowed = ", ".join(f"{k}=" for k in schema.__dataclass_fields__)
        raise ConfigError(f"{str(e).splitlines()[0]}; arguments are {allowed}") from None


def make_classifier(c: dict, device: torch.device, force: bool = False, epochs: int | None = None):
    """The data set's classifier (trained on first use): the feature space of the metrics."""
    from genlab.data.files import data_root
    from genlab.metrics.classifier import get_classifier

    train, test = make_data(c, "train"), make_data(c, "test")
    root = data_root(c["data"].get("root"))
    return get_classifier(c["data"]["name"], root, train, test, device, force=force, epochs=epochs)


def make_evaluator(c: dict, device: torch.device):
    """The metrics of c's model family against the test split, or None when eval.at_end is off."""
    from genlab.metrics.evaluate import BACKBONES, METRICS, BackboneError, Evaluator

    e = c.get("eval", {})
    if not e.get("at_end", True):
        return None
    _choice("eval.fid_backbone", e["fid_backbone"], BACKBONES)
    if e.get("objective") is not None:
        _choice("eval.objective", e["objective"], METRICS)
    for key in ("n_samples", "iw_samples", "pr_k", "kid_subset_size", "batch_size"):
        _positive(f"eval.{key}", e[key])
    every = c["trainer"].get("eval_every")
    if every is not None:
        _positive("trainer.eval_every", every)
    try:
        return Evaluator(
            make_classifier(c, device),
            make_data(c, "test"),
            **{k: e[k] for k in ("n_samples", "iw_samples", "fid_backbone", "pr_k", "batch_size")},
            kid_subset_size=e["kid_subset_size"],
            objective=e.get("objective"),
            seed=c["seed"],
        )
    except BackboneError as err:
        raise ConfigError(str(err)) from None


def load_run(run_dir: Path, device_name: str = "auto") -> tuple[dict, object, int]:
    """(config, task with its trained weights, step) of a run, from its checkpoints/last.pt."""
    from genlab.checkpoint import load_checkpoint

    state = load_checkpoint(Path(run_dir) / "checkpoints" / "last.pt")
    c = state["config"]  # the full resolved config of the run
    validate(c)
    device = make_device(device_name)
    task = make_task(c, make_data(c), device)
    for k, m in task.modules.items():
        m.load_state_dict(state["models"][k])
        m.eval()
    return c, task, state["step"]
