"""From the eval group of a config to the evaluator of a run: the data set's classifier (its
feature space) and the metrics of the model family, against the test split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from genlab.config.checks import check_eval
from genlab.config.data import make_data
from genlab.errors import ConfigError


def make_classifier(c: dict, device: torch.device, force: bool = False, epochs: int | None = None):
    """The data set's classifier (trained on first use): the feature space of the metrics."""
    from genlab.data.files import data_root
    from genlab.metrics.classifier_net import get_classifier

    d = c["data"]
    train, test = make_data(c, "train"), make_data(c, "test")
    if train.num_classes < 2:
        raise ConfigError(
            f"data={d['name']} has a single class: a classifier learns no features from it, so "
            "genlab trains none; measure with eval.fid_backbone=inception instead"
        )
    name = d["name"]
    if name == "image_folder":  # one classifier per folder
        name += "_" + hashlib.sha1(str(Path(d["path"]).resolve()).encode()).hexdigest()[:10]
    root = data_root(d["root"])
    return get_classifier(name, root, train, test, device, force=force, epochs=epochs)


def make_evaluator(c: dict, device: torch.device):
    """The metrics of c's model family against the test split, or None when eval.at_end is off."""
    from genlab.metrics.evaluator import BackboneError, Evaluator

    e = c["eval"]
    if not e["at_end"]:
        return None
    check_eval(e)
    test = make_data(c, "test")
    one_class = test.num_classes < 2  # CelebA, a flat image folder: no labels to learn features
    if one_class and e["fid_backbone"] == "classifier" and c["model"]["name"] != "vae":
        raise ConfigError(
            f"data={c['data']['name']} has a single class: genlab's classifier would learn no "
            "features from it, and FID/KID/precision/recall in them mean nothing; choose "
            "eval.fid_backbone=inception (pip install genlab[inception]) or eval.at_end=false"
        )
    try:
        return Evaluator(
            None if one_class else make_classifier(c, device),
            test,
            device,
            **{k: e[k] for k in ("n_samples", "iw_samples", "fid_backbone", "pr_k", "batch_size")},
            kid_subset_size=e["kid_subset_size"],
            seed=c["seed"],
        )
    except BackboneError as err:
        raise ConfigError(str(err)) from None
