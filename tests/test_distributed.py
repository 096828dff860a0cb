"""Several processes under torchrun: every model family trains; a NaN or a signal on one rank
stops (or is skipped) on every rank together, without a hang; each rank resumes its own noise."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status

REPO = Path(__file__).resolve().parents[1]
RUN = ["data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu", "arch=mlp",
       "arch.hidden=16", "trainer.epochs=2", "trainer.log_every=1", "trainer.progress=false",
       "eval.at_end=false"]  # fmt: skip

# Loaded by every process through PYTHONPATH: from its 3rd loss on, the process whose RANK is
# NAN_RANK sees a NaN VAE loss; the others stay finite.
INJECT = """
import os
from genlab.losses.elbo import VAELoss

calls = {"n": 0}
call = VAELoss.__call__


def nan_on_one_rank(self, *args):
    terms = call(self, *args)
    calls["n"] += 1
    if os.environ.get("RANK") == os.environ["NAN_RANK"] and calls["n"] >= 3:
        terms["loss"] = terms["loss"] * float("nan")
    return terms


VAELoss.__call__ = nan_on_one_rank
"""


def torchrun(tmp_path, *args, env=None):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    cmd += ["-m", "genlab.train", *args, f"hydra.run.dir={tmp_path / 'run'}"]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=full_env,
                          timeout=300)  # fmt: skip
    return done, time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gan", "cgan"])
def test_gans_train_under_torchrun(tmp_path, model):
    done, _ = torchrun(tmp_path, f"model={model}", *RUN)
    assert done.returncode == 0, done.stderr[-3000:]
    status = read_status(tmp_path / "run")
    assert status["status"] == "finished"
    assert {"d_loss", "g_loss"} <= set(status["result"])
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


def injected(tmp_path, code: str, **env: str) -> dict[str, str]:
    """The environment of a torchrun whose every rank first runs `code` (via Python's site hook)."""
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": f"{tmp_path / 'inject'}{os.pathsep}{REPO}", **env}


@pytest.mark.slow
def test_a_nan_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    env = injected(tmp_path, INJECT, NAN_RANK="1")
    done, seconds = torchrun(tmp_path, "model=vae", *RUN, env=env)
    assert done.returncode != 0
    assert seconds < 120  # no rank left waiting in a collective (torchrun's timeout is 30 min)
    assert "non-finite loss at step 3: in another process" in done.stderr  # rank 0's line
    assert "non-finite loss at step 3: loss=nan" in done.stderr  # rank 1's own
    assert read_status(tmp_path / "run")["status"] == "failed"


@pytest.mark.slow
def test_a_nan_on_one_rank_is_skipped_on_every_rank(tmp_path):
    env = injected(tmp_path, INJECT.replace(">= 3", "== 3"), NAN_RANK="0")
    done, _ = torchrun(tmp_path, "model=vae", *RUN, "trainer.nan_policy=skip", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    status = read_status(tmp_path / "run")
    assert status["status"] == "finished" and status["result"]["skipped_batches"] == 1


# Loaded by every process: right after its 3rd step, the process whose RANK is STOP_RANK (only
# it) receives SIGINT, as a scheduler's signal may reach one node only.
STOP = """
import os, signal
from genlab.trainers.trainer import Trainer

train_batch = Trainer._train_batch


def signal_one_rank(self, *args):
    out = train_batch(self, *args)
    if os.environ.get("RANK") == os.environ["STOP_RANK"] and self.global_step == 3:
        os.kill(os.getpid(), signal.SIGINT)
    return out


Trainer._train_batch = signal_one_rank
"""


@pytest.mark.slow
def test_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    env = injected(tmp_path, STOP, STOP_RANK="1")
    done, seconds = torchrun(tmp_path, "model=vae", *RUN, env=env)
    assert seconds < 120, done.stderr[-2000:]  # no rank left waiting in a collective call
    assert "interrupted by SIGINT at step 3, checkpoint saved" in done.stderr  # rank 0 too
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 3
    assert read_status(tmp_path / "run")["status"] == "interrupted"


def _rng_per_rank(rank: int, rendezvous: str, run_dir: str, cfg: dict, out) -> None:
    """One of two gloo processes: its own random stream, a checkpoint, a resume."""
    import torch.distributed as dist

    from genlab.config.build import make_trainer
    from genlab.trainers.distributed import Ranks

    dist.init_process_group("gloo", init_method=rendezvous, rank=rank, world_size=2)
    try:
        ranks = Ranks(rank, 2, rank)
        trainer = make_trainer(cfg, Path(run_dir), ranks)
        torch.manual_seed(100 + rank)  # the ranks' streams differ, as each GPU's does
        trainer.save()
        expected = torch.rand(4)
        again = make_trainer(cfg, Path(run_dir), ranks)
        again.resume()
        out.put((rank, torch.equal(torch.rand(4), expected)))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_every_rank_resumes_its_own_random_stream(compose_cfg, tmp_path):
    """Rank 0 writes the checkpoint, but each rank's RNG state goes in it and comes back to
    that rank (a GPU rank drawing noise on its own device would else restart its stream)."""
    import torch.multiprocessing as mp

    from genlab.config.build import to_dict

    cfg = to_dict(compose_cfg("model=vae", "arch.hidden=16", "eval.at_end=false"))
    out = mp.get_context("spawn").SimpleQueue()
    args = (f"file://{tmp_path / 'rendezvous'}", str(tmp_path / "run"), cfg, out)
    mp.spawn(_rng_per_rank, args=args, nprocs=2)
    assert sorted(out.get() for _ in range(2)) == [(0, True), (1, True)]
