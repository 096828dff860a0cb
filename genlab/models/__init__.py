"""Network factories: a family (vae / cvae / gan / cgan) and an architecture (mlp / cnn) by name."""

from __future__ import annotations

from functools import partial

from torch import nn

from genlab.models.cnn import ConvDecoder, ConvEncoder
from genlab.models.gan import Discriminator, Generator
from genlab.models.mlp import MLPDecoder, MLPEncoder
from genlab.models.spectral import apply_spectral_norm
from genlab.models.vae import VAE

ARCHS = ("mlp", "cnn")
LEAKY_RELU = partial(nn.LeakyReLU, 0.2)  # the discriminator's activation (DCGAN)
# the VAE's hidden activation, by `model.activation`; the GANs keep DCGAN's ReLU G and leaky D
ACTIVATIONS = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": LEAKY_RELU,
}


def make_encoder(arch: str, image_shape, act, **sizes):
    """image -> features; act() makes each activation layer. sizes: arch/<arch>.yaml's."""
    if arch == "mlp":
        return MLPEncoder(image_shape, sizes["hidden"], sizes["layers"], act)
    if arch == "cnn":
        return ConvEncoder(image_shape, sizes["channels"], act, sizes["blocks"], sizes["fc"])
    raise ValueError(f"unsupported arch {arch}")


def make_decoder(arch: str, in_dim: int, image_shape, batchnorm: bool, act, **sizes):
    """latent -> pre-activation image; act() makes each activation layer."""
    if arch == "mlp":
        return MLPDecoder(in_dim, image_shape, sizes["hidden"], sizes["layers"], batchnorm, act)
    if arch == "cnn":
        c, blocks, fc = sizes["channels"], sizes["blocks"], sizes["fc"]
        return ConvDecoder(in_dim, image_shape, c, batchnorm, act, blocks, fc)
    raise ValueError(f"unsupported arch {arch}")


def make_vae(
    arch: str, image_shape, latent_dim: int, activation: str = "relu", num_classes: int = 0, **sizes
) -> VAE:
    """sizes: hidden and layers (mlp) or channels, blocks and fc (cnn), as in arch/<arch>.yaml;
    activation: one of ACTIVATIONS, in the encoder and the decoder; num_classes > 0: the
    conditional VAE, both sides given the class."""
    act = ACTIVATIONS[activation]
    encoder = make_encoder(arch, image_shape, act, **sizes)
    decoder = make_decoder(arch, latent_dim + num_classes, image_shape, False, act, **sizes)
    return VAE(encoder, decoder, latent_dim, num_classes)


def make_gan(
    arch: str,
    image_shape,
    latent_dim: int,
    num_classes: int,
    *,
    minibatch_std: int,
    classifier: bool,
    spectral_norm: bool = False,
    **sizes,
):
    """Returns (generator, discriminator); num_classes > 0 conditions both on the label;
    minibatch_std > 0: D also sees its features' spread over groups of that many samples;
    classifier: D also predicts the class (AC-GAN); spectral_norm: every weight of D is
    spectrally normalised."""
    body = make_decoder(arch, latent_dim + num_classes, image_shape, True, nn.ReLU, **sizes)
    generator = Generator(body, latent_dim, num_classes)
    encoder = make_encoder(arch, image_shape, LEAKY_RELU, **sizes)
    discriminator = Discriminator(encoder, num_classes, minibatch_std, classifier)
    if spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator
