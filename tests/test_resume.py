"""Nothing lost: a run stopped by a crash, SIGKILL, SIGINT or SIGTERM resumes to exactly the
losses, images and steps of a run never stopped."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab.config.build import make_trainer
from genlab.errors import Interrupted
from genlab.logging.tensorboard import RunLogger
from genlab.runs.checkpoint import load_checkpoint
from genlab.train import cli

REPO = Path(__file__).resolve().parents[1]
# 48 images / batch 8 = 6 steps per epoch, 3 epochs = 18 steps; checkpoints at 5, 10, 15, 18
SHORT = [
    "data.size=48",
    "data.image_shape=[1,8,8]",  # small grids: PNG encoding is most of a tiny run's time
    "data.batch_size=8",
    "trainer.epochs=3",
    "trainer.checkpoint_every=5",
    "arch.hidden=16",
]


def logged(run_dir) -> dict[str, list]:
    """Every scalar and image tag -> [(step, value)] as TensorBoard shows it (after purges); the
    training clock (time/train_s) by its steps only: wall time is never bit-equal."""
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    out = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
    out.update({t: [(s, None) for s, _ in v] for t, v in out.items() if t.startswith("time/")})
    out.update({t: [(e.step, None) for e in acc.Images(t)] for t in acc.Tags()["images"]})
    return out


def train(cfg, run_dir, resume=False, on_step=None):
    trainer = make_trainer(cfg, run_dir)
    if resume:
        trainer.resume()
    if on_step is not None:  # on_step(step about to run) may crash or signal
        step_fn = trainer.step.train_step

        def train_step(x, y, step):
            on_step(step + 1)
            return step_fn(x, y, step)

        trainer.step.train_step = train_step
    try:
        trainer.fit()
    finally:
        trainer.close()
    return trainer


class Crash(Exception):
    pass


def crash_at(n):
    def on_step(step):
        if step == n:
            raise Crash  # the events of steps before n are on disk (fit flushes on the way out)

    return on_step


# G's EMA, spectral norm (its power-iteration vectors), two learning rates and a schedule
GAN_EXTRAS = [
    "model.ema=0.9",
    "model.spectral_norm=true",
    "optimizer.lr_d=4e-4",
    "optimizer.schedule=cosine",
]


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=vae", "optimizer.schedule=linear"],
        ["model=cgan"],
        ["model=cgan", *GAN_EXTRAS],
        # fp16: a loss weighted up so that the scaled gradients overflow in float16 and the
        # gradient scaler halves its scale while training; the scale must resume too
        ["model=vae", "device.precision=fp16", "loss.recon_weight=1000"],
    ],
    ids=["vae", "cgan", "cgan-ema-sn-ttur-cosine", "vae-fp16"],
)
def test_crash_or_sigint_then_resume_matches_the_uninterrupted_run(
    compose_cfg, tmp_path, overrides
):
    cfg = compose_cfg(*overrides, *SHORT)
    train(cfg, tmp_path / "whole")
    reference = logged(tmp_path / "whole")
    final = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    assert [s for s, _ in reference["images/samples"]] == [0, 6, 12, 18]

    # a crash at step 14: checkpoint 10 on disk, steps 11-13 and the image at 12 logged after it
    with pytest.raises(Crash):
        train(cfg, tmp_path / "crash", on_step=crash_at(14))
    assert load_checkpoint(tmp_path / "crash" / "checkpoints" / "last.pt")["step"] == 10
    train(cfg, tmp_path / "crash", resume=True)
    assert logged(tmp_path / "crash") == reference  # every step once, every value bit-equal
    resumed = load_checkpoint(tmp_path / "crash" / "checkpoints" / "last.pt")
    for name, weights in final["networks"].items():  # incl. the EMA copy and SN's u, v
        for key, value in weights.items():
            assert torch.equal(resumed["networks"][name][key], value), f"{name}.{key}"
    assert resumed["schedulers"] == final["schedulers"]

    # SIGINT during step 9: a checkpoint at step 9, then Interrupted
    def sigint(step):
        if step == 9:
            signal.raise_signal(signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(Interrupted) as stop:
            train(cfg, tmp_path / "sigint", on_step=sigint)
    except KeyboardInterrupt:
        pytest.fail("SIGINT was not turned into a checkpoint and Interrupted")
    assert stop.value.step == 9 and stop.value.signum == signal.SIGINT
    assert load_checkpoint(tmp_path / "sigint" / "checkpoints" / "last.pt")["step"] == 9
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    train(cfg, tmp_path / "sigint", resume=True)
    assert logged(tmp_path / "sigint") == reference


def test_checkpoint_holds_everything_a_resume_needs(compose_cfg, tmp_path):
    trainer = train(compose_cfg("model=gan", "model.d_steps=2", *SHORT), tmp_path)
    state = load_checkpoint(trainer.checkpoint_path)
    assert (state["step"], state["epoch"], state["batch"]) == (18, 3, 0)
    assert {"torch", "numpy", "python"} <= set(state["rng"])
    assert any("running_mean" in k for k in state["networks"]["generator"])  # BatchNorm stats
    assert state["optimizers"]["discriminator"]["state"]  # Adam moments
    assert torch.isfinite(state["extra"]["g_loss"])  # the G loss shown at steps without a G update


def test_finished_run_resumes_to_nothing_and_can_be_extended(compose_cfg, tmp_path):
    cfg = compose_cfg("model=vae", *SHORT)
    train(cfg, tmp_path)
    again = make_trainer(cfg, tmp_path)
    again.resume()
    assert again.global_step == again.total_steps == 18
    longer = make_trainer(compose_cfg("model=vae", *SHORT, "trainer.epochs=4"), tmp_path)
    longer.resume()
    longer.fit()
    longer.close()
    steps = [s for s, _ in logged(tmp_path)["train/loss"]]
    assert steps == list(range(1, 25))


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_a_finished_run_trained_on_stretches_its_schedule_over_the_new_length(
    compose_cfg, tmp_path, schedule
):
    """18 steps, then on to 36: from step 19 the rates are those of a run launched for 36 (the
    old schedule would sit at 0 (linear) or climb back up (cosine) instead)."""
    run = ["model=vae", *SHORT, f"optimizer.schedule={schedule}", "trainer.log_every=1"]
    train(compose_cfg(*run), tmp_path / "extended")
    train(compose_cfg(*run, "trainer.epochs=6"), tmp_path / "extended", resume=True)
    train(compose_cfg(*run, "trainer.epochs=6"), tmp_path / "launched")
    extended = logged(tmp_path / "extended")["train/lr_vae"]
    launched = logged(tmp_path / "launched")["train/lr_vae"]
    assert extended[17][1] == pytest.approx(0.0, abs=1e-12)  # the first run's end
    assert [s for s, _ in extended] == [s for s, _ in launched] == list(range(1, 37))
    assert [v for _, v in extended[18:]] == pytest.approx([v for _, v in launched[18:]])
    assert launched[18][1] > 1e-4


# --- through the command line --------------------------------------------------------------
CLI_RUN = ["data=synthetic", "device=cpu", "trainer.progress=false", "trainer.log_every=1"]


def only_run(cwd):
    (run,) = (cwd / "outputs" / "runs").iterdir()
    return run


@pytest.mark.parametrize(
    "sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_signal_saves_a_checkpoint_and_says_how_to_resume(
    tmp_path, monkeypatch, capsys, signal_after_logging, sig, status
):
    def not_caught(signum, frame):  # instead of dying, should genlab's handler be missing
        raise RuntimeError(f"{signal.Signals(signum).name} reached the default handler")

    previous = signal.signal(signal.SIGTERM, not_caught)
    try:
        monkeypatch.chdir(tmp_path)
        signal_after_logging(7, sig)
        with pytest.raises(SystemExit) as e:
            cli([*CLI_RUN, "model=vae", *SHORT])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert e.value.code == status
    run = only_run(tmp_path)
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"interrupted by {signal.Signals(sig).name} at step 7, checkpoint saved; resume with: "
        f"python -m genlab.train resume={run.relative_to(tmp_path)}"
    )
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 7
    assert [s for s, _ in logged(run)["train/loss"]] == list(range(1, 8))  # flushed


# The driver runs the command line and SIGKILLs its own process right after logging step 14:
# a run dying mid-epoch, events on disk past its last checkpoint (step 10), nothing cleaned up.
DRIVER = """
import os, signal, sys
from genlab.logging.tensorboard import RunLogger
from genlab.train import cli
scalars = RunLogger.scalars
def scalars_then_kill(self, values, step, prefix="train"):
    scalars(self, values, step, prefix)
    if step == 14:
        self.flush()
        os.kill(os.getpid(), signal.SIGKILL)
RunLogger.scalars = scalars_then_kill
cli(sys.argv[1:])
"""


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_the_uninterrupted_run(tmp_path, monkeypatch, capsys):
    args = [*CLI_RUN, "model=cgan", *SHORT]
    (tmp_path / "killed").mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}  # one thread, as here
    killed = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        cwd=tmp_path / "killed",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run = only_run(tmp_path / "killed")
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 10

    monkeypatch.chdir(tmp_path / "killed")
    cli([f"resume={run.relative_to(tmp_path / 'killed')}"])
    assert f"resuming {run.relative_to(tmp_path / 'killed')} at step 10" in capsys.readouterr().out
    (tmp_path / "whole").mkdir()
    monkeypatch.chdir(tmp_path / "whole")
    cli(args)
    assert logged(run) == logged(only_run(tmp_path / "whole"))  # every step once, bit-equal
    assert len(list(run.glob("events.out.tfevents.*"))) == 2  # the same run directory


def test_resume_accepts_what_the_readme_lets_change_and_refuses_the_rest(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    cli([*CLI_RUN, "model=vae", *SHORT, "trainer.epochs=1", "eval.at_end=false"])
    run = only_run(tmp_path).relative_to(tmp_path)
    may_change = [  # README, "Resume": trainer.epochs ... and `device` (the whole group)
        "trainer.epochs=2", "trainer.max_steps=10", "trainer.log_every=2",
        "trainer.checkpoint_every=3", "trainer.image_every=2", "trainer.progress=false",
        "trainer.nan_policy=skip", "device=cpu", "device.compile=false", "device.precision=32",
        "device.channels_last=false", "device.optimizer_impl=foreach",
    ]  # fmt: skip
    cli([f"resume={run}", *may_change])
    assert f"resuming {run} at step 6" in capsys.readouterr().out
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 10
    with pytest.raises(SystemExit) as e:
        cli([f"resume={run}", "optimizer.lr=0.5"])
    assert e.value.code == 2
    assert "optimizer.lr=0.5 would change the run saved in" in capsys.readouterr().err


def test_a_resumed_logger_sorts_after_a_file_from_a_clock_ahead_without_waiting(tmp_path):
    ahead = int(time.time()) + 3600  # an event file written on a machine an hour ahead
    old = RunLogger(tmp_path)
    old.scalars({"loss": 1.0}, 1)
    old.scalars({"loss": 9.0}, 2)  # logged after the checkpoint at step 1: purged on resume
    old.close()
    (first,) = tmp_path.glob("events.out.tfevents.*")
    parts = first.name.split(".")
    parts[3] = str(ahead)
    first.rename(first.with_name(".".join(parts)))
    start = time.monotonic()
    new = RunLogger(tmp_path, purge_step=2)
    assert time.monotonic() - start < 1  # no waiting on the clock
    new.scalars({"loss": 2.0}, 2)
    new.close()
    names = sorted(p.name for p in tmp_path.glob("events.out.tfevents.*"))
    assert len(names) == 2 and int(names[-1].split(".")[3]) == ahead + 1  # the new one is last
    assert logged(tmp_path)["train/loss"] == [(1, 1.0), (2, 2.0)]  # TensorBoard's view
