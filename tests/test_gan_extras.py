"""G's EMA, spectral norm of D, two learning rates (TTUR) and learning-rate schedules."""

import copy
import math

import pytest
import torch

from genlab.config.build import load_run, make_trainer
from genlab.errors import ConfigError
from genlab.models import make_gan
from genlab.models.gan import minibatch_std
from genlab.models.spectral import apply_spectral_norm
from genlab.trainers.ema import make_ema, warmup_ema
from genlab.trainers.schedules import make_scheduler

# --- EMA -------------------------------------------------------------------------------------


def test_ema_warms_up_then_keeps_its_decay():
    update = warmup_ema(0.9)
    ema, current = [torch.zeros(2)], [torch.ones(2)]
    update(ema, current, torch.tensor(1))  # d_1 = min(0.9, 2/11): mostly the new weights
    assert torch.allclose(ema[0], torch.full((2,), 1 - 2 / 11))
    ema = [torch.zeros(2)]
    update(ema, current, torch.tensor(1000))  # warmed up: d = 0.9
    assert torch.allclose(ema[0], torch.full((2,), 0.1))


def test_the_ema_update_never_reads_a_tensor_to_the_host():
    """On a GPU a host read is a sync every G step: the update's ops must stay on the device
    (a 0-dim tensor passed as lerp's weight would be read back with .item())."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append(str(func))
            return func(*args, **(kwargs or {}))

    update = warmup_ema(0.999)
    ema, current = [torch.zeros(3), torch.zeros(2)], [torch.ones(3), torch.ones(2)]
    with Ops() as ops:
        update(ema, current, torch.tensor(5))
    assert ops.seen and not [op for op in ops.seen if "local_scalar_dense" in op], ops.seen
    assert torch.allclose(ema[0], torch.full((3,), 1 - 6 / 15))  # d_5 = min(0.999, 6/15)


def test_ema_averages_batchnorm_buffers_and_copies_at_first_update():
    g, _ = make_gan(
        "mlp",
        (1, 8, 8),
        latent_dim=4,
        num_classes=0,
        minibatch_std=0,
        classifier=False,
        hidden=16,
        layers=2,
    )
    ema = make_ema(g, 0.99)
    assert not any(p.requires_grad for p in ema.parameters())
    g.train()
    g(torch.randn(16, 4))  # moves the BN running statistics
    ema.update_parameters(g)  # the first update copies
    bn = next(m for m in g.modules() if isinstance(m, torch.nn.BatchNorm1d))
    bn_ema = next(m for m in ema.module.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert torch.equal(bn.running_mean, bn_ema.running_mean)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    g(torch.randn(16, 4))
    ema.update_parameters(g)  # d_1 = 2/11 of the old, 9/11 of the new
    w, w_ema = g.body.net[0].weight, ema.module.body.net[0].weight
    assert torch.allclose(w_ema, w - 2 / 11, atol=1e-6)
    assert not torch.equal(bn.running_mean, bn_ema.running_mean)  # averaged, not copied


GAN_RUN = ["model=cgan", "data.image_shape=[1,8,8]", "arch.hidden=16", "trainer.epochs=2"]


def test_samples_come_from_the_ema_generator_and_survive_a_reload(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg(*GAN_RUN, "model.ema=0.5"), tmp_path)
    trainer.fit()
    trainer.close()
    model = trainer.step
    assert set(model.networks) == {"generator", "discriminator", "generator_ema"}
    z, y = model.fixed_z[:10], model.fixed_y[:10]
    model.G_ema.module.eval()
    model.G.eval()
    ema_images = (model.G_ema.module(z, y) + 1) / 2
    assert torch.equal(model.decode(z, y), ema_images)
    assert not torch.equal(model.decode(z, y, online=True), ema_images)  # G itself differs
    assert {"samples", "samples_online"} == set(model.grids())
    _, loaded, _ = load_run(tmp_path, "cpu")  # what genlab.sample / evaluate use
    assert torch.equal(loaded.decode(z, y), ema_images)


def test_no_ema_samples_from_g(compose_cfg, tmp_path):
    cfg = compose_cfg(*GAN_RUN, "trainer.epochs=0", "model.ema=null")
    trainer = make_trainer(cfg, tmp_path)
    assert trainer.step.G_ema is None and trainer.step.sampler is trainer.step.G
    assert set(trainer.step.grids()) == {"samples"}


# --- spectral norm ---------------------------------------------------------------------------


def top_singular_value(weight: torch.Tensor, transposed: bool = False) -> float:
    w = weight.transpose(0, 1) if transposed else weight
    return torch.linalg.matrix_norm(w.flatten(1), ord=2).item()


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_spectral_norm_keeps_every_d_weight_near_one(arch):
    torch.manual_seed(0)
    _, d = make_gan(
        arch,
        (1, 28, 28),
        4,
        10,
        minibatch_std=0,
        classifier=False,
        hidden=32,
        layers=2,
        channels=8,
        blocks=1,
        fc=0,
    )
    apply_spectral_norm(d)
    kinds = torch.nn.Linear | torch.nn.Conv2d | torch.nn.Embedding
    layers = [m for m in d.modules() if isinstance(m, kinds)]
    assert all(hasattr(m, "parametrizations") for m in layers)  # every one, embedding included
    assert any(isinstance(m, torch.nn.Embedding) for m in layers)
    assert arch == "mlp" or any(isinstance(m, torch.nn.Conv2d) for m in layers)
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8)
    for _ in range(30):  # one power iteration per forward in train mode
        d(x, y)
    d.eval()
    for m in layers:
        assert top_singular_value(m.weight) == pytest.approx(1.0, abs=0.05)
    raw = [top_singular_value(m.parametrizations.weight.original) for m in layers]
    assert max(raw) > 1.2  # the raw weights are not normalised: SN did the work


# --- two learning rates and schedules --------------------------------------------------------


def test_generator_and_discriminator_get_their_own_learning_rates(compose_cfg, tmp_path):
    cfg = compose_cfg(*GAN_RUN, "optimizer.lr=1e-4", "optimizer.lr_d=4e-4", "trainer.epochs=0")
    opts = make_trainer(cfg, tmp_path).step.optimizers
    assert opts["generator"].param_groups[0]["lr"] == 1e-4
    assert opts["discriminator"].param_groups[0]["lr"] == 4e-4
    same = make_trainer(compose_cfg(*GAN_RUN, "trainer.epochs=0"), tmp_path / "same")
    assert same.step.optimizers["discriminator"].param_groups[0]["lr"] == 2e-4  # lr_d: null


@pytest.mark.parametrize(
    "name, halfway",
    [("constant", 1.0), ("linear", 0.5), ("cosine", (1 + math.cos(math.pi / 2)) / 2)],
)
def test_schedules_from_lr_to_zero(name, halfway):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = make_scheduler(opt, name, total_steps=10)
    lrs = []
    for _ in range(10):
        opt.step()
        if sched is not None:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[4] == pytest.approx(2.0 * halfway)  # after 5 of 10 steps
    assert lrs[-1] == pytest.approx(2.0 if name == "constant" else 0.0, abs=1e-12)


def test_a_run_ends_its_schedule_at_zero_and_logs_the_rates(compose_cfg, tmp_path):
    cfg = compose_cfg(*GAN_RUN, "optimizer.schedule=linear", "optimizer.lr_d=4e-4")
    trainer = make_trainer(cfg, tmp_path)
    last = trainer.fit()
    trainer.close()
    assert trainer.step.optimizers["generator"].param_groups[0]["lr"] == pytest.approx(0.0)
    assert last["lr_generator"] == pytest.approx(0.0) and "lr_discriminator" in last


@pytest.mark.parametrize(
    "override, message",
    [
        ("optimizer.schedule=step", "optimizer.schedule=step"),
        ("optimizer.lr_d=-1", "optimizer.lr_d=-1"),
        ("model.ema=1.5", "model.ema=1.5"),
        ("model.spectral_norm=maybe", "model.spectral_norm=maybe"),
        ("model.minibatch_std=-1", "model.minibatch_std=-1"),
        ("model.minibatch_std=true", "model.minibatch_std=True"),
    ],
)
def test_bad_extras_fail_early(compose_cfg, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        make_trainer(compose_cfg(*GAN_RUN, override), tmp_path)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "lsgan", "hinge", "wgan_gp"])
def test_ema_spectral_norm_and_minibatch_std_train_with_every_loss(
    compose_cfg, tmp_path, arch, loss
):
    overrides = ["model=cgan", f"arch={arch}", f"loss={loss}", "model.spectral_norm=true"]
    overrides.append("model.minibatch_std=2")
    size = "arch.hidden=16" if arch == "mlp" else "arch.channels=4"
    sizes = ["data.image_shape=[1,8,8]", size, "trainer.max_steps=3"]
    cfg = compose_cfg(*overrides, *sizes, "model.ema=0.9", "eval.at_end=false")
    trainer = make_trainer(cfg, tmp_path)
    last = trainer.fit()
    trainer.close()
    assert all(math.isfinite(v) for v in last.values())
    assert trainer.step.G_ema.n_averaged.item() == 3  # one EMA update per G step


# --- minibatch standard deviation -----------------------------------------------------------


def test_minibatch_std_appends_each_groups_spread_and_keeps_groups_apart():
    h = torch.randn(8, 5)
    out = minibatch_std(h, 4)
    assert out.shape == (8, 6) and torch.equal(out[:, :5], h)
    first = h[:4].std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[:4, 5], first.expand(4), atol=1e-4)
    h2 = h.clone()
    h2[4:] = 0  # a collapsed second group: spread ~0, and the first group does not see it
    out2 = minibatch_std(h2, 4)
    assert torch.equal(out2[:4], out[:4]) and out2[4:, 5].max() < 1e-3
    assert minibatch_std(h[:6], 4)[:, 5].unique().numel() == 3  # groups shrink to divide 6: 2


@pytest.mark.parametrize("batch", [8, 6])  # groups of 4; at 6 they shrink to 2 (dividing 6)
def test_minibatch_std_never_mixes_real_and_fake_images(compose_cfg, tmp_path, batch):
    cfg = compose_cfg(*GAN_RUN, "model.minibatch_std=4", f"data.batch_size={batch}")
    step = make_trainer(cfg, tmp_path).step
    x, fake = torch.rand(batch, 1, 8, 8) * 2 - 1, torch.rand(batch, 1, 8, 8) * 2 - 1
    y = torch.arange(batch) % 10
    d_real, d_fake, _ = step._d_both(x, fake, y)
    with torch.no_grad():
        assert torch.allclose(d_real, step.D(x, y).float(), atol=1e-5)
        assert torch.allclose(d_fake, step.D(fake, y).float(), atol=1e-5)


# --- auxiliary classifier (AC-GAN) -----------------------------------------------------------


def test_the_auxiliary_classifier_learns_the_real_classes_and_g_is_rewarded_by_it(
    compose_cfg, tmp_path
):
    step = make_trainer(compose_cfg(*GAN_RUN, "model.aux_classifier=1.0"), tmp_path).step
    assert step.D.classifier.out_features == 10
    x, fake, y = torch.rand(8, 1, 8, 8), torch.rand(8, 1, 8, 8), torch.arange(8)
    _, _, classes = step._d_both(x, fake, y)
    with torch.no_grad():
        assert torch.allclose(classes, step.D(x, y, classes=True)[1], atol=1e-5)
    after = {}
    for weight in (1.0, 0.0):  # the same networks, optimisers and batch; with the class loss or not
        other = copy.deepcopy(step)
        other.aux_weight = weight
        torch.manual_seed(0)
        other.train_step(x, y, 0)
        after[weight] = other
    assert not torch.equal(after[1.0].D.classifier.weight, after[0.0].D.classifier.weight)
    # with D frozen (lr 1e-30), G's update still differs: the class loss is in G's loss too
    frozen = compose_cfg(*GAN_RUN, "model.aux_classifier=1.0", "optimizer.lr_d=1e-30")
    step = make_trainer(frozen, tmp_path / "frozen").step
    for weight in (1.0, 0.0):
        other = copy.deepcopy(step)
        other.aux_weight = weight
        torch.manual_seed(0)
        other.train_step(x, y, 0)
        assert torch.equal(other.D.classifier.weight, step.D.classifier.weight)
        after[weight] = other
    assert not torch.equal(after[1.0].G.body.net[0].weight, after[0.0].G.body.net[0].weight)


def test_the_auxiliary_classifier_needs_labels(compose_cfg, tmp_path):
    with pytest.raises(ConfigError, match="model.aux_classifier does not apply to model=gan"):
        make_trainer(compose_cfg("model=gan", "+model.aux_classifier=1.0"), tmp_path)
