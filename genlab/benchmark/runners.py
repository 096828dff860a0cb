"""One timed run: genlab's real Trainer, or the tutorial recipe on the same network and batch."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from genlab.benchmark import tutorial
from genlab.benchmark.measure import PeakMemory, StepClock
from genlab.config import CONF_DIR
from genlab.config.build import make_device, make_trainer, to_dict
from genlab.config.data import make_data
from genlab.errors import ConfigError
from genlab.models import make_gan, make_vae


@dataclass
class Result:
    images_per_s: float
    peak_mib: float
    batch: int


def compose_config(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=overrides)


def describe_fast(c: dict) -> str:
    """The fast paths a config resolves to, e.g. `bf16, compile, channels_last, fused`."""
    f = c["device"]
    cl = f["channels_last"] and c["arch"]["name"] == "cnn"
    flags = ["compile"] * f["compile"] + ["channels_last"] * cl
    return ", ".join([str(f["precision"]), *flags, f["optimizer_impl"]])


def run_genlab(cfg: DictConfig, warmup: int, steps: int) -> Result:
    """Trains through Trainer.fit and times steps [warmup, warmup + steps)."""
    c = to_dict(cfg)
    device = make_device(c["device"]["name"])
    clock = StepClock(device, warmup, warmup + steps)
    with tempfile.TemporaryDirectory() as run_dir, PeakMemory(device) as mem:
        trainer = make_trainer(cfg, Path(run_dir))
        step_fn = trainer.step.train_step

        def timed_step(x, y, step):
            clock.tick(step)
            return step_fn(x, y, step)

        trainer.step.train_step = timed_step
        trainer.settings.max_steps = warmup + steps + 1  # the clock stops as the last one begins
        trainer.settings.epochs = trainer.settings.max_steps  # never stop at an epoch's end
        trainer.fit()
    batch = trainer.loader.batch_size
    return Result(steps * batch / clock.seconds, mem.mib, batch)


def run_tutorial(cfg: DictConfig, warmup: int, steps: int, seanie12: bool = False) -> Result:
    """The tutorial recipe on the config's network (seanie12: the tutorial's own MLP GAN)."""
    c = to_dict(cfg)
    device = make_device(c["device"]["name"])
    family, arch, latent = c["model"]["name"], c["arch"]["name"], c["model"]["latent_dim"]
    if family not in ("vae", "gan", "cgan"):
        raise ConfigError(f"the tutorial recipe has no model={family}; it has vae, gan and cgan")
    sizes = {k: v for k, v in c["arch"].items() if k != "name"}
    o = c["optimizer"]
    adam = {"lr": o["lr"], "betas": tuple(o["betas"])}
    clock = StepClock(device, warmup, warmup + steps)
    torch.manual_seed(c["seed"])
    data = make_data(c)  # for the shape and classes; the tutorial reads its own copy below
    batch = min(c["data"]["batch_size"], len(data))  # as genlab's loader does
    with PeakMemory(device) as mem:
        loader = tutorial.tutorial_loader(c["data"]["name"], c["data"].get("root"), batch, data)
        shape = data.image_shape
        if family == "vae":
            vae = make_vae(arch, shape, latent, c["model"]["activation"], **sizes).to(device)
            opt = torch.optim.Adam(vae.parameters(), **adam)
            tutorial.train_vae(vae, loader, opt, clock, device)
        else:
            classes = data.num_classes if family == "cgan" else 0
            if seanie12:  # the tutorial's own networks, sigmoid outputs included
                g = tutorial.TutorialG(latent, shape, sizes["hidden"]).to(device)
                d = tutorial.TutorialD(shape, sizes["hidden"]).to(device)
                prob = d
            else:  # genlab's networks; D gives logits, the tutorial's D a probability
                g, d = (
                    m.to(device)
                    for m in make_gan(
                        arch, shape, latent, classes, minibatch_std=0, classifier=False, **sizes
                    )
                )

                def prob(x, y):
                    return torch.sigmoid(d(x, y))

            opt_g = torch.optim.Adam(g.parameters(), **adam)
            opt_d = torch.optim.Adam(d.parameters(), **adam)
            tutorial.train_gan(g, prob, opt_g, opt_d, loader, latent, clock, device, classes > 0)
    return Result(steps * batch / clock.seconds, mem.mib, batch)
