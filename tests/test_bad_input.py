"""Bad command lines, data files and resume targets: one line naming the key, the value and what
is allowed, a non-zero exit, and no work done."""

import os

import pytest
import torch
from hydra.errors import MissingConfigException

from genlab.cli.one_line import one_line
from genlab.config.build import make_trainer
from genlab.data import load_images
from genlab.errors import ConfigError, DataError
from genlab.runs.checkpoint import save_checkpoint
from genlab.train import cli

TINY_CLI = ["data=synthetic", "data.size=16", "device=cpu", "trainer.progress=false"]

# (command line, the line it must print after "error: ")
BAD = [
    (["model=foo"], "model=foo is not known; choose one of cgan, cvae, gan, vae"),
    (["arch=transformer"], "arch=transformer is not known; choose one of cnn, mlp"),
    (["device=tpu"], "device=tpu is not known; choose one of auto, cpu, cuda"),
    (["data=cifar"], "data=cifar is not known; choose one of "),
    (["loss=nope"], "loss=nope is not known; choose one of "),
    (["trainer.foo=1"], "trainer.foo=1: trainer has no key foo; known keys: epochs, max_steps"),
    (["foo=1"], "foo=1: the config has no key foo; known keys: data, optimizer"),
    (["trainer.epochs=["], "cannot parse trainer.epochs=[: no viable alternative at input '['"),
    (["optimizer.lr=0"], "optimizer.lr=0 is not allowed; it must be a number > 0"),
    (["optimizer.lr=-1e-3"], "optimizer.lr=-0.001 is not allowed; it must be a number > 0"),
    (["optimizer.lr=fast"], "optimizer.lr=fast is not allowed; it must be a number > 0"),
    (["data.batch_size=0"], "data.batch_size=0 is not allowed; it must be an integer > 0"),
    (["model.latent_dim=0"], "model.latent_dim=0 is not allowed; it must be an integer > 0"),
    (["trainer.epochs=-1"], "trainer.epochs=-1 is not allowed; it must be an integer >= 0"),
    (["trainer.epochs=1.5"], "trainer.epochs=1.5 is not allowed; it must be an integer >= 0"),
    (["trainer.log_every=0"], "trainer.log_every=0 is not allowed; it must be an integer > 0"),
    (["trainer.nan_policy=ignore"], "trainer.nan_policy=ignore is not known; choose one of stop"),
    (["trainer.progress=maybe"], "trainer.progress=maybe is not allowed; use true or false"),
    (["seed=-1"], "seed=-1 is not allowed; it must be an integer in 0 to 2^63 - 1"),
    (["optimizer.betas=[0.5]"], "optimizer.betas=[0.5] is not allowed; give two numbers in [0, 1)"),
    (["arch.hidden=0"], "arch.hidden=0 is not allowed; it must be an integer > 0"),
    (["model=vae", "loss=non_saturating"], "model=vae cannot train with loss=non_saturating"),
    (["data.batch_size=${oops}"], "data.batch_size: Interpolation key 'oops' not found"),
    (["~seed"], "the config lacks a key genlab needs (KeyError: 'seed')"),
    (["objective=fid", "eval.at_end=false"], "objective=fid is a metric of the end-of-run evaluat"),
    (["optimizer.lr=nan"], "optimizer.lr=nan is not allowed; it must be a finite number"),
    (["optimizer.lr=inf"], "optimizer.lr=inf is not allowed; it must be a finite number"),
    (["seed=18446744073709551616"], "seed=18446744073709551616 is not allowed; it must be an in"),
    (["model=gan", "data.batch_size=1"], "data.batch_size=1 cannot go with model=gan: G's Batch"),
    (["eval.n_samples=3"], "eval.n_samples=3 is not allowed with eval.pr_k=3: precision/recall"),
    (["model=gan", "objective=class_accuracy"], "objective=class_accuracy is not known; choose"),
    (["model=vae", "loss.beta=nan"], "loss.beta=nan is not allowed; it must be a finite number"),
    (["model=gan", "prior=uniform", "prior.high=inf"], "prior.high=inf is not allowed; it must be"),
    (["model=gan", "loss=wgan_gp", "loss.gp_weight=nan"], "loss.gp_weight=nan is not allowed; i"),
    (
        ["model=vae", "loss=bernoulli", "+loss.sigma=0.1"],
        "loss.sigma cannot go with loss=bernoulli",
    ),
    (["model=vae", "loss=gaussian", "loss.sigma=0"], "loss.sigma=0 is not allowed; it must be a n"),
    (["model=vae", "model.activation=tanh"], "model.activation=tanh is not known; choose one"),
]
if not torch.cuda.is_available():
    BAD.append(
        (["device=cuda"], "device=cuda but no GPU is visible; choose device=cpu or device=auto")
    )


@pytest.mark.parametrize("args, expected", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_command_line_fails_fast_in_one_line(compose_cfg, tmp_path, args, expected):
    """The composition and checks `python -m genlab.train` runs, without a process per case."""
    with pytest.raises(Exception) as e:
        make_trainer(compose_cfg(*args), tmp_path)
    line = one_line(e.value, args)
    assert line.startswith(expected) and "\n" not in line, line
    assert not (tmp_path / "checkpoints").exists()  # stopped before any work


def call_cli(args, capsys, monkeypatch, tmp_path):
    """cli(args) in-process, in tmp_path: (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["model=foo"], "error: model=foo is not known; choose one of cgan, cvae, gan, vae"),
        (["trainer.foo=1"], "error: trainer.foo=1: trainer has no key foo; known keys: epochs"),
        (["optimizer.lr=0"], "error: optimizer.lr=0 is not allowed; it must be a number > 0"),
        (["experiment=nope"], "error: experiment=nope is not known; choose one of "),
        (["resume=nowhere"], "error: resume=nowhere: no such directory; give a run directory"),
        (["resume=."], "error: resume=.: no checkpoints/last.pt in it; give the directory"),
    ],
)
def test_cli_prints_one_line_and_exits_2(capsys, monkeypatch, tmp_path, args, expected):
    assert "HYDRA_FULL_ERROR" not in os.environ
    status, out, err = call_cli([*TINY_CLI, *args], capsys, monkeypatch, tmp_path)
    assert status == 2
    assert err.strip().splitlines() == [err.strip()] and err.startswith(expected), err
    assert "HYDRA_FULL_ERROR" not in os.environ  # cli() restores what it changed


def test_resume_refuses_a_changed_experiment_and_a_broken_checkpoint(capsys, monkeypatch, tmp_path):
    run = tmp_path / "outputs" / "runs" / "r1"
    save_checkpoint(
        run / "checkpoints" / "last.pt",
        {"config": {"model": {"name": "gan", "latent_dim": 64}}, "step": 3},
    )
    status, _, err = call_cli(
        ["resume=outputs/runs/r1", "model=vae"], capsys, monkeypatch, tmp_path
    )
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(
        "error: model=vae would change the run saved in outputs/runs/r1 (model.name: gan there, "
        "vae now); on resume only trainer.epochs,"
    )
    (run / "checkpoints" / "last.pt").write_bytes(b"PK\x03\x04 cut short")
    status, _, err = call_cli(["resume=outputs/runs/r1"], capsys, monkeypatch, tmp_path)
    assert status == 2 and err.count("\n") == 1
    assert "last.pt is not a readable genlab checkpoint (truncated or empty" in err
    assert not (run / ".hydra").exists()  # a resume leaves the run's own record alone


def test_missing_data_files_name_the_files_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("GENLAB_DATA_MIRROR", raising=False)
    monkeypatch.setattr(
        "torchvision.datasets.FashionMNIST.download",
        lambda self: (_ for _ in ()).throw(RuntimeError("no network")),
    )
    with pytest.raises(DataError) as e:
        load_images("fashion_mnist", "train", str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("FashionMNIST files not found: put train-images-idx3-ubyte.gz")
    assert str(tmp_path / "FashionMNIST" / "raw") in msg and "GENLAB_DATA_MIRROR" in msg


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_corrupt_data_file_is_named(tmp_path, damage):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    headers = {  # IDX: magic (0, 0, 8 = uint8, ndim), then the sizes; 5 items each
        "train-images-idx3-ubyte": (3, [5, 28, 28]),
        "train-labels-idx1-ubyte": (1, [5]),
        "t10k-images-idx3-ubyte": (3, [5, 28, 28]),
        "t10k-labels-idx1-ubyte": (1, [5]),
    }
    for name, (ndim, dims) in headers.items():
        head = bytes([0, 0, 8, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)
        (raw / name).write_bytes(head + bytes(int(torch.tensor(dims).prod())))
    bad = raw / "train-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-2] if damage == "truncated" else b"<html>oops</html>")
    with pytest.raises(DataError) as e:
        load_images("mnist", "train", str(tmp_path))
    msg = str(e.value)
    why = "(11 bytes, 13 expected)" if damage == "truncated" else "(no IDX header)"
    assert msg == f"MNIST data is corrupt: {bad} {why}; delete it to fetch it again"


# --- as a user types it ------------------------------------------------------------------------
@pytest.mark.slow
def test_command_line_error_is_one_line(run_cli):
    result = run_cli(*TINY_CLI, "model=foo")
    assert result.returncode == 2
    assert result.stderr == "error: model=foo is not known; choose one of cgan, cvae, gan, vae\n"


def test_hydra_full_error_gives_the_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="data.batch_size=0 is not allowed"):
        cli([*TINY_CLI, "data.batch_size=0"])
    with pytest.raises(MissingConfigException):  # Hydra's own error, as Hydra raises it
        cli([*TINY_CLI, "model=foo"])
    assert os.environ["HYDRA_FULL_ERROR"] == "1"
