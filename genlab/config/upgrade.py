"""A config saved in a checkpoint by an older genlab, in today's keys, so its run can still be
resumed, sampled and evaluated. genlab 0.1 kept the GAN's update counts and health watch under
trainer, D's learning rate in every optimizer and the GAN settings in the VAE's model group, and
saved device=auto unresolved."""

from __future__ import annotations

import copy

from genlab.config import visible_device

GAN_ONLY = ("ema", "spectral_norm", "minibatch_std", "aux_classifier")


def upgrade(saved: dict) -> dict:
    """The saved config in today's keys (a config of today comes back unchanged; one that is
    not a whole config comes back for the checks to refuse)."""
    c = copy.deepcopy(saved)
    groups = [c.get(g) for g in ("trainer", "model", "optimizer", "device")]
    if not all(isinstance(g, dict) for g in groups):
        return c
    t, m, o, d = groups
    gan = m.get("name") not in ("vae", "cvae")
    for key in ("g_steps", "d_steps", "health"):
        value = t.pop(key, None)
        if gan and value is not None:
            m.setdefault(key, value)
    if not gan:
        for key in GAN_ONLY:
            m.pop(key, None)
        o.pop("lr_d", None)
    elif m["name"] == "gan":
        m.pop("aux_classifier", None)
    if d.get("name") == "auto":
        d["name"] = visible_device("name")
    for key, value in list(d.items()):
        if value == "auto":
            d[key] = visible_device(key)
    c.setdefault("tracking", {"name": "none"})  # before 0.3: no tracker
    c.setdefault("recipe", "unrecorded")  # before recipes per data set: unnamed
    if isinstance(c.get("eval"), dict):  # before the memorisation check and FID's error: none
        c["eval"].setdefault("train_images", 0)
        c["eval"].setdefault("bootstrap", 0)
    return c
