"""A sweep's jobs, read back from their directories: overrides, status, final metrics and what
measured them. A job whose files cannot be read is "unreadable", with the reason; one whose
status says running with no process behind it is "killed"."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from genlab.errors import StorageError
from genlab.logging.hparams import group_of
from genlab.logging.metrics_json import read_measured, read_metrics
from genlab.logging.scalars import read_scalars
from genlab.runs.directory import read_overrides, runs_now
from genlab.runs.status import read_status


@dataclass
class Job:
    run_dir: Path
    overrides: dict[str, str]
    status: str  # running / finished / failed / interrupted / killed / unreadable / unknown
    wall_time_s: float | None
    error: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    measured: dict = field(default_factory=dict)  # the feature network's id, floor, data, ...
    group: str = "defaults"  # the configuration its seeds share (logging/hparams.group_of)


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory under sweep_dir (the ones Hydra saved overrides in)."""
    runs = sorted({p.parent.parent for p in Path(sweep_dir).glob("**/.hydra/overrides.yaml")})
    return [load_job(run) for run in runs]


def load_job(run_dir: Path) -> Job:
    """A job from its files; one whose files cannot be read is "unreadable", with the reason."""
    try:
        items = read_overrides(run_dir)
        overrides = dict(item.split("=", 1) for item in items if "=" in item)
        overrides = {k.lstrip("+~"): v for k, v in overrides.items()}
    except StorageError as e:
        return Job(run_dir, {}, "unreadable", None, str(e))
    try:
        status = read_status(run_dir)
        metrics = {**last_scalars(run_dir), **read_metrics(run_dir)}
    except StorageError as e:
        return Job(run_dir, overrides, "unreadable", None, str(e), group=group_of(items))
    state = status.get("status", "unknown")
    if state == "running" and not runs_now(run_dir):
        state = "killed"  # no process owns it: stopped outright (SIGKILL, a power cut)
    wall = status.get("wall_time_s")
    return Job(
        run_dir,
        overrides,
        state,
        wall if isinstance(wall, int | float) else None,
        status.get("error"),
        {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        read_measured(run_dir),
        group_of(items),
    )


def last_scalars(run_dir: Path) -> dict[str, float]:
    """The last logged value of every TensorBoard scalar in run_dir: eval/x and time/x as x,
    train/x as train/x (a minibatch's training value, never under a quality metric's name)."""
    scalars = read_scalars(run_dir, last_only=True)
    return {tag.removeprefix("eval/").removeprefix("time/"): scalars[tag][-1][1] for tag in scalars}


def swept_keys(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs, in command-line order."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def sort_jobs(jobs: list[Job], metric: str | None, descending: bool = False) -> list[Job]:
    """By metric (jobs without it last); unsorted when metric is None."""
    if metric is None:
        return jobs
    sign = -1 if descending else 1

    def key(job: Job):
        v = job.metrics.get(metric, math.nan)
        return (math.isnan(v), sign * v if not math.isnan(v) else 0.0)

    return sorted(jobs, key=key)


def label(job: Job, keys: list[str]) -> str:
    return ",".join(f"{k}={job.overrides.get(k, '')}" for k in keys) or job.run_dir.name


def measured_by(jobs: list[Job], key: str) -> list[str]:
    """The distinct values of what measured the jobs (key: network, data, genlab, or an
    evaluation setting: n_samples, iw_samples, ...)."""
    values = [job.measured.get(key, (job.measured.get("settings") or {}).get(key)) for job in jobs]
    if key == "likelihood":  # before 0.3, a VAE's nats went unnamed (a Bernoulli's: grey levels)
        values = [v or ("unrecorded" if "neg_elbo" in job.metrics else None)
                  for v, job in zip(values, jobs, strict=True)]  # fmt: skip
    return sorted({str(v) for v in values if v is not None and v != ""})


def settings_of(jobs: list[Job]) -> list[str]:
    """The evaluation settings the jobs recorded (metrics/evaluator.py's measured["settings"])."""
    return sorted({k for job in jobs for k in (job.measured.get("settings") or {})})
