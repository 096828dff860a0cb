"""From the eval group of a config to the evaluator of a run: the data set's classifier (its
feature space) and the metrics of the model family, against the test split."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from pathlib import Path

import torch

from genlab.config.checks import check_eval
from genlab.config.data import make_data
from genlab.errors import ConfigError


def make_network(c: dict, device: torch.device, force: bool = False, epochs: int | None = None):
    """The feature network the metrics of c's data set are measured in: genlab's shipped one
    (MNIST, FashionMNIST), else the data root's own, trained on first use (eval.network=local:
    the data root's own in any case)."""
    from genlab.metrics.feature_networks import get_network

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
    local = c.get("eval", {}).get("network") == "local"
    return get_network(
        name, train, test, device, d["root"], local=local, force=force, epochs=epochs
    )


def make_evaluator(c: dict, device: torch.device):
    """The metrics of c's model family against the test split, or None when eval.at_end is off."""
    e = c["eval"]
    if not e["at_end"]:
        return None
    from genlab.metrics.evaluator import BackboneError, Evaluator

    check_eval(e)
    test = make_data(c, "test")
    one_class = test.num_classes < 2  # CelebA, a flat image folder: no labels to learn features
    if one_class and e["fid_backbone"] == "classifier" and c["model"]["name"] != "vae":
        raise ConfigError(
            f"data={c['data']['name']} has a single class: genlab's classifier would learn no "
            "features from it, and FID/KID/precision/recall in them mean nothing; choose "
            "eval.fid_backbone=inception (pip install 'genlab[inception]') or eval.at_end=false"
        )
    from genlab.metrics.likelihood import PROTOCOL

    vae = c["model"]["name"] in ("vae", "cvae")
    no_split = c["data"]["name"] == "image_folder"  # its test images are its training images
    try:
        return Evaluator(
            None if one_class else make_network(c, device),
            test,
            device,
            **{k: e[k] for k in ("n_samples", "iw_samples", "fid_backbone", "pr_k", "batch_size")},
            kid_subset_size=e["kid_subset_size"],
            seed=c["seed"],
            train=make_data(c, "train") if e["train_images"] and not no_split else None,
            train_images=e["train_images"],
            bootstrap=e["bootstrap"],
            likelihood=PROTOCOL[c["loss"]["name"]] if vae else None,
            data=c["data"]["name"],
        )
    except BackboneError as err:
        raise ConfigError(str(err)) from None


# what `genlab evaluate` may change
EVALUATE_ARGS = ("n_samples", "iw_samples", "fid_backbone", "train_images", "bootstrap")


def settings_moved(was: dict, now: dict) -> list[str]:
    """ "n_samples=10000 (now 8)" for each evaluation setting recorded in both that differs."""
    return [f"{k}={was[k]} (now {now[k]})" for k in was if k in now and was[k] != now[k]]


def evaluate_run(loaded, run_dir: Path, device, settings: dict, write: bool, force: bool = False):
    """`genlab evaluate` and the Python API's Run.evaluate: the run's metrics again, with the
    given eval settings over its own; returns (metrics, what measured them). With write, the run
    is owned while metrics.json is rewritten, and metrics measured by another feature network
    are kept unless force."""
    from genlab.config.resume import launched_with
    from genlab.logging.hparams import group_of
    from genlab.logging.metrics_json import read_measured, write_metrics
    from genlab.logging.tensorboard import as_grid, save_grid
    from genlab.runs.directory import owning

    c, step, global_step = loaded
    unknown = [k for k in settings if k not in EVALUATE_ARGS]
    if unknown:
        allowed = ", ".join(f"{k}=" for k in (*EVALUATE_ARGS, "write", "force"))
        raise ConfigError(f"{unknown[0]} is not a setting of evaluate; they are {allowed}")
    given = {k: v for k, v in settings.items() if v is not None}
    c = {**c, "eval": {**c["eval"], **given, "at_end": True}}
    evaluator = make_evaluator(c, device)
    with owning(run_dir, "evaluate") if write else nullcontext():
        was = read_measured(run_dir) if write else {}
        before, now = was.get("network"), evaluator.measured["network"]
        if before and before != now and not force:
            raise ConfigError(
                f"{run_dir}/metrics.json was measured by {before}; this evaluation would measure "
                f"in {now}: write=false prints the new numbers only, force=true replaces them"
            )
        moved = settings_moved(was.get("settings") or {}, evaluator.measured["settings"])
        if moved and not force:
            raise ConfigError(
                f"{run_dir}/metrics.json was measured with {moved[0]}; its runs' numbers would "
                "no longer compare: write=false prints the new numbers only, force=true replaces "
                "them"
            )
        metrics = evaluator(step)
        if write:
            group = group_of(launched_with(run_dir))
            write_metrics(run_dir, metrics, global_step, evaluator.measured, group)
            for old in (run_dir / "images").glob("closest_to_train_step*.png"):
                old.unlink()  # an earlier measurement's pairs: this one's replace them, or none
            for name, (images, nrow) in evaluator.grids().items():
                save_grid(as_grid(images, nrow), run_dir, name, global_step)
    return metrics, evaluator.measured
