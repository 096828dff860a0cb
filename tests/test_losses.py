"""Every loss against values worked out by hand on tiny tensors, and the properties the lectures
name: the saturating G loss vanishes where D(G(z)) ~ 0, the gradient penalty is 0 at unit norm,
the analytic KL matches a Monte Carlo estimate."""

import math

import pytest
import torch
import torch.nn.functional as F

from genlab.config.build import to_dict
from genlab.config.checks import validate
from genlab.errors import ConfigError
from genlab.losses import GAN_LOSSES, gradient_penalty, kl_normal
from genlab.losses.elbo import VAELoss, bernoulli_nll, continuous_bernoulli_nll, gaussian_nll

REAL = torch.tensor([0.0, 2.0])  # D's outputs (logits / critic scores) on two real images
FAKE = torch.tensor([0.0, -1.0])  # ... and on two generated ones


def softplus(v: float) -> float:  # log(1 + e^v)
    return math.log1p(math.exp(v))


def vae_loss(recon: str = "bernoulli", **weights) -> VAELoss:
    """The plain negative ELBO unless weights say otherwise."""
    plain = {"beta": 1.0, "recon_weight": 1.0, "pixel_mean": False, "binarize": False}
    plain["sigma"] = 0.5**0.5 if recon == "gaussian" else None  # R = the plain squared error
    return VAELoss(recon, **{**plain, **weights})


# -log D(x) = softplus(-l), -log(1 - D(G(z))) = softplus(l), for D = sigmoid(l)
BCE_D = (softplus(-0.0) + softplus(-2.0)) / 2 + (softplus(0.0) + softplus(-1.0)) / 2
D_HAND = {
    "minimax": BCE_D,
    "non_saturating": BCE_D,
    "lsgan": 0.5 * ((0 - 1) ** 2 + (2 - 1) ** 2) / 2 + 0.5 * (0**2 + 1**2) / 2,  # = 0.5
    "wgan_gp": (0.0 - 1.0) / 2 - (0.0 + 2.0) / 2,  # E[D(G(z))] - E[D(x)] = -1.5
    "hinge": (1 + 0) / 2 + (1 + 0) / 2,  # relu(1 - [0, 2]) = [1, 0]; relu(1 + [0, -1]) = [1, 0]
}
G_HAND = {
    "minimax": -(softplus(0.0) + softplus(-1.0)) / 2,  # E[log(1 - D(G(z)))]
    "non_saturating": (softplus(-0.0) + softplus(1.0)) / 2,  # -E[log D(G(z))]
    "lsgan": 0.5 * ((0 - 1) ** 2 + (-1 - 1) ** 2) / 2,  # = 1.25
    "wgan_gp": 0.5,  # -E[D(G(z))]
    "hinge": 0.5,
}


@pytest.mark.parametrize("name", sorted(GAN_LOSSES))
def test_gan_losses_match_hand_computed_values(name):
    loss = GAN_LOSSES[name]
    assert loss.d_loss(REAL, FAKE, 1.0).item() == pytest.approx(D_HAND[name], abs=1e-6)
    assert loss.g_loss(FAKE).item() == pytest.approx(G_HAND[name], abs=1e-6)


def test_one_sided_label_smoothing_moves_only_the_real_target():
    t = 0.9  # BCE(l, t) = t * softplus(-l) + (1 - t) * softplus(l)
    real = sum(t * softplus(-v) + (1 - t) * softplus(v) for v in (0.0, 2.0)) / 2
    fake = (softplus(0.0) + softplus(-1.0)) / 2
    got = GAN_LOSSES["non_saturating"].d_loss(REAL, FAKE, t).item()
    assert got == pytest.approx(real + fake, abs=1e-6)
    lsgan = 0.5 * ((0 - t) ** 2 + (2 - t) ** 2) / 2 + 0.5 * (0 + 1) / 2
    assert GAN_LOSSES["lsgan"].d_loss(REAL, FAKE, t).item() == pytest.approx(lsgan, abs=1e-6)


@pytest.mark.parametrize("name", sorted(GAN_LOSSES))
def test_gan_losses_are_finite_at_extreme_logits(name):
    out = torch.tensor([-200.0, 200.0], requires_grad=True)  # sigmoid saturates to 0 and 1
    loss = GAN_LOSSES[name]
    total = loss.d_loss(out, out, 1.0) + loss.g_loss(out)
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(out.grad).all()


def test_minimax_gradient_vanishes_where_d_rejects_fakes_but_non_saturating_does_not():
    # early training: D(G(z)) = sigmoid(-10) ~ 4.5e-5
    grads = {}
    for name in ("minimax", "non_saturating"):
        fake = torch.full((4,), -10.0, requires_grad=True)
        GAN_LOSSES[name].g_loss(fake).backward()
        grads[name] = fake.grad.abs().sum().item()
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ 4.5e-5; d/dl -log sigmoid(l) = -(1 - sigmoid(l)) ~ -1
    assert grads["minimax"] == pytest.approx(torch.sigmoid(torch.tensor(-10.0)).item(), rel=1e-4)
    assert grads["non_saturating"] == pytest.approx(1.0, rel=1e-4)
    assert grads["non_saturating"] > 1e4 * grads["minimax"]


@pytest.mark.parametrize("norm, penalty", [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_is_zero_for_a_unit_norm_critic(norm, penalty):
    torch.manual_seed(0)
    w = torch.randn(1, 2, 3, 3)
    w = norm * w / w.norm()  # D(x) = w . x has grad_x D = w everywhere

    def critic(x, y=None):
        return (x * w).flatten(1).sum(dim=1)

    real, fake = torch.randn(5, 2, 3, 3), torch.randn(5, 2, 3, 3)
    gp = gradient_penalty(critic, real, fake, None)  # (||w|| - 1)^2
    assert gp.item() == pytest.approx(penalty, abs=1e-6)


def test_gradient_penalty_reaches_the_critic_weights():
    w = torch.tensor([3.0, 4.0], requires_grad=True)  # ||w|| = 5: penalty (5 - 1)^2 = 16
    gp = gradient_penalty(lambda x: x @ w, torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    assert gp.item() == pytest.approx(16.0)
    assert torch.allclose(w.grad, 2 * (5 - 1) * w.detach() / 5)  # d/dw (||w|| - 1)^2


def test_analytic_kl_matches_a_monte_carlo_estimate():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[0.5, -1.0, 0.2]]), torch.tensor([[0.3, -0.7, 0.0]])
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(0.0, 1.0)
    z = q.sample((200_000,))  # KL = E_q[log q(z) - log p(z)]
    per_sample = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    mc, stderr = per_sample.mean(), per_sample.std() / math.sqrt(len(per_sample))
    assert abs(kl_normal(mu, logvar).item() - mc.item()) < 4 * stderr.item()


def test_gaussian_loss_is_the_negative_elbo_up_to_its_constant():
    torch.manual_seed(0)
    x, logits = torch.rand(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
    sigma, d = 0.1, 16
    terms = vae_loss("gaussian", sigma=sigma)(logits, x, mu, logvar)
    constant = d * math.log(sigma * math.sqrt(2 * math.pi))  # the Gaussian's log normaliser
    assert terms["loss"].item() == pytest.approx(terms["neg_elbo"].item() - constant, rel=1e-6)
    normal = torch.distributions.Normal(torch.sigmoid(logits), sigma)
    nll = -normal.log_prob(x).flatten(1).sum(1)  # torch's density: the same nats
    torch.testing.assert_close(gaussian_nll(torch.sigmoid(logits), x, sigma), nll)
    assert terms["recon"].item() == pytest.approx(nll.mean().item(), rel=1e-6)


def test_continuous_bernoulli_is_a_density_on_the_unit_interval_and_stable_near_a_half():
    grid = torch.linspace(0, 1, 20001)
    for lam in (0.02, 0.3, 0.4999, 0.5, 0.5001, 0.9):  # 1/2 is where C(lambda)'s formula is 0/0
        logit = torch.logit(torch.tensor(lam)).expand(len(grid), 1)
        density = (-continuous_bernoulli_nll(logit, grid.view(-1, 1))).exp()
        assert torch.isfinite(density).all()
        assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-4), lam
    logits = torch.tensor([[[[0.0, 2.0]]]])
    x = torch.tensor([[[[0.3, 0.8]]]])
    lam = 1 / (1 + math.exp(-2.0))
    log_c = math.log(2.0) + math.log(2 * math.atanh(1 - 2 * lam) / (1 - 2 * lam))  # C(1/2) = 2
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
    assert continuous_bernoulli_nll(logits, x).item() == pytest.approx(bce - log_c, rel=1e-5)


def test_continuous_bernoulli_grids_show_its_mean_not_lambda():
    loss = vae_loss("continuous_bernoulli")
    logits = torch.tensor([-3.0, 0.0, 3.0])
    lam = torch.sigmoid(logits)
    mean = lam / (2 * lam - 1) + 1 / (2 * torch.atanh(1 - 2 * lam))  # its closed-form mean
    mean[1] = 0.5
    torch.testing.assert_close(loss.mean(logits), mean)
    assert not torch.allclose(loss.mean(logits), lam)


def test_lab_and_celeba_weightings():
    x = torch.tensor([[[[1.0, 0.0]]]])
    logits = torch.tensor([[[[0.0, 2.0]]]])
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.zeros(1, 2)  # KL = 0.5 * (1 + 4) = 2.5
    bce = math.log(2) + softplus(2.0)  # summed over the 2 pixels
    lab = vae_loss("bernoulli", recon_weight=10.0, pixel_mean=True)(logits, x, mu, logvar)
    assert lab["loss"].item() == pytest.approx(10 * bce / 2 + 2.5)  # CS4243 lab 1
    assert lab["recon"].item() == pytest.approx(bce)  # reported in nats, unweighted
    m = torch.sigmoid(torch.tensor([0.0, 2.0]))
    mse = ((1 - m[0]) ** 2 + m[1] ** 2).item() / 2
    deck = vae_loss("gaussian", beta=0.00024, pixel_mean=True)(logits, x, mu, logvar)
    assert deck["loss"].item() == pytest.approx(mse + 0.00024 * 2.5)  # the CelebA deck
    assert deck["kl"].item() == pytest.approx(2.5)


def test_unknown_reconstruction_is_refused(compose_cfg):
    c = to_dict(compose_cfg("model=vae"))
    c["loss"]["name"] = "laplace"
    with pytest.raises(
        ConfigError, match="model=vae cannot train with loss=laplace; with model=vae"
    ):
        validate(c)


def test_kl_matches_hand_computed_value():
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2) = 0.5 * ((1 + 1 - 1 - 0) + (4 + 4 - 1 - log 4))
    expected = 0.5 * (1.0 + (7.0 - math.log(4.0)))
    assert torch.allclose(kl_normal(mu, logvar), torch.tensor([expected]))


def test_kl_is_zero_at_the_prior():
    assert torch.allclose(kl_normal(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_bernoulli_nll_is_summed_bce_per_image():
    logits = torch.tensor([[[[0.0, 2.0]]]])
    x = torch.tensor([[[[1.0, 0.0]]]])
    # -log sigmoid(0) - log(1 - sigmoid(2)) = log 2 + log(1 + e^2)
    expected = math.log(2) + math.log(1 + math.e**2)
    assert torch.allclose(bernoulli_nll(logits, x), torch.tensor([expected]))


def test_vae_loss_terms_add_up_to_the_negative_elbo():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 1, 3, 3), torch.rand(4, 1, 3, 3)
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    terms = vae_loss()(logits, x, mu, logvar)
    assert torch.allclose(terms["neg_elbo"], terms["recon"] + terms["kl"])
    assert torch.allclose(terms["loss"], terms["neg_elbo"])
