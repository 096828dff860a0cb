"""Fit between choices: every sensible (model, loss, prior) trains; impossible pairs stop before
training in one line that names both values and what is allowed."""

import pytest
import torch

from genlab.config.build import make_step, make_trainer, to_dict
from genlab.config.checks import validate
from genlab.config.data import make_data
from genlab.errors import ConfigError
from genlab.losses import GAN_LOSSES

REFUSED = [  # (overrides, words the one-line message must hold)
    (["model=vae", "loss=hinge"], ["model=vae", "loss=hinge", "bernoulli, gaussian"]),
    (["model=gan", "loss=bernoulli"], ["model=gan", "loss=bernoulli", "minimax", "wgan_gp"]),
    (["model=cgan", "loss=gaussian"], ["model=cgan", "loss=gaussian", "non_saturating"]),
    (["model=vae", "prior=uniform"], ["model=vae", "prior=uniform", "N(0, I)", "prior=normal"]),
    (
        ["model=gan", "loss=wgan_gp", "+loss.label_smoothing=0.1"],
        ["label_smoothing=0.1", "loss=wgan_gp", "minimax, non_saturating, lsgan"],
    ),
    (
        ["model=cgan", "loss=hinge", "+loss.label_smoothing=0.1"],
        ["label_smoothing=0.1", "loss=hinge", "minimax, non_saturating, lsgan"],
    ),
    (["model=gan", "loss=hinge", "+loss.gp_weight=10"], ["gp_weight", "loss=hinge", "wgan_gp"]),
    (["model=vae", "loss=gaussian", "loss.binarize=true"], ["binarize", "loss=gaussian"]),
    (["model=vae", "+loss.label_smoothing=0.1"], ["loss.label_smoothing", "loss=bernoulli"]),
    (["model=vae", "+model.d_steps=5"], ["model.d_steps", "model=vae", "model=gan"]),
    (["model=vae", "+model.ema=0.9"], ["model.ema", "model=vae", "model=gan, cgan"]),
    (["model=gan", "+model.aux_classifier=1"], ["model.aux_classifier", "model=gan", "cgan"]),
    (["model=vae", "recipe=mnist/gan_cnn"], ["does not apply to model=vae"]),
    (["model=vae", "loss.beta=-1"], ["loss.beta=-1", ">= 0"]),
    (["model=vae", "loss.recon_weight=0"], ["loss.recon_weight=0", "> 0"]),
    (["model=gan", "loss.label_smoothing=1.0"], ["label_smoothing=1.0", "[0, 1)"]),
    (["model=gan", "loss.label_smoothing=-0.1"], ["label_smoothing=-0.1", "[0, 1)"]),
    (["model=gan", "loss=wgan_gp", "loss.gp_weight=-1"], ["loss.gp_weight=-1", ">= 0"]),
    (
        ["model=gan", "prior=uniform", "prior.low=1", "prior.high=0"],
        ["prior.low=1", "prior.high=0", "below"],
    ),
    (["trainer.batches_per_epoch=0"], ["trainer.batches_per_epoch=0", "> 0"]),
    (["model=gan", "model.health.window=0"], ["model.health.window=0", "> 0"]),
    (["data=image_folder"], ["data=image_folder", "data.path"]),
]


@pytest.mark.parametrize("overrides, words", REFUSED, ids=lambda v: " ".join(v)[:60])
def test_impossible_choices_are_refused_in_one_line(compose_cfg, overrides, words):
    tiny = not any(o.startswith("data=") for o in overrides)  # the tiny setup is synthetic data
    with pytest.raises(ConfigError) as e:
        validate(to_dict(compose_cfg(*overrides, tiny=tiny)))
    message = str(e.value)
    assert "\n" not in message
    for word in words:
        assert word in message


SENSIBLE = [("gan", loss, "normal") for loss in sorted(GAN_LOSSES)]
SENSIBLE += [("cgan", loss, "uniform") for loss in sorted(GAN_LOSSES)]
SENSIBLE += [("vae", loss, "normal") for loss in ("bernoulli", "continuous_bernoulli", "gaussian")]


@pytest.mark.parametrize("model, loss, prior", SENSIBLE)
def test_every_sensible_model_loss_prior_trains(compose_cfg, model, loss, prior):
    c = to_dict(compose_cfg(f"model={model}", f"loss={loss}", f"prior={prior}", "arch.hidden=16"))
    validate(c)
    data = make_data(c)
    built = make_step(c, data, torch.device("cpu"))
    before = [p.clone() for m in built.networks.values() for p in m.parameters()]
    x, y = data.images[:16].float() / 255, data.labels[:16]
    out = [built.train_step(x, y, step) for step in range(2)][-1]  # two optimiser steps
    after = [p for m in built.networks.values() for p in m.parameters()]
    assert all(torch.isfinite(v) for v in out.values())
    assert ("g_loss" in out) == (model != "vae") and ("kl" in out) == (model == "vae")
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_each_model_keeps_its_default_loss(compose_cfg):
    losses = {m: compose_cfg(f"model={m}").loss.name for m in ("vae", "gan", "cgan")}
    assert losses == {"vae": "bernoulli", "gan": "non_saturating", "cgan": "non_saturating"}


def test_uniform_prior_on_its_interval_feeds_every_latent(compose_cfg, tmp_path):
    cfg = compose_cfg("model=gan", "prior=uniform", "prior.low=0", "prior.high=1", "arch.hidden=16")
    model = make_trainer(cfg, tmp_path).step
    z = torch.cat([model.fixed_z, model._z(500, "cpu")])
    assert 0 <= z.min() and z.max() <= 1 and z.min() < 0.05 and z.max() > 0.95


def test_label_smoothing_and_d_steps_reach_the_gan_step(compose_cfg, tmp_path):
    cfg = compose_cfg("model=gan", "loss.label_smoothing=0.1", "model.d_steps=3", "arch.hidden=16")
    model = make_trainer(cfg, tmp_path).step
    assert model.real_target == pytest.approx(0.9) and model.d_steps == 3
