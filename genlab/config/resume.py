"""`resume=RUN_DIR`: the run's saved config, with the few keys a resume may change.

Only RESUMABLE keys (how long to train, how often to log or save, where to run) may differ from
the saved run; anything else defines the experiment, and changing it is refused in one line.
"""

from __future__ import annotations

import copy
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from genlab.errors import ConfigError
from genlab.runs.directory import read_overrides

RESUMABLE = (
    "trainer.epochs",
    "trainer.max_steps",
    "trainer.log_every",
    "trainer.checkpoint_every",
    "trainer.image_every",
    "trainer.progress",
    "trainer.nan_policy",
    "device",
    "tracking",  # where else its numbers go
    "eval",  # how a finished run is measured (e.g. again, after its evaluation failed)
)


REBUILDS = ("recipe", "experiment")  # groups that are no key of the config: cannot be compared


def launched_with(run_dir: Path) -> list[str]:
    """The overrides the run was started with (its .hydra/overrides.yaml); [] when it has none;
    StorageError (one line) for an empty, truncated or foreign one."""
    return read_overrides(run_dir)


def resumed_config(cfg: DictConfig, overrides, saved: dict, run_dir: Path) -> tuple[dict, list]:
    """(the config to rebuild the run with, ["key old -> new", ...] for what changed).

    cfg: the config composed from this command line; overrides: its `key=value` arguments;
    saved: the config in the run's checkpoint.
    """
    c, changed = copy.deepcopy(saved), []
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if key.startswith("hydra."):
            continue  # where Hydra writes (hydra.run.dir=RUN_DIR on resume): not the run's config
        if key in REBUILDS and override not in launched_with(run_dir):
            raise ConfigError(
                f"{override}: a resume keeps the {key} the run was built with (its config is "
                f"saved in {run_dir}); start a new run to use another"
            )
        value = OmegaConf.select(cfg, key)
        value = (
            OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
        )
        *parents, leaf = key.split(".")
        node = c
        for p in parents:
            node = node.setdefault(p, {})
        old = node.get(leaf)
        if key == "resume" or value == old:
            continue  # the original command line again, plus resume=: nothing changes
        if not any(key == r or key.startswith(f"{r}.") for r in RESUMABLE):  # device.compile too
            where, new, was = _first_difference(key, value, old)
            raise ConfigError(
                f"{override} would change the run saved in {run_dir} ({where}: {was} there, {new} "
                f"now); on resume only {', '.join(RESUMABLE)} may change (start a new run instead)"
            )
        changed.append(f"{key} {old} -> {value}")
        node[leaf] = value
    return c, changed


def _first_difference(key: str, new, old) -> tuple[str, object, object]:
    """The first leaf where two config values differ: (dotted key, new value, old value)."""
    if isinstance(new, dict) and isinstance(old, dict):
        for k in [*new, *(k for k in old if k not in new)]:
            if new.get(k) != old.get(k):
                return _first_difference(f"{key}.{k}", new.get(k), old.get(k))
    return key, new, old
