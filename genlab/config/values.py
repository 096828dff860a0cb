"""The one-line refusals every check is made of: a name out of a list, a number out of range, a
NaN or an infinity anywhere in the config."""

from __future__ import annotations

import math

from genlab.errors import ConfigError


def one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value} is not known; choose one of {', '.join(allowed)}")


def positive(key: str, value, kind=int, zero_ok=False) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        what = "an integer" if kind is int else "a number"
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{key}={value} is not allowed; it must be {what} {bound}")


def finite_everywhere(node, key: str = "") -> None:
    """No NaN or infinity anywhere in the config: a learning rate, a weight, a prior's bounds."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        name = f"{key}.{k}" if isinstance(node, dict) and key else (f"{key}[{k}]" if key else k)
        if isinstance(v, dict | list):
            finite_everywhere(v, name)
        elif isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{name}={v} is not allowed; it must be a finite number")
