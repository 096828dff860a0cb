"""One run on two "nodes": two torchrun agents on 127.0.0.1 (one process each) that meet through
c10d rendezvous, as on two machines with a shared file system. One run directory, written by
global rank 0 alone; the losses of a 1-process run (the VAE) or of one node with both processes
(the GAN: on the CPU each process normalises its own shard, see genlab.trainers.distributed);
and a resume on both agents that continues the same run to the same losses."""

import os
import socket
import subprocess
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab.config.build import make_trainer
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from tests.conftest import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# 64 images / global batch 16 = 4 steps per epoch, 2 epochs; the first launch stops at step 4
ARGS = [
    "arch=mlp",
    "device.precision=32",  # exact sums: bf16's rounding differs between 1 and 2 processes
    "data=synthetic",
    "data.size=64",
    "data.batch_size=16",  # the global batch: 8 per process
    "device=cpu",
    "trainer.epochs=2",
    "trainer.log_every=1",
    "trainer.progress=false",
    "eval.at_end=false",
    "optimizer.schedule=constant",  # a schedule would span 4 steps in launch 1, 8 in the reference
]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_nodes(tmp_path, *args):
    """`torchrun --nnodes=2 --node_rank=K ...` for K = 0, 1 at once, each in its own empty
    working directory; returns the two finished processes."""
    port = free_port()
    agents = []
    for rank in (0, 1):
        cwd = tmp_path / f"node{rank}"
        cwd.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={rank}"]
        cmd += ["--nproc_per_node=1", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}"]
        cmd += ["--rdzv_id=genlab-test", "-m", "genlab.train", *args]
        agents.append(
            subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    outputs = [agent.communicate(timeout=300) for agent in agents]
    for agent, (_, err) in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, err.decode()[-3000:]
    return [out.decode() + err.decode() for out, err in outputs]


def scalars(run_dir) -> dict[str, list]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def assert_close(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for tag, values in expected.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in values], tag  # every step once
        assert [v for _, v in got[tag]] == pytest.approx([v for _, v in values], rel=1e-5), tag


def one_node_two_processes(tmp_path, *args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "genlab.train", *args]
    result = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("model", ["vae", "gan"])
def test_two_nodes_write_one_run_match_the_reference_and_resume_on_both(
    compose_cfg, tmp_path, model
):
    args = [f"model={model}", *ARGS]
    run = tmp_path / "run"
    two_nodes(tmp_path, *args, "trainer.max_steps=4", f"hydra.run.dir={run}")
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4
    outputs = two_nodes(tmp_path, f"resume={run}", "trainer.max_steps=8")
    assert all(f"resuming {run} at step 4" in out for out in outputs)  # both agents resume
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 8
    assert read_status(run)["status"] == "finished"
    # global rank 0 alone wrote: no file in either agent's directory, one event file per launch
    assert [p for k in (0, 1) for p in (tmp_path / f"node{k}").iterdir()] == []
    assert len(list(run.glob("events.out.tfevents.*"))) == 2

    reference = tmp_path / "reference"
    if model == "vae":  # no BatchNorm: one process with the global batch
        trainer = make_trainer(compose_cfg(*args, tiny=False), reference)
        trainer.fit()
        trainer.close()
    else:
        one_node_two_processes(tmp_path, *args, f"hydra.run.dir={reference}")
    expected = scalars(reference)
    assert [s for s, _ in expected["train/loss" if model == "vae" else "train/g_loss"]] == list(
        range(1, 9)
    )
    assert_close(scalars(run), expected)
