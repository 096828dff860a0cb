"""hydra/launcher=slurm: every job a SLURM job, requeued at its time limit.

Preemption-safe jobs follow submitit's protocol. sbatch asks SLURM for SIGUSR2 `signal_delay_s`
before the time limit (or submitit's `job._interrupt()` sends it, as a preemption would). The
training loop takes SIGUSR2 like SIGINT: it finishes the step, saves checkpoints/last.pt and
raises Interrupted. This launcher then hands over to submitit's own USR2 handler, which calls
`checkpoint()` (the same job again), requeues it (`scontrol requeue`) and exits. The requeued
job (SLURM_RESTART_COUNT > 0) runs with resume_sweep=<sweep dir>: it continues from that
checkpoint, in the same run directory and TensorBoard run, and status.json ends "finished".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

from hydra.core.utils import setup_globals
from hydra.plugins.launcher import Launcher

try:
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher

    PluginLauncher = submitit_launcher.SlurmLauncher
except ImportError:  # the sweeps extra is not installed: Hydra's plugin scan must not warn
    PluginLauncher = Launcher

from genlab.cli.overrides import quoted
from genlab.errors import Interrupted
from genlab.runs.status import STATUS_FILE, read_status
from genlab.storage.atomic import write_atomic
from hydra_plugins.genlab_launchers import ServiceMissing

START = (
    "bash scripts/cluster/slurm.sh up (in a clone of genlab: a one-node cluster on this machine), "
    "then export SLURM_CONF=..."
)


def check_slurm() -> None:
    """sbatch on PATH and a controller that answers `scontrol ping`, else ServiceMissing."""
    if shutil.which("sbatch") is None:
        raise ServiceMissing(
            "hydra/launcher=slurm: no sbatch on PATH (SLURM's client); run this on a "
            f"SLURM login node, or start a cluster with: {START}"
        )
    conf = os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf")
    if not any(Path(p).is_file() for p in (conf, "/run/slurm/conf/slurm.conf")):
        # no file to read: scontrol would try DNS SRV records (configless SLURM), slowly and in vain
        raise ServiceMissing(
            f"hydra/launcher=slurm: no SLURM configuration ({conf} does not exist); "
            f"set SLURM_CONF, or start a cluster with: {START}"
        )
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
        said = (ping.stdout + ping.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        ping, said = None, str(e)
    if ping is None or ping.returncode != 0 or "DOWN" in said:
        said = " ".join(said.split())[:160] or f"exit {ping.returncode}"
        raise ServiceMissing(
            f"hydra/launcher=slurm: no SLURM controller answers (scontrol ping: {said}); "
            f"check SLURM_CONF, or start a cluster with: {START}"
        )


class SlurmLauncher(PluginLauncher):
    def setup(self, **kwargs) -> None:
        if PluginLauncher is Launcher:
            raise ServiceMissing(
                "hydra/launcher=slurm needs hydra-submitit-launcher: pip install 'genlab[sweeps]'"
            )
        check_slurm()
        super().setup(**kwargs)

    def __call__(self, sweep_overrides, job_dir_key, job_num, job_id, singleton_state):
        setup_globals()  # Hydra's resolvers (${now:...}), for the sweep directory below
        overrides = list(sweep_overrides)
        if int(os.environ.get("SLURM_RESTART_COUNT", "0")) > 0 and self.config.resume_sweep is None:
            # requeued (by submitit, see below, or by SLURM after a preemption or node failure)
            overrides.append(f"resume_sweep={quoted(str(self.config.hydra.sweep.dir))}")
        try:
            return super().__call__(overrides, job_dir_key, job_num, job_id, singleton_state)
        except Interrupted as e:
            submitit_handler = signal.getsignal(signal.SIGUSR2)
            if e.signum != signal.SIGUSR2 or not callable(submitit_handler):
                raise
            _mark(e.run_dir, "requeued")
            try:  # checkpoint() -> the job's pickle; scontrol requeue; sys.exit
                submitit_handler(signal.SIGUSR2, None)
            except Exception as not_requeued:  # too many time-outs: a failed job
                _mark(e.run_dir, "failed", error=f"{e}; {not_requeued}")
                raise
            raise  # a handler that returned without requeueing


def _mark(run_dir, status: str, **fields) -> None:
    """Sets fields of the job's status.json (the rest as the job left it)."""
    path = Path(run_dir) / STATUS_FILE
    if path.is_file():
        record = {**read_status(run_dir), "status": status, **fields}
        write_atomic(path, json.dumps(record, indent=2) + "\n")
