"""The small commands' `key=value` arguments (sample, evaluate, classifier), read into a dataclass
that holds their defaults and one comment per argument; `--help` prints them."""

from __future__ import annotations

import dataclasses
import sys

from omegaconf import OmegaConf

from genlab.errors import ConfigError, first_line


def parse_args(schema, argv: list[str], doc: str, command: str):
    """argv (key=value ...) into the dataclass `schema`; a bad key or value is one line.
    command: the command's name, for --help (`genlab sample`)."""
    if any(a in ("-h", "--help") for a in argv):
        print(usage(schema, doc, command))
        sys.exit(0)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_cli(argv))
        return OmegaConf.to_object(merged)
    except Exception as e:  # omegaconf's errors: unknown key, wrong type, missing value
        allowed = ", ".join(f"{f.name}=" for f in dataclasses.fields(schema))
        raise ConfigError(f"{first_line(e, 1000)}; arguments are {allowed}") from None


def usage(schema, doc: str, name: str) -> str:
    """The module's docstring, then each argument with its type and default."""
    lines = [f"usage: genlab {name} key=value ...  (or python -m genlab.{name})", ""]
    lines += [doc.strip(), "", "arguments:"]
    for f in dataclasses.fields(schema):
        shown = _yaml(f.default)
        default = "required" if f.default in ("???", dataclasses.MISSING) else f"default {shown}"
        help_text = f.metadata.get("help", "")
        lines.append(f"  {f.name:<14} {help_text} ({default})")
    return "\n".join(lines)


def arg(default, help: str):
    """A field of an argument dataclass: its default and its one-line help."""
    return dataclasses.field(default=default, metadata={"help": help})


def _yaml(value) -> str:
    """A default as it is typed: null, true, false, 0 (0 and False are equal in a dict lookup)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)
