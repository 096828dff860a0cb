import pytest
import torch

from genlab.models import make_gan, make_vae
from genlab.models.vae import VAE

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("shape", SHAPES)
def test_vae_shapes(arch, shape):
    vae = make_vae(arch, shape, latent_dim=5, hidden=32, layers=2, channels=8, blocks=1, fc=0)
    x = torch.rand(4, *shape)
    logits, mu, logvar = vae(x)
    assert logits.shape == (4, *shape)
    assert mu.shape == logvar.shape == (4, 5)
    assert vae.decode(torch.randn(3, 5)).shape == (3, *shape)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_vae_activation_reaches_every_hidden_layer_of_both_networks(arch):
    sizes = {"hidden": 16, "layers": 2, "channels": 4, "blocks": 2, "fc": 8}
    for name, kind in [("relu", torch.nn.ReLU), ("silu", torch.nn.SiLU)]:
        vae = make_vae(arch, (1, 28, 28), 5, name, **sizes)
        for net in (vae.encoder, vae.decoder):
            acts = [m for m in net.modules() if not list(m.children()) and not m._parameters]
            acts = [
                m
                for m in acts
                if not isinstance(m, torch.nn.Flatten | torch.nn.Unflatten | torch.nn.Identity)
            ]
            assert acts and all(type(m) is kind for m in acts), (name, acts)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("classes", [0, 10])
def test_gan_shapes(arch, shape, classes):
    g, d = make_gan(
        arch,
        shape,
        6,
        classes,
        minibatch_std=0,
        classifier=False,
        hidden=32,
        layers=2,
        channels=8,
        blocks=1,
        fc=0,
    )
    y = torch.arange(4) % 10 if classes else None
    fake = g(torch.randn(4, 6), y)
    assert fake.shape == (4, *shape)
    assert d(fake, y).shape == (4,)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_generator_images_stay_in_tanh_range_when_its_body_is_far_outside(arch):
    g, _ = make_gan(
        arch,
        (1, 28, 28),
        6,
        0,
        minibatch_std=0,
        classifier=False,
        hidden=32,
        layers=2,
        channels=8,
        blocks=1,
        fc=0,
    )
    with torch.no_grad():
        for p in g.parameters():
            p.mul_(50)  # the body's pre-activations now reach far beyond [-1, 1]
    g.eval()
    fake = g(torch.randn(8, 6))
    assert g.body(torch.randn(8, 6)).abs().max() > 2  # the case the tanh must handle
    assert fake.min() >= -1 and fake.max() <= 1


def test_cnn_is_symmetric_and_normalises_after_g_first_layer():
    g, d = make_gan(
        "cnn",
        (1, 28, 28),
        latent_dim=8,
        num_classes=0,
        minibatch_std=0,
        classifier=False,
        channels=8,
        blocks=1,
        fc=0,
    )
    strided = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    upsampling = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.stride for m in strided] == [(2, 2)] * 2
    assert [m.stride for m in upsampling] == [(2, 2)] * 2
    layers = list(g.body.net)
    assert isinstance(layers[0], torch.nn.Linear) and isinstance(layers[1], torch.nn.BatchNorm1d)


def test_cgan_label_changes_both_networks():
    torch.manual_seed(0)
    g, d = make_gan(
        "mlp",
        (1, 28, 28),
        latent_dim=6,
        num_classes=10,
        minibatch_std=0,
        classifier=False,
        hidden=32,
        layers=2,
    )
    g.eval()
    z = torch.randn(2, 6)
    a, b = g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    x = torch.rand(2, 1, 28, 28)
    torch.nn.init.normal_(d.embed.weight)
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([1, 1])))


def test_reparameterisation_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(3, 2, requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    VAE.reparameterize(mu, logvar).pow(2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_cnn_blocks_deepen_both_networks_symmetrically():
    g, d = make_gan(
        "cnn",
        (1, 28, 28),
        latent_dim=8,
        num_classes=0,
        minibatch_std=0,
        classifier=False,
        channels=8,
        blocks=3,
        fc=0,
    )
    d_convs = [
        (m.in_channels, m.out_channels) for m in d.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    g_convs = [
        (m.in_channels, m.out_channels)
        for m in g.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    assert len(d_convs) == len(g_convs) == 6  # 2 levels x (1 strided + 2 3x3)
    assert g_convs == [(o, i) for i, o in reversed(d_convs)]  # G mirrors D
    assert g(torch.randn(2, 8)).shape == (2, 1, 28, 28) and d(torch.rand(2, 1, 28, 28)).shape == (
        2,
    )


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_cnn_fc_adds_one_fully_connected_layer_each_side(family):
    sizes = {"channels": 8, "blocks": 1, "fc": 40}
    if family == "gan":
        g, d = make_gan("cnn", (1, 28, 28), 6, 10, minibatch_std=0, classifier=False, **sizes)
        decoder, encoder = g.body, d.body
    else:
        vae = make_vae("cnn", (1, 28, 28), latent_dim=6, **sizes)
        decoder, encoder = vae.decoder, vae.encoder
    first = [m for m in decoder.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in first] == [
        (16 if family == "gan" else 6, 40),  # the latent (+ one-hot label) -> fc
        (40, 16 * 7 * 7),
    ]
    last = [m for m in encoder.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in last] == [(16 * 7 * 7, 40)]
    assert encoder.out_dim == 40
    if family == "gan":
        assert d(torch.rand(4, 1, 28, 28), torch.arange(4)).shape == (4,)
        assert g(torch.randn(4, 6), torch.arange(4)).shape == (4, 1, 28, 28)
