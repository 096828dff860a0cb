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


# --- bad arguments: one line naming the argument, the value and what is allowed -------------


TWO_STEPS = [*TINY, "arch.hidden=16", "eval.at_end=false", "trainer.max_steps=2"]


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A cGAN and a GAN of 2 steps each."""
    root = tmp_path_factory.mktemp("runs")
    cgan = genlab.train("model=cgan", *TWO_STEPS, run_dir=root / "cgan")
    gan = genlab.train("model=gan", *TWO_STEPS, run_dir=root / "gan")
    return cgan, gan


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(GenlabError) as e:
        call(*args, **kwargs)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_train_takes_one_list_of_overrides_as_the_command_line_takes_them(tmp_path):
    gan = genlab.train(["model=gan", *TWO_STEPS], run_dir=tmp_path / "gan")
    assert gan.status["status"] == "finished" and gan.step == 2
    assert gan.config["model"]["name"] == "gan" and gan.config["data"]["name"] == "synthetic"


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((["data=synthetic"], "model=gan"), {}, "genlab.train's argument 1 is a list, ['data=sy"),
        (("data=synthetic", 3), {}, "genlab.train's argument 2 is 3 (int); each override is a s"),
        ((None,), {}, "genlab.train's argument 1 is None (NoneType); each override is a string"),
        (({"model": "gan"},), {}, "genlab.train's argument 1 is {'model': 'gan'} (dict); each "),
        ((["data=synthetic", 7],), {}, "genlab.train's overrides[1] is 7 (int); each override"),
        (("data=synthetic",), {"run_dir": 3}, "run_dir=3 is not allowed; give a folder path"),
    ],
)
def test_train_refuses_an_override_that_is_not_a_string_by_its_position(
    in_tmp, args, kwargs, message
):
    assert one_line_error(genlab.train, *args, **kwargs).startswith(message)
    assert not (in_tmp / "outputs").exists()  # refused before any work


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 0}, "rows=0 is not allowed; it must be an integer > 0"),
        ({"rows": -1}, "rows=-1 is not allowed; it must be an integer > 0"),
        ({"rows": 1.5}, "rows=1.5 is not allowed; it must be an integer > 0"),
        ({"steps": 0}, "steps=0 is not allowed; it must be an integer > 1"),
        ({"steps": 1}, "steps=1 is not allowed; it must be an integer > 1"),
        ({"steps": "3"}, "steps='3' is not allowed; it must be an integer > 1"),
        ({"seed": -1}, "seed=-1 is not allowed; it must be an integer in 0 to 2^63 - 1"),
    ],
)
def test_interpolation_refuses_bad_rows_steps_and_seed(tiny_runs, kwargs, message):
    for run in tiny_runs:
        assert one_line_error(run.interpolation, **kwargs) == message


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.sample(0), "n=0 is not allowed; it must be an integer > 0"),
        (lambda r: r.sample(-1), "n=-1 is not allowed; it must be an integer > 0"),
        (lambda r: r.sample("10"), "n='10' is not allowed; it must be an integer > 0"),
        (lambda r: r.sample(10, labels=10), "labels=10 is not a class; choose 0 to 9"),
        (lambda r: r.sample(10, labels=-1), "labels=-1 is not a class; choose 0 to 9"),
        (lambda r: r.sample(2, labels=[1, 9, 3]), "labels=[1, 9, 3] is not allowed; give 2 class"),
        (lambda r: r.sample(2, labels="a"), "labels='a' is not allowed; class ids are integers"),
        (lambda r: r.grid(n=0), "n=0 is not allowed; it must be an integer > 0"),
        (lambda r: r.grid(n=-5), "n=-5 is not allowed; it must be an integer > 0"),
        (lambda r: r.grid(n="x"), "n='x' is not allowed; it must be an integer > 0"),
        (lambda r: r.grid(n=15), "n=15 is not allowed for this run's grid of 10 classes (a row"),
        (lambda r: r.grid(seed=-1), "seed=-1 is not allowed; it must be an integer in 0 to 2^63"),
    ],
)
def test_a_conditional_run_refuses_bad_counts_labels_and_grids(tiny_runs, call, message):
    cgan, _ = tiny_runs
    assert one_line_error(call, cgan).startswith(message)


def test_an_unconditional_run_refuses_labels_and_draws_any_grid(tiny_runs):
    _, gan = tiny_runs
    for labels in (3, [1, 2], "a"):
        assert one_line_error(gan.sample, 4, labels=labels) == (
            f"labels={labels!r} needs a cGAN or cVAE run; this run has no classes"
        )
    assert one_line_error(gan.grid, n=-5) == "n=-5 is not allowed; it must be an integer > 0"
    assert gan.grid(n=15).size == (10 * 30 + 2, 2 * 30 + 2)  # no classes: any n, 10 per row


def test_plot_takes_one_tag_as_a_string_and_refuses_a_tag_never_logged(tiny_runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cgan, _ = tiny_runs
    fig = cgan.plot(tags="train/d_loss")
    assert [ax.get_title() for ax in fig.axes] == ["train/d_loss"]
    plt.close(fig)
    assert one_line_error(cgan.plot, tags=["train/d_loss", "train/nope"]) == (
        "tags=['train/nope']: this run never logged them; it has train/d_fake, train/d_loss, "
        "train/d_real, train/g_loss"
    )
    assert one_line_error(cgan.plot, tags=3) == (
        "tags=3 is not allowed; give a tag or a list of tags"
    )


def test_load_refuses_a_missing_folder_a_file_and_a_folder_that_is_not_a_run(tiny_runs, tmp_path):
    cgan, _ = tiny_runs
    wrote = "give the directory genlab.train or `genlab train` wrote"
    missing = tmp_path / "nowhere"
    assert one_line_error(genlab.load, missing) == f"{missing}: no such directory; {wrote}"
    assert one_line_error(genlab.load, tmp_path) == (
        f"{tmp_path} is not a genlab run (no checkpoints/, status.json or .hydra/ in it); {wrote}"
    )
    loose = tmp_path / "notes.txt"
    loose.write_text("x")
    assert one_line_error(genlab.load, loose) == f"{loose} is a file, not a run directory; {wrote}"
    checkpoint = cgan.dir / "checkpoints" / "last.pt"  # a file of a run: its run is named
    assert one_line_error(genlab.load, checkpoint) == (
        f"{checkpoint} is a file, not a run directory; genlab.load({str(cgan.dir)!r})"
    )
    assert one_line_error(genlab.load, None) == (
        "run_dir=None is not allowed; give a run directory (str or Path)"
    )
