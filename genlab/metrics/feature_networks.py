"""The networks whose feature space FID, KID and precision/recall are measured in, and whose
predictions give class accuracy: where each comes from, its id, and what it was trained on.

- shipped: genlab ships one per data set it knows (MNIST, FashionMNIST) in
  genlab/metrics/networks/, made by scripts/train_feature_networks.py; its id is checked when it
  is loaded, so a corrupted install stops in one line, and two installs measure in one space.
- local: a data set with classes that genlab ships none for (an image folder, the synthetic set
  of the tests), or one trained on purpose (`genlab classifier force=true`, then
  `eval.network=local`): trained on first use, once, under a lock (sweep jobs share it), and kept
  beside the data as <data root>/classifiers/<name>.pt, tied to the images it was trained on.

Every network has an id, `<name>-<the first 12 hex digits of its file's sha256>`. Every number
measured in a network's space carries it (metrics.json, the HParams row, the sweep report), with
its floor: the FID of real training images against the real test split in that space.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import torch

from genlab.data import ImageSet
from genlab.data.files import data_root
from genlab.errors import CheckpointError, ConfigError, first_line
from genlab.metrics.classifier_net import Classifier, accuracy, predict, train_classifier
from genlab.metrics.distances import frechet_distance
from genlab.runs.checkpoint import load_checkpoint, save_checkpoint
from genlab.storage.lock import FileLock

SHIPPED_DIR = Path(str(files("genlab.metrics") / "networks"))
RECIPES = {  # epochs on the training split, and the test accuracy below which it is not kept
    "mnist": {"epochs": 3, "floor": 0.99},  # reaches 99.38%
    "fashion_mnist": {"epochs": 10, "floor": 0.90},  # reaches 92.2% (3 epochs gave 90.5%)
    "synthetic": {"epochs": 30, "floor": 0.3},  # a few dozen images per class in tests: seconds
}
FLOOR_IMAGES = 10_000  # training images against as many test images, for the floor's FID
MIN_SIDE = 8  # the classifier halves the image three times


@dataclass
class FeatureNetwork:
    model: Classifier
    id: str  # <name>-<sha256 of the file, 12 hex digits>
    data_fingerprint: str  # the training split it was trained on (ImageSet.fingerprint)
    test_accuracy: float
    floor_fid: float  # FID of real training images against the real test split, in its space
    path: Path


def network_id(name: str, path: Path) -> str:
    return f"{name}-{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]}"


def shipped_ids() -> dict[str, str]:
    """data set -> the id of the network genlab ships for it (networks/ids.json)."""
    path = SHIPPED_DIR / "ids.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def get_network(
    name: str,
    train: ImageSet,
    test: ImageSet,
    device,
    root: str | Path | None,
    *,
    local: bool = False,
    force: bool = False,
    epochs: int | None = None,
    progress=print,
) -> FeatureNetwork:
    """Data set `name`'s network: the shipped one (unless local, force or none is shipped), else
    the local one under the data root (data.root's, or the default one: data/files.py),
    trained when missing, forced, or trained on other images."""
    if name in shipped_ids() and not (local or force):
        net = load_network(SHIPPED_DIR / f"{name}.pt", device, expected=shipped_ids()[name])
        if net.data_fingerprint != train.fingerprint:
            raise ConfigError(
                f"data={name} under this data root is not the data genlab's network {net.id} was "
                f"trained on (fingerprint {train.fingerprint}, not {net.data_fingerprint}); "
                "fetch the canonical files again, or measure with eval.network=local"
            )
        return net
    side = min(train.image_shape[1:])
    if side < MIN_SIDE:
        raise ConfigError(
            f"data={name} has {'x'.join(map(str, train.image_shape[1:]))} images; the metrics' "
            f"classifier needs at least {MIN_SIDE}x{MIN_SIDE}: set eval.at_end=false"
        )
    shape, classes = train.image_shape, train.num_classes
    path = data_root(root) / "classifiers" / file_name(name, shape, classes, train.fingerprint)
    with FileLock(path.with_suffix(".lock")):  # one process trains, the others wait and load
        if path.is_file() and not force:
            net = load_network(path, device)
            if net.data_fingerprint == train.fingerprint:
                return net
            if progress:
                progress(f"{path} was trained on other images than data={name}'s: training anew")
        return _train(name, path, train, test, device, epochs, progress)


def _train(name, path, train, test, device, epochs, progress) -> FeatureNetwork:
    recipe = RECIPES.get(name, {"epochs": 3, "floor": min(0.9, 2 / train.num_classes)})
    epochs = epochs or recipe["epochs"]
    if progress:
        progress(f"training the {name} classifier ({epochs} epochs, once) -> {path}")
    model = train_classifier(train, epochs, device)
    acc = accuracy(model, test)
    if acc < recipe["floor"]:  # every metric would be measured in poor features: keep the old one
        kept = "the saved one is kept" if path.is_file() else "none is saved"
        raise ConfigError(
            f"the {name} classifier reached test accuracy {acc:.4f}, below its floor "
            f"{recipe['floor']}; {kept} (train it longer: epochs=N)"
        )
    save_network(path, model, name, train, test, acc)
    net = load_network(path, device)
    if progress:
        progress(f"{net.id}: test accuracy {acc:.4f}, floor FID {net.floor_fid:.3g} -> {path}")
    return net


def floor_fid(model: Classifier, train: ImageSet, test: ImageSet) -> float:
    """FID of FLOOR_IMAGES random training images against the test split's first as many: how
    close to real a generator can get in this space."""
    g = torch.Generator().manual_seed(0)
    n = min(FLOOR_IMAGES, len(train), len(test))
    picked = torch.randperm(len(train), generator=g)[:n]
    real = predict(model, train.images[picked])[0]
    return frechet_distance(real, predict(model, test.images[:n])[0])


def save_network(path: Path, model: Classifier, name: str, train, test, acc: float) -> None:
    model.eval()
    save_checkpoint(
        path,
        {
            "networks": {"classifier": model.state_dict()},
            "data": name,
            "image_shape": list(model.image_shape),
            "num_classes": model.num_classes,
            "test_accuracy": acc,
            "data_fingerprint": train.fingerprint,
            "floor_fid": floor_fid(model, train, test),
        },
        rng=False,
    )


def load_network(path: Path, device, expected: str | None = None) -> FeatureNetwork:
    """Reads a network's file; a corrupt or foreign file, or one whose id is not `expected`,
    is one clear error."""
    path = Path(path)
    shipped_as = expected and expected.rsplit("-", 1)[0]
    if expected is not None and (not path.is_file() or network_id(shipped_as, path) != expected):
        raise CheckpointError(
            f"genlab's feature network {path} is missing or not the one shipped ({expected}): "
            "the install is corrupted; reinstall genlab"
        )
    try:
        state = load_checkpoint(path)
        model = Classifier(state["image_shape"], state["num_classes"])
        model.load_state_dict(state["networks"]["classifier"])
        fingerprint, floor = state["data_fingerprint"], state["floor_fid"]
    except (CheckpointError, KeyError, RuntimeError, TypeError) as e:
        raise CheckpointError(
            f"classifier {path} cannot be loaded ({first_line(e, 120)}); delete it "
            "and it is trained again on first use"
        ) from None
    name = state["data"]
    net_id = expected or network_id(name, path)
    return FeatureNetwork(
        model.to(device).eval(), net_id, fingerprint, state["test_accuracy"], floor, path
    )


def file_name(name: str, image_shape, num_classes: int, fingerprint: str = "") -> str:
    """mnist.pt; synthetic sets differ in shape, classes and images (data.size, ...), so theirs
    name all three: runs on two of them never retrain each other's network over and over."""
    if name == "synthetic":
        return f"synthetic-{'x'.join(map(str, image_shape))}-{num_classes}-{fingerprint[:8]}.pt"
    return f"{name}.pt"
