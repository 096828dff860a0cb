"""What Hydra's own `main` does not do for genlab's command line, isolated here.

genlab promises one line and exit status 2 for bad input, before any work. Hydra reports a
composition error (an unknown group option, a bad override) as several lines ending in "Set the
environment variable HYDRA_FULL_ERROR=1 ..." and exits 1, and it prefixes a failed job with
"Error executing job with overrides". So `run` lets Hydra re-raise (HYDRA_FULL_ERROR=1 for the
call), the status callback turns a failed single run into JobFailed (a BaseException, so it
passes Hydra's job report untouched), and this module prints the one line and picks the exit
status. It also checks what Hydra checks too late or not at all: `experiment=` names (Hydra
skips an unknown option of an optional group) and `resume=` directories (before Hydra creates one).

Exit status: 0 done; 1 a sweep with a failed job; 2 bad input (config, data file, checkpoint);
3 a NaN/Inf loss stopped the run; 128 + N after signal N (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from genlab.config import CONF_DIR
from genlab.errors import ConfigError, GenlabError, JobFailed, NonFiniteError, storage_error
from genlab.runs.directory import check_new_run_dir
from genlab.trainers.signals import Interrupted, Stopped

BAD_INPUT = (GenlabError, HydraException, OmegaConfBaseException)


def run(main: Callable[[], None], args: list[str], command: str) -> None:
    """Calls Hydra's `main` on args (argv after the program name); exits with genlab's status."""
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    previous = signal.signal(signal.SIGTERM, _terminate)  # outside a step too: a clean exit 143
    try:
        check_presets(args)
        args = resume_args(args)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we print one line (or re-raise)
        argv, sys.argv = sys.argv, [sys.argv[0], *args]
        try:
            main()
        finally:
            sys.argv = argv
            _restore_env("HYDRA_FULL_ERROR", full_error)
            signal.signal(signal.SIGTERM, previous)
    except Interrupted as e:
        print(
            f"interrupted by {signal.Signals(e.signum).name} at step {e.step}, checkpoint saved; "
            f"resume with: {command} {shlex.quote(override('resume', _shown(e.run_dir)))}",
            file=sys.stderr,
        )
        sys.exit(128 + e.signum)
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(
            f"interrupted by {signal.Signals(signum).name} outside a training step: stopped; "
            "the checkpoints written so far stay (a finished run's metrics: genlab evaluate)",
            file=sys.stderr,
        )
        sys.exit(128 + signum)
    except (JobFailed, *BAD_INPUT) as e:
        error = e.error if isinstance(e, JobFailed) else e
        if full_error == "1":
            raise error from None
        job_dir = getattr(error, "job_dir", None)  # set by the status callback in a sweep
        if job_dir is not None:
            print(f"error: a job failed ({one_line(error, args)}): {job_dir}", file=sys.stderr)
            sys.exit(1)
        print(f"error: {one_line(error, args)}", file=sys.stderr)
        sys.exit(3 if isinstance(error, NonFiniteError) else 2)
    except OSError as e:  # a full, read-only or missing disk, outside a job
        if full_error == "1":
            raise
        print(f"error: {storage_error(e)}", file=sys.stderr)
        sys.exit(2)


def check_presets(args: list[str]) -> None:
    """experiment=NAME must name a preset: Hydra skips an unknown one of an optional group."""
    presets = CONF_DIR / "experiment"
    for a in args:
        if a.startswith("experiment="):
            known = sorted(str(p.relative_to(presets))[:-5] for p in presets.rglob("*.yaml"))
            for name in a.split("=", 1)[1].split(","):  # a sweep may list several
                if name not in known and name != "null":
                    choices = ", ".join(known) if known else "none yet"
                    raise ConfigError(f"experiment={name} is not known; choose one of {choices}")


def _value(args: list[str], key: str) -> str | None:
    """The value of the last `key=value` argument (quotes stripped), or None."""
    values = [a.split("=", 1)[1].strip("'\"") for a in args if a.startswith(f"{key}=")]
    return values[-1] if values else None


def resume_args(args: list[str]) -> list[str]:
    """resume=RUN_DIR: check it now, before Hydra makes any directory, and make Hydra's run
    directory RUN_DIR (its .hydra/ record of the original run stays untouched). Also checks
    resume_sweep= and an explicit hydra.run.dir= before Hydra writes anything there."""
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
        return args
    value = _value(args, "resume")
    if value in (None, "null"):
        if _value(args, "hydra.run.dir") is not None:
            check_new_run_dir(Path(_value(args, "hydra.run.dir")))
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


def _terminate(signum, frame) -> None:
    raise Stopped(signum)


def _shown(path) -> str:
    """path relative to the working directory when it lies below it, as a user would type it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
