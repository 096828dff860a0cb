"""Sweeps through a real SLURM controller (`make test-cluster` starts a one-node cluster with
scripts/cluster/slurm.sh; without one these tests skip): a 2 x 2 grid of sbatch jobs, and a job
longer than its time limit that is checkpointed, requeued and resumed to the same losses."""

import os
import subprocess
import sys

import pytest
from hydra.errors import HydraException
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from genlab.report import main as report
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from hydra_plugins.genlab_launchers.slurm_launcher import check_slurm
from tests.conftest import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SMALL = [  # a SLURM job of one CPU, one thread, no GPU
    "hydra/launcher=slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "data=synthetic",
    "device=cpu",
    "threads=1",
    "trainer.progress=false",
    "eval.at_end=false",
]


@pytest.fixture(scope="module", autouse=True)
def slurm():
    try:
        check_slurm()
    except HydraException as e:  # ServiceMissing (Hydra's plugin scan may have re-run its module)
        pytest.skip(f"no SLURM here ({e})")


def jobs_of(sweep_dir):
    return sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def test_a_2x2_sweep_runs_as_sbatch_jobs_and_the_report_lists_them(run_cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *SMALL,
        "hydra.launcher.timeout_min=10",
        "model=vae,gan",
        "arch=mlp,cnn",
        "data.size=64",
        "data.batch_size=16",
        "trainer.max_steps=4",
        f"hydra.sweep.dir={sweep_dir}",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = jobs_of(sweep_dir)
    assert len(jobs) == 4
    assert all(read_status(job)["status"] == "finished" for job in jobs)
    # each job ran under SLURM: submitit's folder per SLURM job id, its sbatch script inside
    scripts = list((sweep_dir / ".submitit").glob("*/*_submission.sh"))
    assert scripts and "#SBATCH --time=10" in scripts[0].read_text()
    assert report([str(sweep_dir)]) == 0
    rows = (sweep_dir / "report.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == 4 and all(",finished," in row for row in rows)


STEPS = 12_000  # about a minute of one thread even on an idle machine: longer than the limit
LONG = [
    "model=vae",
    "arch=mlp",
    "data.size=256",
    "data.batch_size=16",
    f"trainer.max_steps={STEPS}",
    "trainer.epochs=1000",
    "trainer.log_every=100",
    "trainer.checkpoint_every=2000",
    "trainer.image_every=1000",
]


def scalars(run_dir) -> dict[str, list]:
    """tag -> [(step, value)] as TensorBoard shows the run (after purges)."""
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def raw_scalar_steps(run_dir) -> list[tuple[str, int]]:
    """(tag, step) of every scalar event in every event file of the run, as written."""
    out = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            out += [(v.tag, event.step) for v in event.summary.value if v.tag.startswith("train/")]
    return out


def test_a_job_past_its_time_limit_is_requeued_and_resumes_to_the_same_losses(run_cli, tmp_path):
    # the uninterrupted run, beside the SLURM job (one thread each)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reference = subprocess.Popen(
        [sys.executable, "-m", "genlab.train", *SMALL[4:], *LONG, f"hydra.run.dir={tmp_path}/ref"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *SMALL,
        "hydra.launcher.timeout_min=1",  # SLURM's shortest limit: 1 minute
        "hydra.launcher.signal_delay_s=5",  # SIGUSR2 5-35 s before it (SLURM checks every 30 s)
        "hydra.launcher.max_num_timeout=10",
        *LONG,
        f"hydra.sweep.dir={sweep_dir}",
        timeout=900,
    )
    assert reference.wait(timeout=600) == 0, reference.stderr.read()[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    (job,) = jobs_of(sweep_dir)
    logs = "".join(p.read_text() for p in (sweep_dir / ".submitit").glob("*/*_log.*"))
    assert "Caught signal SIGUSR2" in logs and "Requeued job" in logs  # submitit's protocol
    resumed = [
        int(line.split()[3].rstrip(":"))
        for line in logs.splitlines()
        if line.startswith("resumed from step ")
    ]
    assert resumed and all(0 < step < STEPS for step in resumed), logs[-3000:]

    assert read_status(job)["status"] == "finished"
    assert load_checkpoint(job / "checkpoints" / "last.pt")["step"] == STEPS
    assert len(list(job.glob("events.out.tfevents.*"))) >= 2  # one per launch that trained
    expected = scalars(tmp_path / "ref")
    assert [s for s, _ in expected["train/loss"]] == list(range(100, STEPS + 1, 100))
    assert scalars(job) == expected  # every step once, every value bit-equal
    steps = raw_scalar_steps(job)
    assert len(steps) == len(set(steps))  # no step written twice, not even before a purge
