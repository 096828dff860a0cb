"""The training-health watch (CS4243 lecture 15): D loss stuck near 0 means D has won; warn once."""

import logging
import math

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab.config.build import make_health, make_trainer, to_dict
from genlab.trainers.health import HealthWatch, bce_floor


def feed(watch, losses, every=50):
    return [
        watch.update({"d_loss": d, "g_loss": 3.0}, every * (i + 1)) for i, d in enumerate(losses)
    ]


def test_warns_once_after_a_sustained_window_near_zero(caplog):
    watch = HealthWatch(d_loss_below=0.05, window=100, floor=0.0)
    with caplog.at_level(logging.WARNING):
        out = feed(watch, [0.5, 0.01, 0.02, 0.01, 0.001, 0.0])  # low from step 100 on
    assert [m is not None for m in out] == [False, False, False, True, False, False]
    assert "D has won" in out[3] and "since step 100" in out[3] and "g_loss=3" in out[3]
    assert len([r for r in caplog.records if "D has won" in r.message]) == 1


def test_a_healthy_or_recovering_d_never_triggers_it():
    watch = HealthWatch(d_loss_below=0.05, window=100, floor=0.0)
    assert not any(feed(watch, [0.6, 0.4, 0.3, 0.45, 0.5]))  # the lecture's healthy band
    assert not any(feed(watch, [0.01, 0.01, 0.4, 0.01, 0.01, 0.4]))  # dips that recover
    assert watch.update({"kl": 0.0, "recon": 0.0}, 10_000) is None  # no D: nothing to watch


def test_label_smoothing_raises_the_floor():
    t = 0.9  # with target 0.9 the BCE D loss cannot go below H(0.9)
    assert bce_floor(t) == pytest.approx(-(0.9 * math.log(0.9) + 0.1 * math.log(0.1)))
    assert bce_floor(1.0) == 0.0
    watch = HealthWatch(d_loss_below=0.05, window=50, floor=bce_floor(t))
    assert any(feed(watch, [0.34, 0.34, 0.34]))  # 0.34 is within 0.05 of 0.325
    assert not any(feed(HealthWatch(0.05, window=50, floor=0.0), [0.34, 0.34, 0.34]))  # far from 0


def test_watch_is_built_for_gan_losses_with_a_floor_only(compose_cfg):
    def health(*overrides):
        return make_health(to_dict(compose_cfg(*overrides)))

    assert health("model=vae") is None
    assert health("model=gan", "loss=wgan_gp") is None  # a critic's loss has no floor at 0
    assert health("model=gan", "model.health.window=null") is None
    assert health("model=cgan", "loss=hinge").floor == 0.0
    smoothed = health("model=gan", "loss.label_smoothing=0.1")
    assert smoothed.floor == pytest.approx(bce_floor(0.9)) and smoothed.window == 1000


def test_loop_warns_once_on_console_and_tensorboard_when_d_wins(compose_cfg, tmp_path, caplog):
    cfg = compose_cfg(
        "model=gan", "arch.hidden=32", "trainer.epochs=4", "trainer.image_every=100",
        "optimizer.lr=1e-2", "model.health.window=6",
    )  # fmt: skip
    trainer = make_trainer(cfg, tmp_path)
    for group in trainer.step.opt_g.param_groups:  # a frozen G: a fast D wins within a few steps
        group["lr"] = 0.0
    with caplog.at_level(logging.WARNING):
        last = trainer.fit()
    trainer.close()
    assert last["d_loss"] < 0.05
    assert len([r for r in caplog.records if "D has won" in r.message]) == 1
    acc = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    assert "health/text_summary" in acc.Tags()["tensors"]
