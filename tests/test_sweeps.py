"""Multirun at scale: launchers, failed jobs, resumed sweeps, the report, and DDP under torchrun."""

import csv
import json
import os
import subprocess
import sys
import warnings

import pytest
import torch
from hydra import compose, initialize_config_dir

from genlab.config import CONF_DIR
from genlab.config.build import make_trainer
from genlab.errors import ConfigError, NonFiniteError
from genlab.report import main as report
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import JobRecord, objective, read_status
from tests.conftest import REPO, TINY

VAE = ["model=vae", "data.batch_size=16", *[o for o in TINY if not o.startswith("data.batch")]]
VAE += ["device.precision=32"]  # DDP matches one process exactly in float32, not in bf16


def sweep(run_cli, *args, sweep_dir=None):
    """`python -m genlab.train -m ...` into sweep_dir; returns (process, the jobs' run dirs)."""
    result = run_cli("-m", *args, *VAE, f"hydra.sweep.dir={sweep_dir}")
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
    return result, jobs


def report_rows(sweep_dir, *args):
    assert report([str(sweep_dir), *args]) == 0
    with open(sweep_dir / "report.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_joblib_sweep_runs_every_job_and_reports_the_failed_one(run_cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result, jobs = sweep(
        run_cli,
        "hydra/launcher=local",
        "arch=mlp,cnn",
        "optimizer.lr=1e-3,-1",
        sweep_dir=sweep_dir,
    )
    assert result.returncode == 1  # README: a sweep with a failed job exits 1, once every job ran
    assert result.stderr.strip().splitlines()[-1].startswith("error: a job failed (optimizer.lr=-1")
    names = {job.name for job in jobs}
    assert any(n.startswith("arch=cnn,") and "optimizer.lr=0.001" in n for n in names)
    status = {job.name: read_status(job) for job in jobs}
    assert sorted(s["status"] for s in status.values()) == ["failed"] * 2 + ["finished"] * 2
    for job in jobs:
        finished = "optimizer.lr=0.001" in job.name
        assert status[job.name]["status"] == ("finished" if finished else "failed")
        assert bool(list(job.glob("events.out.tfevents.*"))) == finished  # its own TB run
    rows = report_rows(sweep_dir, "--sort", "train/loss")  # the last minibatch's: not evaluated
    assert len(rows) == 4
    assert [r["status"] for r in rows] == ["finished", "finished", "failed", "failed"]
    assert float(rows[0]["train/loss"]) <= float(rows[1]["train/loss"])
    assert (
        rows[2]["error"] == "ConfigError: optimizer.lr=-1 is not allowed; it must be a number > 0"
    )
    assert (sweep_dir / "report.png").stat().st_size > 0
    assert "optimizer.lr=-1" in (sweep_dir / "report.md").read_text().split("failed:")[1]


@pytest.mark.slow
def test_submitit_local_sweep_runs_a_2x2_grid(run_cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result, jobs = sweep(
        run_cli,
        "hydra/launcher=local_submitit",
        "arch=mlp,cnn",
        "optimizer.lr=1e-3,2e-3",
        sweep_dir=sweep_dir,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = report_rows(sweep_dir, "--plot", "optimizer.lr")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"finished"}
    assert {(r["arch"], r["optimizer.lr"]) for r in rows} == {
        (a, lr) for a in ("mlp", "cnn") for lr in ("0.001", "0.002")
    }
    assert all(float(r["neg_elbo"]) > 0 for r in rows)


@pytest.mark.slow
def test_resumed_sweep_skips_finished_jobs_and_resumes_the_interrupted_one(
    run_cli, compose_cfg, tmp_path
):
    sweep_dir = tmp_path / "sweep"
    grid = ["arch=mlp", "optimizer.lr=1e-3,2e-3"]
    result, (done, cut) = sweep(run_cli, *grid, sweep_dir=sweep_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    # `cut` as a killed job leaves it: a checkpoint from step 2 of 4, status still "running"
    for f in cut.iterdir():
        if f.name != ".hydra":
            subprocess.run(["rm", "-rf", str(f)], check=True)
    trainer = make_trainer(compose_cfg(*VAE, "arch=mlp", "optimizer.lr=2e-3"), cut)
    trainer.settings.max_steps = 2
    trainer.fit()
    trainer.close()
    (cut / "status.json").write_text(json.dumps({"status": "running", "wall_time_s": 1.0}))
    before = read_status(done)

    result, _ = sweep(run_cli, *grid, f"resume_sweep={sweep_dir}", sweep_dir=sweep_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"skipped (finished in an earlier launch): {done}" in result.stdout
    assert f"resumed from step 2: {cut}" in result.stdout
    assert read_status(done) == before  # not run again
    assert read_status(cut)["status"] == "finished"
    assert load_checkpoint(cut / "checkpoints" / "last.pt")["step"] == 4


@pytest.mark.slow
def test_two_ddp_processes_match_one_process_with_the_same_global_batch(compose_cfg, tmp_path):
    args = [*VAE, "arch=mlp", "trainer.epochs=2"]  # no BatchNorm: CPU DDP matches exactly
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    cmd += ["-m", "genlab.train", *args, f"hydra.run.dir={tmp_path / 'ddp'}"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]  # rank 1 wrote no Hydra dirs

    one = make_trainer(compose_cfg(*args), tmp_path / "one")
    expected = {k: v for k, v in one.fit().items() if k != "train_s"}  # a clock: never equal
    one.close()
    got = read_status(tmp_path / "ddp")["result"]  # rank 0's log: the mean over both ranks
    for k, v in expected.items():  # abs: KID's spread (kid_std) is ~1e-7, at noise level
        assert got[k] == pytest.approx(v, rel=1e-5, abs=1e-4), k
    a = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "last.pt")["networks"]["vae"]
    b = one.state_dict()["networks"]["vae"]
    # the two all-reduced halves sum in another order than one batch: ~1e-7 apart per step, which
    # Adam's normalised steps carry to ~2e-5 in the weights after 2 epochs (the recipe: lr 2e-3,
    # SiLU); ranks training apart show in the losses above first
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in b)
    assert len(list((tmp_path / "ddp").glob("events.out.tfevents.*"))) == 1  # rank 0's only


def test_job_record_keeps_the_status_and_the_one_line_error(tmp_path):
    with pytest.raises(ValueError), JobRecord(tmp_path):
        assert read_status(tmp_path)["status"] == "running"
        raise ValueError("lr=-1 is not allowed\nsecond line")
    status = read_status(tmp_path)
    assert status["status"] == "failed"
    assert status["error"] == "ValueError: lr=-1 is not allowed"
    assert "Traceback" in (tmp_path / "error.txt").read_text()
    with JobRecord(tmp_path) as job:
        job.result = {"loss": 2.5, "note": "text"}
    assert read_status(tmp_path)["result"] == {"loss": 2.5}
    assert not (tmp_path / "error.txt").exists()


def test_objective_is_one_float_and_names_what_the_run_returned():
    assert objective({"loss": 2.5}, None) == {"loss": 2.5}
    assert objective({"loss": 2.5}, "loss") == 2.5
    with pytest.raises(ConfigError, match="objective=fid .* it returned kl, loss"):
        objective({"loss": 2.5, "kl": 1.0}, "fid")
    with pytest.raises(NonFiniteError, match="NaN"):
        objective({"loss": float("nan")}, "loss")


@pytest.mark.parametrize("launcher", ["local", "local_submitit", "slurm", "ray_cluster"])
def test_launcher_configs_compose_without_a_warning(launcher):
    """Each names the plugin's config in its defaults (no deprecated same-name schema matching)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True
            )
    assert cfg.hydra.launcher._target_.startswith("hydra_plugins.")
