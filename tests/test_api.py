"""The Python API (genlab.train, genlab.load, Run) and the `genlab` command's help."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.__main__ import COMMANDS
from genlab.errors import ConfigError, GenlabError

TINY = [  # as conftest.TINY, for the API
    "data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu", "trainer.epochs=1",
    "trainer.log_every=1", "trainer.progress=false", "eval.n_samples=60", "eval.iw_samples=4",
]  # fmt: skip


def test_train_returns_a_finished_run_under_the_working_directory(in_tmp):
    run = genlab.train("model=cgan", "arch.hidden=32", *TINY)
    assert run.dir.parent == in_tmp / "outputs" / "runs" and run.dir.name.endswith("_cgan_mlp")
    assert run.status["status"] == "finished" and run.step == 4  # 64 images / 16 per batch
    assert run.config["model"]["name"] == "cgan"
    assert (run.dir / ".hydra" / "config.yaml").is_file()
    assert {"fid", "class_accuracy"} <= set(run.metrics)
    d_loss = run.scalars()["train/d_loss"]
    assert [step for step, _ in d_loss] == [1, 2, 3, 4] and all(np.isfinite(v) for _, v in d_loss)
    again = genlab.load(run.dir)
    assert again.metrics == run.metrics and again.step == run.step


def test_two_runs_in_the_same_second_get_their_own_directories(in_tmp):
    first = genlab.train("model=gan", "arch.hidden=16", "eval.at_end=false", *TINY)
    second = genlab.train("model=gan", "arch.hidden=16", "eval.at_end=false", *TINY)
    assert first.dir != second.dir and first.status["status"] == second.status["status"]


def test_a_run_samples_tensors_or_uint8_arrays_and_draws_images(in_tmp):
    run = genlab.train("model=cgan", "arch.hidden=32", "eval.at_end=false", *TINY)
    x = run.sample(12, labels=3)
    assert x.shape == (12, 1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() <= x.max() <= 1
    u = run.sample(12, labels=[3] * 12, uint8=True)
    assert u.shape == (12, 28, 28) and u.dtype == np.uint8
    assert np.array_equal(u, (x[:, 0] * 255).round().numpy().astype(np.uint8))  # same draws
    grid = run.grid()
    assert isinstance(grid, Image.Image) and grid.size == (10 * 30 + 2, 10 * 30 + 2)  # 10 x 10
    assert run.interpolation(rows=2, steps=5).size == (5 * 30 + 2, 2 * 30 + 2)
    with pytest.raises(ConfigError, match=r"labels=\[10, .*\] is not allowed; give 12 class ids"):
        run.sample(12, labels=[10] * 12)


def test_evaluate_measures_again_and_rewrites_metrics_json(in_tmp):
    run = genlab.train("model=vae", "arch.hidden=32", "eval.at_end=false", *TINY)
    assert run.metrics == {}
    metrics = run.evaluate(n_samples=40, iw_samples=2)
    assert {"fid", "neg_elbo", "iw_nll"} <= set(metrics)
    assert genlab.load(run.dir).metrics == pytest.approx(metrics)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model=foo"], "model=foo is not known; choose one of cgan, cvae, gan, vae"),
        (["trainer.foo=1"], "trainer.foo=1: trainer has no key foo; known keys: epochs"),
        (["optimizer.lr=0"], "optimizer.lr=0 is not allowed; it must be a number > 0"),
        (["experiment=nope"], "experiment=nope is not known; choose one of celeba_vae"),
        (["resume=/nowhere"], "resume=/nowhere: no such directory"),
    ],
)
def test_bad_input_raises_the_command_lines_one_line(in_tmp, overrides, message):
    with pytest.raises(GenlabError) as e:
        genlab.train(*TINY, *overrides)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    assert not (in_tmp / "outputs").exists()  # refused before any work


def test_train_stays_callable_after_its_command_module_is_imported(in_tmp):
    import genlab.train as module

    assert genlab.train is module and callable(genlab.train)
    run = genlab.train("model=gan", "arch.hidden=16", "eval.at_end=false", *TINY)
    assert run.status["status"] == "finished"


@pytest.mark.slow
def test_genlab_help_lists_every_command_and_each_answers_help():
    def genlab_cli(*args):
        cmd = [sys.executable, "-m", "genlab", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    listed = genlab_cli("--help")
    assert listed.returncode == 0
    for name in COMMANDS:
        assert f"  {name} " in listed.stdout
    for name in ("sample", "evaluate", "classifier", "report", "bench"):
        helped = genlab_cli(name, "--help")
        assert helped.returncode == 0 and helped.stdout.startswith("usage: genlab " + name)
    train = genlab_cli("train", "--help")
    assert train.returncode == 0 and "train a VAE, cVAE, GAN or cGAN" in train.stdout
    assert "model: cgan, cvae, gan, vae" in train.stdout and "powered by Hydra" not in train.stdout
    unknown = genlab_cli("fly")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: fly is not a genlab")
