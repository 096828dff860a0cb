"""The hand-written recipe genlab is measured against.

As in Seanie Lee's VAE/GAN tutorial (KAIST; github.com/seanie12/vae_gan): a torchvision data set
with ToTensor through a DataLoader, a plain loop, the optimiser's default kernels, probabilities
from a sigmoid into nn.BCELoss, and every loss read with .item() at every step.
"""

from __future__ import annotations

import math

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

from genlab.benchmark.measure import StepClock
from genlab.data import ImageSet
from genlab.data.datasets import TORCHVISION_FOLDERS
from genlab.data.files import data_root, ensure_raw_files


class TutorialG(nn.Module):
    """The tutorial's generator: z -> 500 -> 500 -> pixels, ReLU, sigmoid output."""

    def __init__(self, z_dim: int, x_shape, hidden: int = 500):
        super().__init__()
        self.x_shape = tuple(x_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(x_shape)),
            nn.Sigmoid(),
        )

    def forward(self, z, y=None):
        return self.net(z).view(-1, *self.x_shape)


class TutorialD(nn.Module):
    """The tutorial's discriminator: pixels -> 500 -> 500 -> 1, ReLU, sigmoid output."""

    def __init__(self, x_shape, hidden: int = 500):
        super().__init__()
        self.x_dim = math.prod(x_shape)
        self.net = nn.Sequential(
            nn.Linear(self.x_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
            nn.Sigmoid(),
        )

    def forward(self, x, y=None):
        return self.net(x.view(len(x), self.x_dim)).squeeze(-1)


class PerSampleImages(Dataset):
    """An ImageSet served the way torchvision's MNIST serves it: one PIL image at a time."""

    def __init__(self, data: ImageSet, transform):
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        img = self.data.images[i]
        img = Image.fromarray(img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy())
        return self.transform(img), int(self.data.labels[i])


def tutorial_loader(name: str, root: str | None, batch_size: int, data: ImageSet) -> DataLoader:
    """torchvision's MNIST / FashionMNIST with ToTensor (other data: the same per-sample path)."""
    if name in TORCHVISION_FOLDERS:
        folder, root = TORCHVISION_FOLDERS[name], data_root(root)
        ensure_raw_files(folder, root)
        ds = getattr(datasets, folder)(str(root), train=True, transform=transforms.ToTensor())
    else:
        ds = PerSampleImages(data, transforms.ToTensor())
    return DataLoader(ds, batch_size=batch_size, shuffle=True)


def _batches(loader: DataLoader):
    while True:  # as many epochs as the clock needs
        yield from loader


def train_vae(vae, loader, optimizer, clock: StepClock, device) -> list[float]:
    """The tutorial's VAE loop: BCE(sum) on sigmoid outputs plus KL, per batch."""
    losses = []
    for step, (x, _) in enumerate(_batches(loader)):
        if clock.tick(step):
            return losses
        x = x.to(device)
        logits, mu, logvar = vae(x)
        x_reconst = torch.sigmoid(logits)
        log_likelihood = -nn.functional.binary_cross_entropy(x_reconst, x, reduction="sum")
        log_likelihood = log_likelihood / x.size(0)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = -(log_likelihood - kl)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def train_gan(g, d, opt_g, opt_d, loader, latent_dim, clock: StepClock, device, conditional=False):
    """The tutorial's GAN loop. g(z, y) and d(x, y) give images and probabilities of `real`."""
    criterion, losses = nn.BCELoss(), []
    for step, (real_x, labels) in enumerate(_batches(loader)):
        if clock.tick(step):
            return losses
        opt_d.zero_grad()
        # discriminator for real data
        real_x = real_x.to(device)
        labels = labels.to(device) if conditional else None
        real_y = torch.ones(len(real_x)).to(device)
        real_d_loss = criterion(d(real_x, labels), real_y)
        real_d_loss.backward()
        # discriminator for fake data
        z = torch.randn(len(real_x), latent_dim, device=device)
        fake_x = g(z, labels)
        fake_y = torch.zeros(len(real_x)).to(device)
        fake_d_loss = criterion(d(fake_x.detach(), labels), fake_y)
        fake_d_loss.backward()
        opt_d.step()
        # generator
        opt_g.zero_grad()
        g_loss = criterion(d(fake_x, labels).view(-1), real_y)
        g_loss.backward()
        opt_g.step()
        losses.append((real_d_loss.item(), fake_d_loss.item(), g_loss.item()))
