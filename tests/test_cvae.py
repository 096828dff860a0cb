"""The conditional VAE (model=cvae): q(z|x,y) and p(x|z,y), its conditional ELBO and IW-NLL in
nats, the 10 x 10 class grid, sampling by class, and the one-line refusals."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

import genlab
from genlab import sample
from genlab.errors import ConfigError
from genlab.losses.elbo import VAELoss
from genlab.metrics.likelihood import vae_bounds
from genlab.models import make_vae
from genlab.models.vae import VAE
from tests.conftest import T, exit_status

SIZES = {"hidden": 32, "layers": 2, "channels": 8, "blocks": 1, "fc": 0}


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_cvae_shapes_and_both_sides_see_the_class(arch, shape):
    vae = make_vae(arch, shape, latent_dim=5, num_classes=10, **SIZES)
    x, y = torch.rand(4, *shape), torch.tensor([0, 3, 7, 9])
    logits, mu, logvar = vae(x, y=y)
    assert logits.shape == (4, *shape) and mu.shape == logvar.shape == (4, 5)
    other = (y + 1) % 10
    assert not torch.allclose(vae.encode(x, y)[0], vae.encode(x, other)[0])  # q(z | x, y)
    z = torch.randn(4, 5)
    assert not torch.allclose(vae.decode(z, y), vae.decode(z, other))  # p(x | z, y)


class Blind(nn.Module):
    """An encoder body that sees nothing of x: q(z | x, y) is then set by the class alone."""

    out_dim = 1

    def forward(self, x):
        return torch.zeros(len(x), 1)


def hand_checked_cvae() -> VAE:
    """Two pixels, one latent, two classes; the decoder ignores z. Class 0: q = N(0, 1) = p(z),
    pixel probabilities (1/2, 1/2); class 1: q = N(1/2, 4), probabilities (1/2, 3/4)."""
    vae = VAE(Blind(), nn.Sequential(nn.Linear(3, 2), nn.Unflatten(1, (1, 1, 2))), 1, 2)
    with torch.no_grad():
        for layer in (vae.stats, vae.decoder[0]):
            layer.weight.zero_()
            layer.bias.zero_()
        vae.stats.weight[:, 2] = torch.tensor([0.5, math.log(4.0)])  # class 1's mu and logvar
        vae.decoder[0].weight[:, 2] = torch.tensor([0.0, math.log(3.0)])  # class 1's logits
    return vae


def test_conditional_elbo_and_iw_nll_on_a_hand_checked_case():
    vae = hand_checked_cvae()
    loss = VAELoss("bernoulli", 1.0, 1.0, False, False, None)
    x = torch.tensor([[[[1.0, 0.0]]], [[[1.0, 0.0]]]])
    y = torch.tensor([0, 1])
    torch.manual_seed(0)
    bounds = vae_bounds(vae, x, loss, k=4096, y=y)
    nll = torch.tensor([2 * math.log(2), math.log(2) + math.log(4)])  # -log p(x | y)
    kl = torch.tensor([0.0, 0.5 * (0.25 + 4 - 1 - math.log(4))])  # KL(q(z|x,y) || N(0, 1))
    assert bounds["neg_elbo"] == pytest.approx(nll + kl, abs=1e-5)
    # p(x | z, y) ignores z, so the importance-weighted bound is -log p(x | y) itself: exactly
    # where q = p(z), within Monte Carlo error where q is wider than p(z)
    assert bounds["iw_nll"][0].item() == pytest.approx(nll[0].item(), abs=1e-5)
    assert bounds["iw_nll"][1].item() == pytest.approx(nll[1].item(), abs=0.03)
    logits, mu, logvar = vae(x, y=y)  # the training objective: the same nats
    terms = loss(logits, x, mu, logvar)
    assert terms["neg_elbo"].item() == pytest.approx((nll + kl).mean().item(), abs=1e-5)
    swapped = vae_bounds(vae, x, loss, k=1, y=1 - y)["neg_elbo"]
    assert not torch.allclose(swapped, bounds["neg_elbo"])  # the class is part of the model


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_cvae_trains_draws_a_class_grid_and_samples_by_class(in_tmp, arch):
    small = [o for o in T if not o.startswith("arch.")]
    extra = ["arch.hidden=32"] if arch == "mlp" else ["arch.channels=4"]
    run = genlab.train("model=cvae", f"arch={arch}", *extra, *small)
    assert run.status["status"] == "finished"
    assert {"class_accuracy", "neg_elbo", "iw_nll", "fid"} <= set(run.metrics)
    assert run.grid().size == (10 * 30 + 2, 10 * 30 + 2)  # 10 x 10: row k is class k
    last = sorted((run.dir / "images").glob("samples_step*.png"))[-1]
    assert Image.open(last).size == (10 * 30 + 2, 10 * 30 + 2)  # the grid the trainer logged
    acc = EventAccumulator(str(run.dir), size_guidance={"images": 0})
    acc.Reload()
    assert {"images/samples", "images/reconstructions"} <= set(acc.Tags()["images"])
    step = run._step
    rows = step.grids()["samples"][0].view(10, 10, *step.image_shape)
    z = step.fixed_z.view(10, 10, -1)
    for k in (0, 7):  # row k decodes its latents with label k
        assert torch.allclose(rows[k], step.decode(z[k], torch.full((10,), k)), atol=1e-6)
    three = run.sample(6, labels=3)
    again = step.sample(6, torch.full((6,), 3), torch.Generator().manual_seed(0))
    assert torch.allclose(three, (again * 255).round() / 255)  # the same draws, as uint8 levels
    assert not torch.allclose(three, run.sample(6, labels=4))
    with pytest.raises(ConfigError, match="labels=10 is not a class"):
        run.sample(6, labels=10)
    npz = sample.main([f"run={run.dir}", "n=5", "label=2", f"out={in_tmp / 'two.npz'}"])
    with np.load(npz) as f:
        assert f["labels"].tolist() == [2] * 5 and f["images"].shape == (5, 28, 28)


@pytest.mark.parametrize(
    "args, message",
    [
        (["data.num_classes=1"], "model=cvae needs images with class labels; data=synthetic has"),
        (["prior=uniform"], "model=cvae cannot use prior=uniform"),
        (["loss=hinge"], "model=cvae cannot train with loss=hinge"),
    ],
)
def test_cvae_bad_input_is_one_line_before_any_work(in_tmp, capsys, args, message):
    from genlab.train import cli

    assert exit_status(cli, [*T, "model=cvae", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not list(in_tmp.rglob("*.pt"))


def test_sampling_a_class_the_cvae_does_not_have_is_one_line(in_tmp, capsys):
    run = genlab.train("model=cvae", "eval.at_end=false", *T)
    capsys.readouterr()  # what training printed
    with pytest.raises(SystemExit) as e:
        sample.main([f"run={run.dir}", "label=10"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "label=10 is not a class; choose 0 to 9" in err and err.count("\n") == 1
