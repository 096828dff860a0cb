"""Cluster launchers whose service is not there stop before any job, in one line (exit 2)."""

import signal
import socket
import sys
from pathlib import Path

import pytest

from genlab.train import cli

GRID = ["-m", "model=vae,gan", "data=synthetic", "device=cpu", "trainer.max_steps=1"]


def launch(args, capsys, monkeypatch, tmp_path):
    """cli(-m ...) in-process, in tmp_path: (exit status, stderr); the sweep dir must not appear."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli([*GRID, *args, f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert not (tmp_path / "sweep").exists()  # stopped before Hydra made the sweep directory
    return e.value.code, capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_slurm_without_sbatch_on_path_names_it_and_how_to_start_one(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python and no sbatch
    status, err = launch(["hydra/launcher=slurm"], capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(
        "error: hydra/launcher=slurm: no sbatch on PATH (SLURM's client); run this on a "
        "SLURM login node, or start a cluster with: bash scripts/cluster/slurm.sh up"
    ), err


def test_slurm_without_a_controller_names_it(capsys, monkeypatch, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, said in [("sbatch", ""), ("scontrol", "Slurmctld(primary) at vm is DOWN")]:
        (fake / name).write_text(f"#!/bin/sh\necho '{said}'\nexit 1\n")
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{Path(sys.executable).parent}")
    monkeypatch.setenv("SLURM_CONF", str(fake / "sbatch"))  # a file to read
    status, err = launch(["hydra/launcher=slurm"], capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(
        "error: hydra/launcher=slurm: no SLURM controller answers (scontrol ping: "
        "Slurmctld(primary) at vm is DOWN); check SLURM_CONF, or start a cluster with: "
    ), err


def test_slurm_without_a_configuration_names_it(capsys, monkeypatch, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text("#!/bin/sh\nexit 1\n")
    (fake / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{Path(sys.executable).parent}")
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "none.conf"))
    status, err = launch(["hydra/launcher=slurm"], capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(
        f"error: hydra/launcher=slurm: no SLURM configuration ({tmp_path}/none.conf does "
        "not exist); set SLURM_CONF, or start a cluster with: bash scripts/cluster/slurm.sh up"
    ), err


def test_ray_without_a_head_at_the_address_names_it_and_how_to_start_one(
    capsys, monkeypatch, tmp_path
):
    port = free_port()  # nothing listens there
    args = ["hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address=127.0.0.1:{port}"]
    status, err = launch(args, capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(
        f"error: hydra/launcher=ray_cluster: no Ray head answers at 127.0.0.1:{port} "
        "(Connection refused); "
        "start one with: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head "
        f"--node-ip-address=127.0.0.1 --port={port}"
    ), err


def test_ray_auto_without_a_head_here_names_it(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))  # where `ray start` would leave its address
    args = ["hydra/launcher=ray_cluster", "hydra.launcher.ray.init.address=auto"]
    status, err = launch(args, capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(
        "error: hydra/launcher=ray_cluster: no Ray head runs on this machine (address=auto); "
        "start one with: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head"
    ), err


PATHS = ["/runs/a,b", "/runs/x=1 y", "/runs/it's", "C:\\runs\\new", "a\\'b\\"]


@pytest.mark.parametrize("path", PATHS)
def test_a_quoted_path_is_one_hydra_override_value(path):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from genlab.cli.overrides import quoted

    override = OverridesParser.create().parse_override(f"resume_sweep={quoted(path)}")
    assert override.value() == path


def test_sigusr2_stops_at_a_step_with_a_checkpoint_like_sigint(compose_cfg, tmp_path):
    """SLURM's warning before a time limit: the loop saves and raises Interrupted, which the SLURM
    launcher turns into submitit's checkpoint-and-requeue."""
    from genlab.config.build import make_trainer
    from genlab.errors import Interrupted
    from genlab.runs.checkpoint import load_checkpoint

    trainer = make_trainer(compose_cfg("model=vae", "data.size=48", "trainer.epochs=2"), tmp_path)
    step_fn = trainer.step.train_step

    def train_step(x, y, step):
        if step == 2:  # during the third step
            signal.raise_signal(signal.SIGUSR2)
        return step_fn(x, y, step)

    trainer.step.train_step = train_step

    def submitits(signum, frame):  # stands in for submitit's handler, which requeues at once
        pytest.fail("SIGUSR2 reached the job's handler mid-step, not genlab's")

    previous = signal.signal(signal.SIGUSR2, submitits)
    try:
        with pytest.raises(Interrupted) as stop:
            trainer.fit()
        trainer.close()
        assert signal.getsignal(signal.SIGUSR2) is submitits  # back for the launcher to call
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert stop.value.signum == signal.SIGUSR2 and stop.value.step == 3
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 3
