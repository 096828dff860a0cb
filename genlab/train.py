"""The train entrypoint: `python -m genlab.train model=gan arch=cnn optimizer.lr=2e-4`.

Also the task function of every multirun job (`-m`, any launcher or sweeper) and of every
process under `torchrun --nproc_per_node=N -m genlab.train ...`.

`python -m genlab.train resume=RUN_DIR` continues RUN_DIR (same directory, same TensorBoard run)
from RUN_DIR/checkpoints/last.pt with the config saved there; only RESUMABLE keys may change.

Exit status: 0 done; 2 a bad config, data file or checkpoint (one line on stderr, before any
work; the full traceback with HYDRA_FULL_ERROR=1); 3 a NaN/Inf loss stopped the run (the last
good checkpoint is kept); 130 SIGINT (Ctrl-C) and 143 SIGTERM, after a checkpoint at that step.
"""

from __future__ import annotations

import copy
import os
import shlex
import signal
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from genlab import distributed
from genlab.build import ConfigError, make_trainer
from genlab.checkpoint import CheckpointError, load_checkpoint
from genlab.data import DataError
from genlab.sweep import JobRecord, objective, read_status
from genlab.trainers.guards import Interrupted, NonFiniteError

# conf/hydra/launcher/*.yaml set a few keys of the plugins' own configs, which Hydra 1.3 merges
# onto the plugin's schema of the same name (and warns that it may stop doing so one day).
warnings.filterwarnings(
    "ignore", message=r"\s*'hydra/launcher/.*' is validated against ConfigStore"
)
# ${genlab.first:a,b}: a unless it is null (the sweep directory: resume_sweep, else a new one)
OmegaConf.register_new_resolver(
    "genlab.first", lambda *xs: next((x for x in xs if x is not None), None), replace=True
)

# Keys a resume may change: how long to train, how often to log or save, where to run. The
# rest defines the experiment; changing it on resume is refused (start a new run instead).
RESUMABLE = (
    "trainer.epochs",
    "trainer.max_steps",
    "trainer.log_every",
    "trainer.checkpoint_every",
    "trainer.image_every",
    "trainer.progress",
    "trainer.nan_policy",
    "device",
)
CONF = str(Path(__file__).resolve().parents[1] / "conf")  # absolute: found when imported too
BAD_INPUT = (ConfigError, DataError, CheckpointError, HydraException, OmegaConfBaseException)


class _JobFailed(BaseException):
    """Carries a single run's error past Hydra's job report (which adds a line) to cli()."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


@hydra.main(version_base="1.3", config_path=CONF, config_name="config")
def main(cfg: DictConfig):
    hydra_cfg = HydraConfig.get()
    ranks = distributed.start(use_cuda=_wants_cuda(cfg.device.name))
    run_dir = Path(distributed.broadcast(hydra_cfg.runtime.output_dir, ranks))  # rank 0's
    try:
        return train(cfg, run_dir, ranks)
    except (*BAD_INPUT, NonFiniteError) as e:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # recorded in status.json; Hydra runs the other jobs, then exits 1
        raise _JobFailed(e) from e
    finally:
        distributed.stop(ranks)


def train(cfg: DictConfig, run_dir: Path, ranks: distributed.Ranks):
    """Builds (or resumes) the run and trains it; returns the last scalars, or the one metric
    named by `objective` (what a sweeper minimises)."""
    sweeper = HydraConfig.get().runtime.choices.get("hydra/sweeper", "")
    if sweeper.startswith("optuna") and cfg.objective is None:
        raise ConfigError(f"hydra/sweeper={sweeper} needs objective=<metric to minimise>, e.g. fid")
    if cfg.resume_sweep and read_status(run_dir).get("status") == "finished":
        print(f"skipped (finished in an earlier launch): {run_dir}")
        return objective(read_status(run_dir).get("result", {}), cfg.objective)
    with JobRecord(run_dir) if ranks.main else nullcontext() as job:
        if cfg.resume:
            trainer = _resumed_trainer(cfg, ranks)
            if trainer.step >= trainer.total_steps:
                print(
                    f"{cfg.resume} already finished at step {trainer.step}; "
                    "raise trainer.epochs (or trainer.max_steps) to train on"
                )
                return objective({}, None)
        else:
            trainer = make_trainer(cfg, run_dir, ranks)
            if cfg.resume_sweep and trainer.checkpoint_path.is_file():
                trainer.resume()  # an interrupted job of the sweep: on from its last checkpoint
                print(f"resumed from step {trainer.step}: {run_dir}")
        try:
            result = trainer.fit()
        finally:
            trainer.close()
        value = objective(result, cfg.objective)
        if job is not None:
            job.result = result
    if ranks.main:
        print(f"run directory: {trainer.run_dir}")
    return value


def _wants_cuda(device: str) -> bool:
    return device != "cpu" and torch.cuda.is_available()


def _resumed_trainer(cfg: DictConfig, ranks: distributed.Ranks):
    run_dir = Path(cfg.resume)
    path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    c, changed = copy.deepcopy(state["config"]), []
    for override in HydraConfig.get().overrides.task:
        key = override.lstrip("+~").split("=", 1)[0]
        value = OmegaConf.select(cfg, key)
        value = (
            OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
        )
        *parents, leaf = key.split(".")
        node = c
        for p in parents:
            node = node.setdefault(p, {})
        saved = node.get(leaf)
        if key == "resume" or value == saved:
            continue  # the original command line again, plus resume=: nothing changes
        if key not in RESUMABLE:
            where, new, old = _first_difference(key, value, saved)
            raise ConfigError(
                f"{override} would change the run saved in {run_dir} ({where}: {old} there, {new} "
                f"now); on resume only {', '.join(RESUMABLE)} may change (start a new run instead)"
            )
        changed.append(f"{key} {saved} -> {value}")
        node[leaf] = value
    trainer = make_trainer(c, run_dir, ranks)
    try:
        trainer.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:100] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path} does not fit the model its config builds ({first})"
        ) from None
    if trainer.step < trainer.total_steps:
        note = f"; changed {', '.join(changed)}" if changed else ""
        print(f"resuming {run_dir} at step {trainer.step}{note}")
    return trainer


def _first_difference(key: str, new, old) -> tuple[str, object, object]:
    """The first leaf where two config values differ: (dotted key, new value, old value)."""
    if isinstance(new, dict) and isinstance(old, dict):
        for k in [*new, *(k for k in old if k not in new)]:
            if new.get(k) != old.get(k):
                return _first_difference(f"{key}.{k}", new.get(k), old.get(k))
    return key, new, old


def cli(args: list[str] | None = None) -> None:
    """`python -m genlab.train ARGS`: Hydra's main, with one-line errors and exit statuses."""
    args = list(sys.argv[1:] if args is None else args)
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    try:
        _check_presets(args)
        args = _resume_args(args)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we print one line (or re-raise)
        argv, sys.argv = sys.argv, [sys.argv[0], *args]
        try:
            main()
        finally:
            sys.argv = argv
            _restore_env("HYDRA_FULL_ERROR", full_error)
    except Interrupted as e:
        name = signal.Signals(e.signum).name
        print(
            f"interrupted by {name} at step {e.step}, checkpoint saved; resume with: "
            f"python -m genlab.train resume={shlex.quote(_shown(e.run_dir))}",
            file=sys.stderr,
        )
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        print(
            "interrupted outside a step: stopped, no new checkpoint (earlier ones stay)",
            file=sys.stderr,
        )
        sys.exit(128 + signal.SIGINT)
    except (_JobFailed, NonFiniteError, *BAD_INPUT) as e:
        error = e.error if isinstance(e, _JobFailed) else e
        if full_error == "1":
            raise error from None
        print(f"error: {one_line(error, args)}", file=sys.stderr)
        sys.exit(3 if isinstance(error, NonFiniteError) else 2)


def _check_presets(args: list[str]) -> None:
    """experiment=NAME must name a preset: Hydra skips an unknown one of an optional group."""
    for a in args:
        if a.startswith("experiment="):
            presets = Path(CONF) / "experiment"
            known = sorted(str(p.relative_to(presets))[:-5] for p in presets.rglob("*.yaml"))
            for name in a.split("=", 1)[1].split(","):  # a sweep may list several
                if name not in known and name != "null":
                    choices = ", ".join(known) if known else "none yet"
                    raise ConfigError(f"experiment={name} is not known; choose one of {choices}")


def _resume_args(args: list[str]) -> list[str]:
    """resume=RUN_DIR: check it now, before Hydra makes any directory, and make Hydra's run
    directory RUN_DIR (its .hydra/ record of the original run stays untouched)."""
    if "-m" in args or "--multirun" in args:
        return args
    value = next((a.split("=", 1)[1] for a in args if a.startswith("resume=")), None)
    if value is None or value.strip("'\"") in ("", "null"):
        return args
    run_dir = Path(value.strip("'\""))
    if not run_dir.is_dir():
        raise ConfigError(f"resume={value}: no such directory; give a run directory to continue")
    if not (run_dir / "checkpoints" / "last.pt").is_file():
        raise ConfigError(
            f"resume={value}: no checkpoints/last.pt in it; "
            "give the directory of a run that saved one"
        )
    return [*args, f"hydra.run.dir={value}", "hydra.output_subdir=null"]


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


if __name__ == "__main__":
    if int(os.environ.get("RANK", 0)) > 0:  # torchrun: rank 0 alone writes Hydra's files
        sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=disabled"]
    cli()
