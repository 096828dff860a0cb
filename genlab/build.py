"""From a resolved config to runnable objects. The one module below the entrypoint that reads
config; everything it builds takes plain typed arguments.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from genlab import distributed
from genlab.checks import ConfigError, one_of, positive, validate
from genlab.data import ImageSet, ResidentLoader, load_images
from genlab.losses import GAN_LOSSES
from genlab.losses.vae import VAELoss
from genlab.models import make_gan, make_vae
from genlab.models.spectral import apply_spectral_norm
from genlab.priors import make_prior
from genlab.trainers.gan import GANTask
from genlab.trainers.health import HealthWatch, bce_floor
from genlab.trainers.loop import LoopSettings, Trainer
from genlab.trainers.precision import Precision
from genlab.trainers.schedules import make_schedulers
from genlab.trainers.vae import VAETask

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


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)


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
    keys = ("size", "image_shape", "num_classes", "image_size", "path", "channels")
    options = {k: d[k] for k in keys if k in d}
    return load_images(d["name"], split, d.get("root"), **options)


def make_optimizer(params, o: dict, impl: str = "fused") -> torch.optim.Optimizer:
    one_of("optimizer", o["name"], ("adam",))
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
    sizes = {k: v for k, v in c["arch"].items() if k in ("hidden", "layers", "channels", "blocks")}
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
    if c["model"].get("spectral_norm"):
        apply_spectral_norm(d)
    g, d = speed_up(g.to(device), fast), speed_up(d.to(device), fast)
    t, loss_cfg, o = c["trainer"], c["loss"], c["optimizer"]
    lr_d = o.get("lr_d") or o["lr"]  # TTUR: D's own learning rate
    return GANTask(
        g,
        d,
        make_optimizer(g.parameters(), o, impl),
        make_optimizer(d.parameters(), {**o, "lr": lr_d}, impl),
        GAN_LOSSES[loss_cfg["name"]],
        prior,
        device,
        g_steps=t["g_steps"],
        d_steps=t["d_steps"],
        label_smoothing=loss_cfg.get("label_smoothing", 0.0),
        gp_weight=loss_cfg.get("gp_weight", 10.0),
        seed=c["seed"],
        precision=precision,
        ema=c["model"].get("ema"),
    )


def make_loader(c: dict, data: ImageSet, device, ranks: distributed.Ranks) -> ResidentLoader:
    batch = c["data"]["batch_size"]  # the global batch: under torchrun each rank takes 1/N of it
    cap = c["trainer"].get("batches_per_epoch")
    if not ranks.active:
        return ResidentLoader(data, batch, device, c["seed"], cap)
    try:
        return distributed.ShardedLoader(data, batch, device, ranks, c["seed"], cap)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def make_trainer(
    cfg: DictConfig | dict, run_dir: Path, ranks: distributed.Ranks | None = None
) -> Trainer:
    """cfg: the composed config, or the plain dict a checkpoint holds (on resume)."""
    c = cfg if isinstance(cfg, dict) else to_dict(cfg)
    validate(c)
    ranks = ranks or distributed.Ranks()
    device = distributed.local_device(make_device(c["device"]["name"]), ranks)
    if c.get("threads"):  # CPU threads of this process: parallel jobs should share the cores
        torch.set_num_threads(c["threads"])
    # rank 0 measures; built first, as training the classifier on first use draws random numbers
    evaluator = make_evaluator(c, device) if ranks.main else None
    torch.manual_seed(c["seed"])  # the same on every rank: global-batch draws stay in step
    data = make_data(c)
    task = make_task(c, data, device)
    loader = make_loader(c, data, device, ranks)
    if ranks.active:
        distributed.wrap_task(task, ranks)
    t = c["trainer"]
    settings = LoopSettings(**{k: t[k] for k in LoopSettings.__dataclass_fields__ if k in t})
    trainer = Trainer(
        task,
        loader,
        run_dir,
        settings,
        config=c,
        health=make_health(c),
        ranks=ranks,
        evaluator=evaluator,
    )
    schedule = c["optimizer"].get("schedule", "constant")
    task.schedulers = make_schedulers(task.optimizers, schedule, trainer.total_steps)
    return trainer


def make_health(c: dict) -> HealthWatch | None:
    """The D-has-won watch for GAN losses whose D loss bottoms out at a floor (not wgan_gp)."""
    h, loss = c["trainer"].get("health") or {}, c["loss"]
    if c["model"]["name"] == "vae" or loss["name"] == "wgan_gp" or h.get("window") is None:
        return None
    target = 1.0 - loss.get("label_smoothing", 0.0)
    floor = bce_floor(target) if GAN_LOSSES[loss["name"]].logits else 0.0
    return HealthWatch(h["d_loss_below"], h["window"], floor)


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

    d = c["data"]
    train, test = make_data(c, "train"), make_data(c, "test")
    name = d["name"]
    if name == "image_folder":  # one classifier per folder
        name += "_" + hashlib.sha1(str(Path(d["path"]).resolve()).encode()).hexdigest()[:10]
    root = data_root(d.get("root"))
    return get_classifier(name, root, train, test, device, force=force, epochs=epochs)


def make_evaluator(c: dict, device: torch.device):
    """The metrics of c's model family against the test split, or None when eval.at_end is off."""
    from genlab.metrics.evaluate import BACKBONES, BackboneError, Evaluator

    e = c.get("eval", {})
    if not e.get("at_end", True):
        return None
    one_of("eval.fid_backbone", e["fid_backbone"], BACKBONES)
    for key in ("n_samples", "iw_samples", "pr_k", "kid_subset_size", "batch_size"):
        positive(f"eval.{key}", e[key])
    every = c["trainer"].get("eval_every")
    if every is not None:
        positive("trainer.eval_every", every)
    try:
        return Evaluator(
            make_classifier(c, device),
            make_data(c, "test"),
            **{k: e[k] for k in ("n_samples", "iw_samples", "fid_backbone", "pr_k", "batch_size")},
            kid_subset_size=e["kid_subset_size"],
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
