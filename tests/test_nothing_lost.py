"""A failure or a careless command never loses a run: guarded run directories, the model saved
before its evaluation, refused commands that touch nothing, filesystem errors in one line, and
exit statuses as the README gives them."""

import errno
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import genlab.runs.checkpoint as checkpoint
from genlab import classifier, evaluate, sample
from genlab.data import load_images
from genlab.errors import DataError
from genlab.logging.tensorboard import RunLogger
from genlab.metrics import feature_networks
from genlab.metrics.evaluator import Evaluator
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from genlab.train import cli
from tests.conftest import REPO, T, exit_status


def one_run(cwd: Path) -> Path:
    (run,) = (cwd / "outputs" / "runs").iterdir()
    return run


def snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.fixture
def finished(tmp_path, monkeypatch):
    """A finished VAE run in tmp_path/outputs/runs/<run> (the working directory is tmp_path)."""
    monkeypatch.chdir(tmp_path)
    cli([*T, "model=vae", "trainer.max_steps=3"])
    return one_run(tmp_path)


# --- run directories -----------------------------------------------------------------------
def test_a_new_run_never_writes_into_another_runs_directory(finished, capsys):
    before = snapshot(finished)
    assert exit_status(cli, [*T, "model=gan", f"hydra.run.dir={finished}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: hydra.run.dir={finished} holds another run; a new run never writes over one: "
        f"choose a new directory, or continue that run with resume={finished}"
    )
    assert snapshot(finished) == before


@pytest.mark.slow
def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path):
    cmd = [sys.executable, "-m", "genlab.train", *T, "trainer.max_steps=30", "eval.at_end=false"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    jobs = [subprocess.Popen([*cmd, f"seed={s}"], cwd=tmp_path, env=env, stderr=subprocess.PIPE)
            for s in (1, 2)]  # fmt: skip
    assert [j.wait(timeout=300) for j in jobs] == [0, 0], [j.stderr.read()[-500:] for j in jobs]
    runs = sorted((tmp_path / "outputs" / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:  # each directory's config and checkpoint are the same run's
        saved = load_checkpoint(run / "checkpoints" / "last.pt")["config"]["seed"]
        assert f"seed: {saved}" in (run / ".hydra" / "config.yaml").read_text()


# --- the model is saved before its evaluation ----------------------------------------------
def test_the_trained_model_is_saved_before_its_evaluation(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    real = Evaluator.__call__

    def failing(self, model):
        raise ValueError("the evaluation broke")

    monkeypatch.setattr(Evaluator, "__call__", failing)
    args = [*T, "model=vae", "trainer.max_steps=7", "trainer.checkpoint_every=5"]
    with pytest.raises(ValueError, match="the evaluation broke"):
        cli(args)
    run = one_run(tmp_path)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 7  # nothing to replay
    assert read_status(run)["status"] == "failed"
    monkeypatch.setattr(Evaluator, "__call__", real)
    cli([f"resume={run.relative_to(tmp_path)}", "eval.n_samples=30"])  # eval.* may change
    assert read_status(run)["status"] == "finished"
    assert {"neg_elbo", "fid"} <= set(read_status(run)["result"])
    assert (run / "metrics.json").is_file()
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 7  # no step trained again


def test_ctrl_c_during_the_final_evaluation_stops_at_once_with_the_model_saved(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)

    def interrupted(self, model):
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("SIGINT did not stop the evaluation at once")

    monkeypatch.setattr(Evaluator, "__call__", interrupted)
    assert exit_status(cli, [*T, "model=gan", "trainer.max_steps=4"]) == 130
    assert "interrupted by SIGINT outside a training step" in capsys.readouterr().err
    assert load_checkpoint(one_run(tmp_path) / "checkpoints" / "last.pt")["step"] == 4


# --- a refused or empty command touches nothing --------------------------------------------
def test_refused_and_no_op_resumes_leave_the_run_untouched(finished, tmp_path, capsys):
    before = snapshot(finished)
    run = finished.relative_to(tmp_path)
    assert exit_status(cli, [f"resume={run}", "optimizer.lr=0.5"]) == 2
    assert snapshot(finished) == before
    cli([f"resume={run}"])  # finished already: nothing to do
    assert "already finished at step 3" in capsys.readouterr().out
    assert snapshot(finished) == before


@pytest.mark.parametrize(
    "arg, message",
    [
        ("resume=", "resume= is empty (an unset shell variable?); give a directory to continue"),
        ("resume_sweep=", "resume_sweep= is empty (an unset shell variable?)"),
        ("resume_sweep=outputs/multirn/x", "resume_sweep=outputs/multirn/x: no such directory"),
    ],
)
def test_empty_or_misspelled_resume_targets_are_refused(
    tmp_path, monkeypatch, capsys, arg, message
):
    monkeypatch.chdir(tmp_path)
    assert exit_status(cli, [*T, arg]) == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert not (tmp_path / "outputs").exists()


def test_a_classifier_below_its_floor_never_replaces_the_saved_one(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    classifier.main(["data=synthetic", f"data.root={root}"])
    (saved,) = (root / "classifiers").glob("*.pt")
    before = saved.read_bytes()
    assert exit_status(classifier.main, ["data=synthetic", f"data.root={root}", "force=true",
                                         "epochs=-1"]) == 2  # fmt: skip
    assert "epochs=-1 is not allowed" in capsys.readouterr().err
    monkeypatch.setitem(feature_networks.RECIPES["synthetic"], "floor", 1.01)  # unreachable
    assert exit_status(classifier.main, ["data=synthetic", f"data.root={root}", "force=true"]) == 2
    assert "below its floor 1.01; the saved one is kept" in capsys.readouterr().err
    assert saved.read_bytes() == before


# --- filesystem errors: one line naming the path -------------------------------------------
def test_a_data_root_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root").write_text("not a folder")
    assert exit_status(cli, [*T, "model=vae", "data.root=root"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot use root/classifiers")


def test_a_disk_that_fills_mid_run_is_one_line_and_a_failed_status(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    real = checkpoint.write_atomic

    def full(path, write):
        if load_step[0] >= 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        load_step[0] += 1
        return real(path, write)

    load_step = [0]
    monkeypatch.setattr(checkpoint, "write_atomic", full)
    args = [*T, "model=vae", "trainer.max_steps=8", "trainer.checkpoint_every=4"]
    assert exit_status(cli, args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "last.pt" in err
    run = one_run(tmp_path)
    assert read_status(run)["status"] == "failed"
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4  # the last good one
    assert not list(run.rglob("*.tmp"))


def test_image_folder_with_a_corrupt_image_or_an_empty_class_is_one_line(tmp_path):
    for label in ("cats", "dogs"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8)).save(tmp_path / "pets" / label / f"{i}.png")
    (tmp_path / "pets" / "dogs" / "1.png").write_bytes(b"\\x89PNG broken")
    with pytest.raises(DataError, match=r"cannot decode the image .*dogs/1.png; remove or"):
        load_images("image_folder", path=str(tmp_path / "pets"), image_size=8, channels=3)
    (tmp_path / "pets" / "dogs" / "1.png").unlink()
    (tmp_path / "pets" / "birds").mkdir()
    with pytest.raises(DataError, match="the class folder birds holds no images"):
        load_images("image_folder", path=str(tmp_path / "pets"), image_size=8, channels=3)


# --- sample and evaluate ---------------------------------------------------------------------
def test_sample_checks_out_before_generating_and_needs_no_training_data(
    finished, tmp_path, monkeypatch, capsys
):
    import genlab.config.data as data_cache

    (tmp_path / "folder.npz").mkdir()
    assert exit_status(sample.main, [f"run={finished}", "out=folder.npz"]) == 2
    assert "out=folder.npz is a folder; give a file name" in capsys.readouterr().err
    data_cache._load_once.cache_clear()
    monkeypatch.setattr(data_cache, "load_images", lambda *a, **k: pytest.fail("data decoded"))
    out = sample.main([f"run={finished}", "n=10", "out=s.npz"])  # the checkpoint knows the shape
    assert out.is_file()


def test_evaluate_refuses_a_zero_sample_count(finished, capsys):
    assert exit_status(evaluate.main, [f"run={finished}", "n_samples=0"]) == 2
    assert "eval.n_samples=0 is not allowed; it must be an integer > 0" in capsys.readouterr().err


# --- the printed resume command and the exit statuses ----------------------------------------
def test_the_printed_resume_command_works_for_a_directory_with_a_space(
    tmp_path, monkeypatch, capsys, signal_after_logging
):
    monkeypatch.chdir(tmp_path)
    scalars = RunLogger.scalars
    signal_after_logging(2, signal.SIGINT)
    args = [*T, "model=vae", "trainer.log_every=1", "hydra.run.dir='my runs/a b'"]
    assert exit_status(cli, args) == 130
    command = capsys.readouterr().err.strip().splitlines()[-1].split("resume with: ")[1]
    monkeypatch.setattr(RunLogger, "scalars", scalars)
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "genlab.train"]
    cli(words[3:])
    assert "resuming my runs/a b at step 2" in capsys.readouterr().out
    assert read_status(tmp_path / "my runs" / "a b")["status"] == "finished"


def test_a_second_sigterm_exits_143(tmp_path, monkeypatch, capsys, signal_after_logging):
    monkeypatch.chdir(tmp_path)
    signal_after_logging(1, signal.SIGTERM, signal.SIGTERM)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert exit_status(cli, [*T, "model=vae", "trainer.log_every=1"]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "interrupted by SIGTERM outside a training step" in capsys.readouterr().err
