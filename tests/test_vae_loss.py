import math

import torch

from genlab.losses.vae import VAELoss, bernoulli_nll, kl_normal


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
    terms = VAELoss()(logits, x, mu, logvar)
    assert torch.allclose(terms["neg_elbo"], terms["recon"] + terms["kl"])
    assert torch.allclose(terms["loss"], terms["neg_elbo"])
