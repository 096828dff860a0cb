"""A Hydra or OmegaConf error as the one line genlab prints: the key, the value, what is allowed."""

from __future__ import annotations

from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException


def one_line(e: BaseException, args: list[str]) -> str:
    """A config, data or checkpoint error in one line naming the key, the value, what is allowed."""
    cause = e.__cause__
    if isinstance(e, MissingConfigException) and e.options:
        group, _, name = e.missing_cfg_file.rpartition("/")
        return f"{group}={name} is not known; choose one of {', '.join(sorted(e.options))}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        key = cause.full_key
        given = next((a for a in args if a.lstrip("+~").split("=", 1)[0] == key), key)
        parent = cause.parent_node
        keys = [k for k in parent.keys() if k != "hydra"] if parent is not None else []
        where = key.rpartition(".")[0] or "the config"
        return (
            f"{given}: {where} has no key {cause.key}; known keys: {', '.join(map(str, keys))} "
            f"(+{key}=... adds a new key)"
        )
    if isinstance(e, OverrideParseException):
        return f"cannot parse {e.override}: {e.message.strip().splitlines()[0]}"
    if isinstance(e, OmegaConfBaseException) and e.full_key:
        return f"{e.full_key}: {str(e.msg).strip().splitlines()[0]}"
    lines = [ln.strip() for ln in str(e).strip().splitlines()]
    return " ".join(ln for ln in lines if ln)  # Hydra's other messages: short lines, joined
