"""Network factories: a family (vae / gan / cgan) and an architecture (mlp / cnn) by name."""

from __future__ import annotations

from functools import partial

from torch import nn

from genlab.models.autoencoder import VAE
from genlab.models.cnn import ConvDecoder, ConvEncoder
from genlab.models.heads import Discriminator, Generator
from genlab.models.mlp import MLPDecoder, MLPEncoder

ARCHS = ("mlp", "cnn")
LEAKY_RELU = partial(nn.LeakyReLU, 0.2)  # the discriminator's activation (DCGAN)


def make_encoder(arch: str, image_shape, act, **sizes):
    """image -> features; act() makes each activation layer. sizes: arch/<arch>.yaml's."""
    if arch == "mlp":
        return MLPEncoder(image_shape, sizes["hidden"], sizes["layers"], act)
    if arch == "cnn":
        return ConvEncoder(image_shape, sizes["channels"], act, sizes["blocks"], sizes["fc"])
    raise ValueError(f"unsupported arch {arch}")


def make_decoder(arch: str, in_dim: int, image_shape, batchnorm: bool, **sizes):
    """latent -> pre-activation image."""
    if arch == "mlp":
        return MLPDecoder(in_dim, image_shape, sizes["hidden"], sizes["layers"], batchnorm)
    if arch == "cnn":
        c = sizes["channels"]
        return ConvDecoder(in_dim, image_shape, c, batchnorm, sizes["blocks"], sizes["fc"])
    raise ValueError(f"unsupported arch {arch}")


def make_vae(arch: str, image_shape, latent_dim: int, **sizes) -> VAE:
    """sizes: hidden and layers (mlp) or channels and blocks (cnn), as in arch/<arch>.yaml."""
    encoder = make_encoder(arch, image_shape, nn.ReLU, **sizes)
    decoder = make_decoder(arch, latent_dim, image_shape, False, **sizes)
    return VAE(encoder, decoder, latent_dim)


def make_gan(
    arch: str,
    image_shape,
    latent_dim: int,
    num_classes: int,
    *,
    minibatch_std: int,
    classifier: bool,
    **sizes,
):
    """Returns (generator, discriminator); num_classes > 0 conditions both on the label;
    minibatch_std > 0: D also sees its features' spread over groups of that many samples;
    classifier: D also predicts the class (AC-GAN)."""
    body = make_decoder(arch, latent_dim + num_classes, image_shape, True, **sizes)
    generator = Generator(body, latent_dim, num_classes)
    encoder = make_encoder(arch, image_shape, LEAKY_RELU, **sizes)
    discriminator = Discriminator(encoder, num_classes, minibatch_std, classifier)
    return generator, discriminator
