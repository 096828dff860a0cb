"""What genlab checks on the command line before Hydra composes anything: `experiment=` names
(Hydra skips an unknown option of an optional group) and `resume=` / `resume_sweep=` /
`hydra.run.dir=` directories (before Hydra creates one); and how to write a value back as an
override Hydra parses (a path may hold spaces, commas or quotes)."""

from __future__ import annotations

import re
from pathlib import Path

from genlab.config import CONF_DIR
from genlab.errors import ConfigError


def check_optional_choices(args: list[str]) -> None:
    """experiment=NAME names a preset and recipe=DATA/PAIR a recipe: Hydra skips an unknown
    choice of an optional group without a word (and cannot take recipe=null: ~recipe drops it)."""
    for group, none in (("experiment", "experiment=null"), ("recipe", "~recipe")):
        folder = CONF_DIR / group
        for a in args:
            if a.lstrip("+").startswith(f"{group}="):
                known = sorted(str(p.relative_to(folder))[:-5] for p in folder.rglob("*.yaml"))
                for name in a.split("=", 1)[1].split(","):  # a sweep may list several
                    if name not in known and f"{group}={name}" != none:
                        choices = ", ".join(known) if known else "none yet"
                        raise ConfigError(
                            f"{group}={name} is not known; choose one of {choices}, or {none} "
                            "for none"
                        )


NEEDS = {  # a choice on the command line -> (the modules it needs, the extra that installs them)
    ("tracking", "mlflow"): (("mlflow",), "genlab[mlflow]"),
    ("eval.fid_backbone", "inception"): (("torch_fidelity", "torchmetrics"), "genlab[inception]"),
}


def check_extras(args: list[str]) -> None:
    """A choice whose extra is not installed stops here, in one line, before Hydra makes a
    folder (a sweep's job would fail only once launched)."""
    import importlib.util

    for a in args:
        key, _, values = a.lstrip("+").partition("=")
        for value in values.split(","):
            modules, extra = NEEDS.get((key, value.strip()), ((), None))
            missing = [m for m in modules if importlib.util.find_spec(m) is None]
            if missing:
                raise ConfigError(f"{key}={value} needs {missing[0]}: pip install '{extra}'")


def _value(args: list[str], key: str) -> str | None:
    """The value of the last `key=value` argument as Hydra reads it (quotes and their escapes
    undone), or None."""
    values = [a for a in args if a.startswith(f"{key}=")]
    return _unquoted(values[-1].split("=", 1)[1]) if values else None


def _unquoted(value: str) -> str:
    """A quoted override value as the string it stands for, as Hydra's parser reads it."""
    if len(value) < 2 or value[0] not in "'\"" or value[-1] != value[0]:
        return value
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return str(OverridesParser.create().parse_override(f"key={value}").value())
    except Exception:  # Hydra says what is wrong when it composes
        return value


PATHS = ("resume", "resume_sweep", "hydra.run.dir", "hydra.sweep.dir", "data.path", "data.root")


def resume_args(args: list[str]) -> list[str]:
    """resume=RUN_DIR: check it now, before Hydra makes any directory, and make Hydra's run
    directory RUN_DIR (its .hydra/ record of the original run stays untouched). Also checks
    resume_sweep=, and quotes a path with spaces for Hydra's parser (`resume=my runs/a b`, as a
    shell passes `resume="my runs/a b"`)."""
    args = [_quote_path(a) for a in args]
    for key in ("resume", "resume_sweep"):
        if _value(args, key) == "":
            raise ConfigError(
                f"{key}= is empty (an unset shell variable?); give a directory to continue, "
                f"or leave {key} out"
            )
    sweep = _value(args, "resume_sweep")
    if sweep not in (None, "null") and not Path(sweep).is_dir():
        raise ConfigError(f"resume_sweep={sweep}: no such directory; give a sweep to continue")
    if "-m" in args or "--multirun" in args:
        if sweep not in (None, "null"):
            args = [*args, *recorded_sweep(Path(sweep), args)]
        refuse_a_job_in_the_sweeps_root(args)
        return args
    if sweep not in (None, "null"):
        raise ConfigError(
            f"resume_sweep={sweep} continues a sweep, which runs with -m: genlab train -m "
            f"resume_sweep={sweep} (a single run continues with resume=RUN_DIR)"
        )
    value = _value(args, "resume")
    if value in (None, "null"):
        return args
    run_dir = Path(value)
    if not run_dir.is_dir():
        raise ConfigError(f"resume={value}: no such directory; give a run directory to continue")
    if not (run_dir / "checkpoints" / "last.pt").is_file():
        raise ConfigError(
            f"resume={value}: no checkpoints/last.pt in it; "
            "give the directory of a run that saved one"
        )
    return [*args, override("hydra.run.dir", value), "hydra.output_subdir=null"]


def launch_only() -> set[str]:
    """The keys that say where or how a job runs, not what it is: they name no job's folder
    (conf/config.yaml's hydra.job.config.override_dirname.exclude_keys)."""
    from omegaconf import OmegaConf

    hydra = OmegaConf.load(CONF_DIR / "config.yaml").hydra
    return set(hydra.job.config.override_dirname.exclude_keys)


def recorded_sweep(sweep: Path, args: list[str]) -> list[str]:
    """`-m resume_sweep=DIR`: the overrides DIR's own launch recorded (multirun.yaml) that the
    command line does not give again, so the sweep continues its own jobs (a key given on the
    command line wins). A folder without a record, or a search's, is refused in one line."""
    from genlab.storage.read import read_yaml

    if (sweep / "search.json").is_file():  # runs/sweep.py: a search's folder
        raise ConfigError(
            f"resume_sweep={sweep} holds a search: run the search's own command again to "
            "continue its study (interrupted trials are marked failed there)"
        )
    keys = {a.lstrip("+~").split("=", 1)[0] for a in args if "=" in a and not a.startswith("-")}
    record = read_yaml(sweep / "multirun.yaml", "a sweep's record")
    try:
        said = record["hydra"]["overrides"]
        task, hydra = list(said["task"]), list(said["hydra"])
    except (TypeError, KeyError):
        raise ConfigError(
            f"resume_sweep={sweep}: no multirun.yaml of a sweep in it; give the folder a sweep was "
            "launched into, or the sweep's overrides with resume_sweep="
        ) from None
    again = [o for o in task + hydra if not o.startswith(("hydra.sweep.dir=", "hydra.mode="))]
    return [o for o in again if o.lstrip("+~").split("=", 1)[0] not in keys]


def refuse_a_job_in_the_sweeps_root(args: list[str]) -> None:
    """A job's folder is named by its overrides but the launch-only ones: a sweep with none would
    train its job into the sweep's own folder (a search names its trials' folders itself)."""
    if any(a.startswith(("hydra/sweeper=", "hydra.sweep.subdir=")) for a in args):
        return
    keys = [a.lstrip("+~").split("=", 1)[0] for a in args if "=" in a and not a.startswith("-")]
    launch = launch_only()
    if not any(k not in launch and not k.startswith("hydra") for k in keys):
        raise ConfigError(
            "a sweep (-m) names each job's folder by its overrides, and this one has none but "
            f"{', '.join(keys) or 'the defaults'}: give what the jobs are (e.g. seed=0,1), or "
            "train one run without -m"
        )


def single_run_dir(args: list[str]) -> tuple[Path | None, bool]:
    """(the directory a single run will write, as the command line names it; whether it is a
    resume): the run's own for resume=, an explicit hydra.run.dir=, else None (a new name)."""
    if "-m" in args or "--multirun" in args:
        return None, False
    value = _value(args, "resume")
    if value not in (None, "null"):
        return Path(value), True
    explicit = _value(args, "hydra.run.dir")
    return (Path(explicit) if explicit else None), False


def _quote_path(arg: str) -> str:
    """A path as typed (spaces, quotes, a Windows path's backslashes and colon, commas, a leading
    ~ that no shell expanded) quoted for Hydra, which would read it as a sweep or fail on it."""
    key, eq, value = arg.partition("=")
    if not eq or key.lstrip("+") not in PATHS:
        return arg
    value = _unquoted(value)  # one quoted for Hydra already: the path it stands for
    return override(key, str(Path(value).expanduser()) if value.startswith("~") else value)


def override(key: str, value: str) -> str:
    """`key=value` as Hydra parses it: a value with spaces or symbols goes in quotes."""
    if all(ch.isalnum() or ch in "_-./~+:@" for ch in value):
        return f"{key}={value}"
    return f"{key}={quoted(value)}"


def quoted(value: str) -> str:
    """A Hydra override value that stays one string (a path may hold , = ' or spaces). In Hydra's
    quoted strings a backslash escapes only before a quote (or the closing one)."""
    escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), value)
    return f"'{escaped}'"
