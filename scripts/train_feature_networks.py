"""Train the feature networks genlab ships (genlab/metrics/networks/), deterministically.

    python scripts/train_feature_networks.py                 # mnist and fashion_mnist
    python scripts/train_feature_networks.py fashion_mnist   # one of them

Each is genlab's small classifier (metrics/classifier_net.py) trained with its recipe
(metrics/feature_networks.RECIPES) on the data set's canonical training split, seed 0, one torch
thread, on the CPU: the same inputs give the same file. It writes <name>.pt (the network, the
fingerprint of the split it was trained on, its test accuracy and its floor FID) and records
its id in ids.json, which genlab checks whenever it loads the network. Needs the data: a data
root with the files, or GENLAB_DATA_MIRROR (docs/data.md).
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import torch

from genlab.config.data import make_data
from genlab.metrics.classifier_net import accuracy, train_classifier
from genlab.metrics.feature_networks import RECIPES, SHIPPED_DIR, network_id, save_network

SHIPPED = ("mnist", "fashion_mnist")


def train(name: str) -> str:
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    c = {"data": {"name": name, "root": None}}
    train_split, test_split = make_data(c, "train"), make_data(c, "test")
    model = train_classifier(train_split, RECIPES[name]["epochs"], torch.device("cpu"), seed=0)
    acc = accuracy(model, test_split)
    if acc < RECIPES[name]["floor"]:
        sys.exit(f"error: the {name} network reached {acc:.4f}, below {RECIPES[name]['floor']}")
    path = SHIPPED_DIR / f"{name}.pt"
    save_network(path, model, name, train_split, test_split, acc)
    net_id = network_id(name, path)
    print(f"{net_id}: test accuracy {acc:.4f} -> {path}")
    return net_id


def main(names: list[str]) -> None:
    torch.set_num_threads(1)  # one thread: the same sums in the same order, the same file
    for name in names:
        if name not in SHIPPED:
            sys.exit(f"error: {name} is not shipped; choose from {', '.join(SHIPPED)}")
    ids_path = SHIPPED_DIR / "ids.json"
    ids = json.loads(ids_path.read_text()) if ids_path.is_file() else {}
    for name in names:
        ids[name] = train(name)
    ids_path.write_text(json.dumps(dict(sorted(ids.items())), indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:] or list(SHIPPED))
