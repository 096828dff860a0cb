"""From a resolved config to runnable objects: the trainer of a run, its step (networks,
optimisers, loss), its loader; a finished run's step for sampling. Everything built here takes
plain typed arguments; data sets and the evaluator are built by data.py and evaluation.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from genlab.config import CONF_DIR, devices
from genlab.config.checks import validate
from genlab.config.data import make_data
from genlab.config.evaluation import make_evaluator
from genlab.config.model_checks import CONDITIONAL, VAES
from genlab.config.upgrade import upgrade
from genlab.data import ImageSet, ResidentLoader
from genlab.errors import ConfigError
from genlab.losses import GAN_LOSSES
from genlab.losses.elbo import VAELoss
from genlab.models import make_gan, make_vae
from genlab.models.priors import Prior
from genlab.tracking import make_tracker
from genlab.trainers import distributed
from genlab.trainers.gan_step import GANStep
from genlab.trainers.health import HealthWatch
from genlab.trainers.nan_guard import FiniteGuard
from genlab.trainers.precision import Precision
from genlab.trainers.step import Step
from genlab.trainers.trainer import LoopSettings, Trainer
from genlab.trainers.vae_step import VAEStep


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)


def make_device(name: str) -> torch.device:
    """A device by name; `auto` (the small commands' default): cuda, then mps, then cpu."""
    if name == "auto":
        return torch.device(devices.visible())
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no GPU is visible; choose device=cpu or device=auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "device=mps but no Apple silicon GPU (MPS) is visible; choose device=cpu or device=auto"
        )
    return torch.device(name)


def refuse_missing_fast_paths(fast: dict, device: torch.device) -> None:
    """A fast path the device lacks (devices.refuse_missing), asked of the device itself."""
    cuda = device.type == "cuda"
    capability = tuple(torch.cuda.get_device_capability(device)) if cuda else None
    devices.refuse_missing(fast, device.type, capability, devices.fused_adam(device.type))


def speed_up(module: torch.nn.Module, fast: dict) -> torch.nn.Module:
    """In place: NHWC weights for convolutions, then torch.compile; state_dict keys unchanged."""
    if fast["channels_last"]:
        module.to(memory_format=torch.channels_last)  # only 4-D weights change layout
    if fast["compile"]:
        module.compile()
    return module


def make_optimizer(params, o: dict, impl: str) -> torch.optim.Optimizer:
    kernels = {"foreach": impl == "foreach", "fused": impl == "fused"}
    return torch.optim.Adam(
        params, lr=o["lr"], betas=tuple(o["betas"]), weight_decay=o["weight_decay"], **kernels
    )


def make_step(c: dict, data: ImageSet, device: torch.device) -> Step:
    """The training step of c's model family (VAEStep or GANStep), with its networks and
    optimisers on device and the device's fast paths."""
    family, arch = c["model"]["name"], c["arch"]["name"]
    fast = dict(c["device"])
    fast["channels_last"] = fast["channels_last"] and arch == "cnn"
    refuse_missing_fast_paths(fast, device)
    precision = Precision(str(fast["precision"]), device.type)  # YAML reads 32 as a number
    # on a GPU the NaN check reads its flag at log steps and checkpoints: no host sync per update
    guard = FiniteGuard(c["trainer"]["nan_policy"], defer=device.type in ("cuda", "mps"))
    impl = fast["optimizer_impl"]
    sizes = {k: v for k, v in c["arch"].items() if k != "name"}
    p = c["prior"]
    prior = Prior(p["name"], p.get("low"), p.get("high"))
    try:
        networks = _networks(c, data, sizes)
    except ValueError as e:  # images the architecture cannot take
        raise ConfigError(f"arch={arch} cannot take data={c['data']['name']}: {e}") from None
    if family in VAES:
        vae = speed_up(networks.to(device), fast)
        settings = {k: v for k, v in c["loss"].items() if k not in ("name", "sigma")}
        loss = VAELoss(c["loss"]["name"], **settings, sigma=c["loss"].get("sigma"))  # gaussian's
        fixed_x = data.images[:32].to(device).float() / 255
        optimizer = make_optimizer(vae.parameters(), c["optimizer"], impl)
        return VAEStep(
            vae, optimizer, loss, prior, fixed_x, data.labels[:32].to(device),
            seed=c["seed"], precision=precision, guard=guard,
        )  # fmt: skip
    m, loss_cfg, o = c["model"], c["loss"], c["optimizer"]
    aux = m.get("aux_classifier", 0)  # the cGAN's AC-GAN loss weight
    g, d = networks
    loss = GAN_LOSSES[loss_cfg["name"]]
    # a gradient penalty differentiates D twice, which compiled modules do not support: such a D
    # runs eager (G is still compiled)
    d_fast = {**fast, "compile": fast["compile"] and not loss.gradient_penalty}
    g, d = speed_up(g.to(device), fast), speed_up(d.to(device), d_fast)
    lr_d = o["lr"] if o["lr_d"] is None else o["lr_d"]  # TTUR: D's own learning rate
    return GANStep(
        g,
        d,
        make_optimizer(g.parameters(), o, impl),
        make_optimizer(d.parameters(), {**o, "lr": lr_d}, impl),
        loss,
        prior,
        device,
        data.image_shape,
        g_steps=m["g_steps"],
        d_steps=m["d_steps"],
        label_smoothing=loss_cfg.get("label_smoothing", 0.0),  # absent: the loss has no target
        gp_weight=loss_cfg.get("gp_weight", 0.0),  # absent: the loss has no gradient penalty
        seed=c["seed"],
        precision=precision,
        guard=guard,
        ema=m["ema"],
        d_group=m["minibatch_std"],
        aux_weight=aux,
    )


def _networks(c: dict, data: ImageSet, sizes: dict):
    """The VAE, or (G, D), of c's family and architecture for data's images."""
    family, arch, m = c["model"]["name"], c["arch"]["name"], c["model"]
    classes = data.num_classes if family in CONDITIONAL else 0
    if family in VAES:
        return make_vae(arch, data.image_shape, m["latent_dim"], m["activation"], classes, **sizes)
    return make_gan(
        arch,
        data.image_shape,
        m["latent_dim"],
        classes,
        minibatch_std=m["minibatch_std"],
        classifier=m.get("aux_classifier", 0) > 0,
        spectral_norm=m["spectral_norm"],
        **sizes,
    )


def check_classes(c: dict, data: ImageSet) -> None:
    """A conditional model needs labelled images (CelebA and a flat image folder have one class)."""
    family = c["model"]["name"]
    if family in CONDITIONAL and data.num_classes < 2:
        raise ConfigError(
            f"model={family} needs images with class labels; data={c['data']['name']} has one "
            f"class: choose model={family[1:]}, or data with classes (image_folder: a subfolder "
            "per class)"
        )


def make_loader(c: dict, data: ImageSet, device, ranks: distributed.Ranks) -> ResidentLoader:
    batch = c["data"]["batch_size"]  # the global batch: under torchrun each rank takes 1/N of it
    cap = c["trainer"]["batches_per_epoch"]
    if not ranks.active:
        return ResidentLoader(data, batch, device, c["seed"], cap)
    try:
        return distributed.ShardedLoader(data, batch, device, ranks, c["seed"], cap)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def seed_everything(seed: int) -> None:
    """torch (CPU and every GPU), numpy and python's random: every RNG a run may draw from."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def make_trainer(
    cfg: DictConfig | dict,
    run_dir: Path,
    ranks: distributed.Ranks | None = None,
    group: str = "defaults",
    report=None,
    sweep: str | None = None,
) -> Trainer:
    """cfg: the composed config, or the plain dict a checkpoint holds (on resume); group: the
    configuration the run's seeds share in a sweep (logging/hparams.group_of); report: a search
    trial's report after each evaluation (search/trial.py); sweep: the sweep directory of a
    multirun's job (its tracker's experiment)."""
    c = cfg if isinstance(cfg, dict) else to_dict(cfg)
    validate(c)
    ranks = ranks or distributed.Ranks()
    # an unreachable tracker stops the run here, before the data is read or anything trains
    tracked = ranks.main and c["tracking"]["name"] != "none"
    tracker = make_tracker(c["tracking"], c, group, sweep) if tracked else None
    check_classes(c, make_data(c))  # before the evaluator: a classifier of no classes
    device = make_device(c["device"]["name"])
    if ranks.active and device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)  # one GPU per process
    if c["threads"]:  # CPU threads of this process: parallel jobs should share the cores
        torch.set_num_threads(c["threads"])
    # rank 0 measures; built first, as training the classifier on first use draws random numbers
    evaluator = make_evaluator(c, device) if ranks.main else None
    seed_everything(c["seed"])  # the same on every rank: global-batch draws stay in step
    data = make_data(c)
    step = make_step(c, data, device)
    loader = make_loader(c, data, device, ranks)
    if ranks.active:
        step.distribute(ranks)
    t = c["trainer"]
    settings = LoopSettings(**{k: t[k] for k in LoopSettings.__dataclass_fields__})
    return Trainer(
        step,
        loader,
        run_dir,
        settings,
        config=c,
        health=make_health(c),
        ranks=ranks,
        evaluator=evaluator,
        schedule=c["optimizer"]["schedule"],
        group=group,
        on_evaluation=report,
        tracker=tracker,
    )


def make_health(c: dict) -> HealthWatch | None:
    """The D-has-won watch for GAN losses whose D loss bottoms out at a floor (not wgan_gp)."""
    loss = c["loss"]
    if c["model"]["name"] in VAES or loss["name"] == "wgan_gp":
        return None
    h = c["model"]["health"]
    if h["window"] is None:
        return None
    target = 1.0 - loss.get("label_smoothing", 0.0)
    logits = GAN_LOSSES[loss["name"]].logits
    return HealthWatch.for_loss(h["d_loss_below"], h["window"], logits, target)


def load_run(run_dir: Path, device_name: str = "auto") -> tuple[dict, Step, int]:
    """(config, training step with its trained weights, global step) of a run, from its
    checkpoints/last.pt; the networks in eval mode, on device_name with that device's own fast
    paths (a run trained on a GPU is not compiled again to sample on a CPU)."""
    from genlab.runs.checkpoint import load_checkpoint

    state = load_checkpoint(Path(run_dir) / "checkpoints" / "last.pt")
    c = upgrade(state["config"])  # the full resolved config of the run
    validate(c)
    device = make_device(device_name)
    c["device"] = device_config(device.type)
    if "data" in state:  # the image shape and classes: no need to decode the training split
        shape, classes = state["data"]["image_shape"], state["data"]["num_classes"]
        data = ImageSet(torch.zeros(0, *shape, dtype=torch.uint8), torch.zeros(0), classes)
    else:  # a checkpoint from before genlab kept them
        data = make_data(c)
    step = make_step(c, data, device)
    step.load_state_dict(state)
    for m in step.networks.values():
        m.eval()
    return c, step, state["step"]


def device_config(device_type: str) -> dict:
    """conf/device/<cpu|cuda|mps>.yaml: a device and its fast paths, as device=<type> composes it
    (a GPU's resolved for the GPU this process sees)."""
    yaml = OmegaConf.load(CONF_DIR / "device" / f"{device_type}.yaml")
    return OmegaConf.to_container(yaml, resolve=True)
