"""A Hydra or OmegaConf error as the one line genlab prints: the key, the value, what is allowed."""

from __future__ import annotations

from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from genlab.config.model_checks import families_with

PLUGIN_CONFIGS = {  # a config of a Hydra plugin -> how to install it
    "hydra/launcher/joblib": "pip install 'genlab[sweeps]'",
    "hydra/launcher/submitit_local": "pip install 'genlab[sweeps]'",
    "hydra/launcher/submitit_slurm": "pip install 'genlab[sweeps]'",
    "hydra/sweeper/optuna": "pip install 'genlab[sweeps]'",
    "hydra/launcher/ray": "pip install 'genlab[ray]'",
}
MOVED = {  # genlab 0.1's spelling -> today's
    "trainer.g_steps": "model.g_steps",
    "trainer.d_steps": "model.d_steps",
    "trainer.health": "model.health",
}


def one_line(e: BaseException, args: list[str]) -> str:
    """A config, data or checkpoint error in one line naming the key, the value, what is allowed."""
    cause = e.__cause__
    plugin = next((p for p in PLUGIN_CONFIGS if f"'{p}'" in str(e)), None)
    if plugin is not None:
        group = plugin.rsplit("/", 1)[0]  # hydra/launcher: the choice as typed, when it was
        asked = next((a for a in args if a.startswith(f"{group}=")), plugin)
        return f"{asked} needs a Hydra plugin that is not installed: {PLUGIN_CONFIGS[plugin]}"
    if isinstance(e, MissingConfigException) and e.options:
        group, _, name = e.missing_cfg_file.rpartition("/")
        return f"{group}={name} is not known; choose one of {', '.join(sorted(e.options))}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        return _unknown_key(cause, args)
    if isinstance(e, OverrideParseException):
        return f"cannot parse {e.override}: {e.message.strip().splitlines()[0]}"
    if isinstance(e, OmegaConfBaseException) and e.full_key:
        return f"{e.full_key}: {str(e.msg).strip().splitlines()[0]}"
    lines = [ln.strip() for ln in str(e).strip().splitlines()]
    return " ".join(ln for ln in lines if ln)  # Hydra's other messages: short lines, joined


def _unknown_key(cause, args: list[str]) -> str:
    """A key the composed config does not have: moved, another model family's, or unknown."""
    key = cause.full_key
    below = lambda a: (a + ".").startswith(key + ".")  # noqa: E731 (the key, or a key under it)
    given = next((a for a in args if below(a.lstrip("+~").split("=", 1)[0])), key)
    wanted = given.lstrip("+~").split("=", 1)[0]
    for old, new in MOVED.items():
        if (wanted + ".").startswith(old + "."):
            return f"{given}: {wanted} is now {new + wanted[len(old) :]}"
    group, _, leaf = key.partition(".")
    family = families_with(group, leaf) if group in ("model", "optimizer") else []
    if family:
        return (
            f"{given}: {key} is a setting of model={', '.join(family)} only; with another "
            "model it does not apply"
        )
    parent = cause.parent_node
    keys = [k for k in parent.keys() if k != "hydra"] if parent is not None else []
    where = key.rpartition(".")[0] or "the config"
    return f"{given}: {where} has no key {cause.key}; known keys: {', '.join(map(str, keys))}"
