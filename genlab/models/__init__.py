"""Network factories: a family (vae / gan / cgan) and an architecture (mlp / cnn) by name."""

from __future__ import annotations

from torch import nn

from genlab.models.cnn import ConvDecoder, ConvEncoder
from genlab.models.gan import Discriminator, Generator
from genlab.models.mlp import MLPDecoder, MLPEncoder
from genlab.models.vae import VAE

ARCHS = ("mlp", "cnn")


def make_encoder(
    arch: str, image_shape, *, hidden=512, layers=2, channels=32, blocks=1, act=nn.LeakyReLU
):
    if arch == "mlp":
        return MLPEncoder(image_shape, hidden, layers, act)
    if arch == "cnn":
        return ConvEncoder(image_shape, channels, act, blocks)
    raise ValueError(f"arch={arch} is not known; choose one of {', '.join(ARCHS)}")


def make_decoder(
    arch: str,
    in_dim: int,
    image_shape,
    *,
    hidden=512,
    layers=2,
    channels=32,
    blocks=1,
    batchnorm=True,
):
    if arch == "mlp":
        return MLPDecoder(in_dim, image_shape, hidden, layers, batchnorm)
    if arch == "cnn":
        return ConvDecoder(in_dim, image_shape, channels, batchnorm, blocks)
    raise ValueError(f"arch={arch} is not known; choose one of {', '.join(ARCHS)}")


def make_vae(arch: str, image_shape, latent_dim: int, **sizes) -> VAE:
    encoder = make_encoder(arch, image_shape, act=nn.ReLU, **sizes)
    decoder = make_decoder(arch, latent_dim, image_shape, batchnorm=False, **sizes)
    return VAE(encoder, decoder, latent_dim)


def make_gan(arch: str, image_shape, latent_dim: int, num_classes: int = 0, **sizes):
    """Returns (generator, discriminator); num_classes > 0 conditions both on the label."""
    body = make_decoder(arch, latent_dim + num_classes, image_shape, batchnorm=True, **sizes)
    generator = Generator(body, latent_dim, num_classes)
    discriminator = Discriminator(make_encoder(arch, image_shape, **sizes), num_classes)
    return generator, discriminator
