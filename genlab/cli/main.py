"""`genlab train`'s exit statuses: what Hydra's own `main` does not do for genlab's command line.

genlab promises one line and exit status 2 for bad input, before any work. Hydra reports a
composition error (an unknown group option, a bad override) as several lines ending in "Set the
environment variable HYDRA_FULL_ERROR=1 ..." and exits 1, and it prefixes a failed job with
"Error executing job with overrides". So `run` lets Hydra re-raise (HYDRA_FULL_ERROR=1 for the
call), the status callback turns a failed single run into JobFailed (a BaseException, so it
passes Hydra's job report untouched), and this module prints the one line (cli/one_line.py) and
picks the exit status. What Hydra checks too late or not at all is checked first
(cli/overrides.py).

Exit status: 0 done; 1 a sweep with a failed job; 2 bad input (config, data file, checkpoint);
3 a NaN/Inf loss stopped the run; 128 + N after signal N (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from genlab.cli.one_line import one_line
from genlab.cli.overrides import (
    check_extras,
    check_optional_choices,
    override,
    resume_args,
    single_run_dir,
)
from genlab.errors import (
    GenlabError,
    Interrupted,
    JobFailed,
    NonFiniteError,
    Stopped,
    storage_error,
)
from genlab.runs.directory import check_new_run_dir, owning
from genlab.runs.sweep import release_sweeps

BAD_INPUT = (GenlabError, HydraException, OmegaConfBaseException)


def run(main: Callable[[], None], args: list[str], command: str) -> None:
    """Calls Hydra's `main` on args (argv after the program name); exits with genlab's status."""
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    previous = signal.signal(signal.SIGTERM, _terminate)  # outside a step too: a clean exit 143
    try:
        check_optional_choices(args)
        check_extras(args)
        # `genlab train model=gan -m loss=hinge,lsgan`: argparse takes no flag after an override
        args = [a for a in args if a in ("-m", "--multirun")] + [
            a for a in args if a not in ("-m", "--multirun")
        ]
        if any(a in ("-h", "--help") for a in args):
            from genlab.cli.help import train_help

            print(train_help([a for a in args if not a.startswith("-")]))
            return
        args = resume_args(args)
        register_plugins()
        if any(a in ("--cfg", "-c") for a in args) and "--resolve" not in args:
            args = [*args, "--resolve"]  # the values a run will use (device=auto resolved)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we print one line (or re-raise)
        argv, sys.argv = sys.argv, [sys.argv[0], *args]
        run_dir, resuming = single_run_dir(args)
        if int(os.environ.get("RANK", "0")) > 0:
            run_dir = None  # another rank of a torchrun: rank 0 owns and writes the run
        try:
            # a named run directory is owned before Hydra writes its .hydra/ record there
            with owning(run_dir) if run_dir and not _asks_help(args) else nullcontext():
                if run_dir and not resuming:
                    check_new_run_dir(run_dir)
                main()
        finally:
            release_sweeps()  # a launcher that refused to start never reaches the multirun's end
            sys.argv = argv
            _restore_env("HYDRA_FULL_ERROR", full_error)
            signal.signal(signal.SIGTERM, previous)
    except Interrupted as e:
        search = getattr(e, "search", None)  # set by the search (hydra_plugins/genlab_sweepers)
        if search:
            again = f"{search}; continue the search with the same command"
        elif "-m" in args or "--multirun" in args:
            again = "continue the sweep with the same command (finished jobs are kept)"
        else:
            again = f"resume with: {command} {shlex.quote(override('resume', _shown(e.run_dir)))}"
        name = signal.Signals(e.signum).name
        print(f"interrupted by {name} at step {e.step}, checkpoint saved; {again}", file=sys.stderr)
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


PLUGINS = {  # genlab's Hydra plugins (module: classes), hydra_plugins/ in the repository
    "hydra_plugins.genlab_sweepers.optuna_sweeper": ("OptunaSweeper",),
    "hydra_plugins.genlab_launchers.slurm_launcher": ("SlurmLauncher",),
    "hydra_plugins.genlab_launchers.ray_launcher": ("RayLauncher",),
}


def register_plugins() -> None:
    """Hands Hydra genlab's plugins: its own scan of hydra_plugins/ misses them in an editable
    install, which maps packages through an import hook that pkgutil cannot walk. A plugin whose
    extra is not installed is abstract (hydra_plugins/genlab_launchers/slurm_launcher.py): it is
    left out, as Hydra's own scan leaves it out, and asking for it is one line (cli/one_line.py)."""
    import importlib
    import inspect

    from hydra.core.plugins import Plugins

    plugins = Plugins.instance()
    for module, names in PLUGINS.items():
        for name in names:
            plugin = getattr(importlib.import_module(module), name)
            if inspect.isabstract(plugin) or f"{module}.{name}" in plugins.class_name_to_class:
                continue
            plugins.register(plugin)


def _asks_help(args: list[str]) -> bool:
    """--help, --cfg and the like print and write nothing: no directory to own."""
    return any(a in ("-h", "--help", "--hydra-help", "--cfg", "-c", "--info", "-i") for a in args)


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
