"""A small CNN classifier per data set: its penultimate features are the space FID, KID and
precision/recall are measured in; its predictions give class accuracy and a classifier score.

Trained once by genlab on the training split and saved beside the data as
<data root>/classifiers/<name>.pt (atomically, read back with weights_only=True).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data import ImageSet, ResidentLoader
from genlab.errors import CheckpointError, ConfigError, first_line
from genlab.runs.checkpoint import load_checkpoint, save_checkpoint

FEATURES = 128  # width of the penultimate layer: the feature space of the distances
RECIPES = {  # epochs on the training split, and the test accuracy below which it is not kept
    "mnist": {"epochs": 3, "floor": 0.99},  # reaches 99.38%
    "fashion_mnist": {"epochs": 10, "floor": 0.90},  # reaches 92.2% (3 epochs gave 90.5%)
    "synthetic": {"epochs": 30, "floor": 0.3},  # a few dozen images per class in tests: seconds
}


def block(i: int, o: int, k: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(i, o, k, stride, padding=1), nn.BatchNorm2d(o), nn.ReLU()]


class Classifier(nn.Module):
    """(B, C, H, W) in [0, 1] -> class logits; features() gives the (B, 128) penultimate layer."""

    def __init__(self, image_shape, num_classes: int):
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(  # small enough to train on a CPU in minutes
            *block(c, 32, 4, 2),  # state size: 32 x h/2 x w/2
            *block(32, 32, 3, 1),
            nn.MaxPool2d(2),  # state size: 32 x h/4 x w/4
            *block(32, 64, 3, 1),
            nn.MaxPool2d(2),  # state size: 64 x h/8 x w/8
            nn.Flatten(),
        )
        width = 64
        self.head = nn.Sequential(
            nn.Linear(width * (h // 8) * (w // 8), FEATURES), nn.BatchNorm1d(FEATURES), nn.ReLU()
        )
        self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, num_classes))
        self.image_shape, self.num_classes = tuple(image_shape), num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def file_name(name: str, image_shape, num_classes: int) -> str:
    """mnist.pt; synthetic sets differ in shape and classes, so theirs name both."""
    if name == "synthetic":
        return f"synthetic-{'x'.join(map(str, image_shape))}-{num_classes}.pt"
    return f"{name}.pt"


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Random translations of up to `pixels` per image: the only augmentation."""
    b, _, h, w = x.shape
    t = (torch.rand(b, 2, generator=generator) * 2 - 1) * pixels
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2], theta[:, 1, 2] = t[:, 0] * 2 / w, t[:, 1] * 2 / h
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def train_classifier(
    train: ImageSet,
    epochs: int,
    device: torch.device,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    progress=None,
) -> Classifier:
    """Adam with a cosine learning-rate decay, on randomly shifted training images."""
    torch.manual_seed(seed)
    model = Classifier(train.image_shape, train.num_classes).to(device)
    loader = ResidentLoader(train, batch_size, device, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0)))
    )
    g = torch.Generator().manual_seed(seed)
    model.train()
    for e in range(epochs):
        for x, y in loader.epoch(e):
            loss = F.cross_entropy(model(_shift(x, g)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            progress(f"classifier epoch {e + 1}/{epochs}: loss {loss.item():.4f}")
    return model.eval()


@torch.no_grad()
def predict(model: Classifier, images: torch.Tensor, batch_size: int = 500):
    """uint8 (N, C, H, W) -> (features (N, 128), logits (N, classes)), on the model's device."""
    device = next(model.parameters()).device
    feats, logits = [], []
    for i in range(0, len(images), batch_size):
        h = model.features(images[i : i + batch_size].to(device).float() / 255)
        feats.append(h)
        logits.append(model.out(h))
    return torch.cat(feats), torch.cat(logits)


def accuracy(model: Classifier, data: ImageSet) -> float:
    _, logits = predict(model, data.images)
    return (logits.argmax(1).cpu() == data.labels).float().mean().item()


def save_classifier(path: Path, model: Classifier, data_name: str, test_accuracy: float) -> None:
    save_checkpoint(
        path,
        {
            "networks": {"classifier": model.state_dict()},
            "data": data_name,
            "image_shape": list(model.image_shape),
            "num_classes": model.num_classes,
            "test_accuracy": test_accuracy,
        },
    )


def load_classifier(path: Path, image_shape, num_classes: int, device) -> Classifier:
    """Reads a saved classifier; a corrupt or mismatched file is one clear error."""
    try:
        state = load_checkpoint(path)
        model = Classifier(state["image_shape"], state["num_classes"])
        model.load_state_dict(state["networks"]["classifier"])
    except (CheckpointError, KeyError, RuntimeError) as e:
        raise CheckpointError(
            f"classifier {path} cannot be loaded ({first_line(e, 120)}); delete it "
            "and it is trained again on first use"
        ) from None
    if model.image_shape != tuple(image_shape) or model.num_classes != num_classes:
        raise CheckpointError(
            f"classifier {path} is for {model.num_classes} classes of {model.image_shape} images, "
            f"not {num_classes} of {tuple(image_shape)}; delete it to train a new one"
        )
    model.test_accuracy = state.get("test_accuracy")
    return model.to(device).eval()


def get_classifier(
    name: str,
    root: Path,
    train: ImageSet,
    test: ImageSet,
    device,
    *,
    force: bool = False,
    epochs: int | None = None,
    progress=print,
) -> Classifier:
    """Data set `name`'s classifier: loaded from <root>/classifiers/, else trained and saved."""
    path = Path(root) / "classifiers" / file_name(name, train.image_shape, train.num_classes)
    if path.is_file() and not force:
        return load_classifier(path, train.image_shape, train.num_classes, device)
    recipe = RECIPES.get(name, {"epochs": 3, "floor": min(0.9, 2 / train.num_classes)})
    epochs = epochs or recipe["epochs"]
    if progress:
        progress(f"training the {name} classifier ({epochs} epochs) -> {path}")
    model = train_classifier(train, epochs, device, progress=progress)
    acc = accuracy(model, test)
    if acc < recipe["floor"]:  # every metric would be measured in poor features: keep the old one
        kept = "the saved one is kept" if path.is_file() else "none is saved"
        raise ConfigError(
            f"the {name} classifier reached test accuracy {acc:.4f}, below its floor "
            f"{recipe['floor']}; {kept} (train it longer: epochs=N)"
        )
    model.test_accuracy = acc
    save_classifier(path, model, name, acc)
    if progress:
        progress(f"{name} classifier: test accuracy {acc:.4f}")
    return model
