"""The benchmark times genlab and the tutorial recipe side by side and writes a markdown table."""

import pytest
import torch
from conftest import exit_status

from genlab.bench import ablations, cli, main
from genlab.benchmark import quality, results_page, runners
from genlab.benchmark.measure import PeakMemory, StepClock
from genlab.config.build import to_dict
from genlab.errors import ConfigError


@pytest.fixture
def cpu(monkeypatch):
    """cpu(instructions): the CPU device=cpu resolves its fast paths for (config/devices.py)."""
    from genlab.config import devices

    def fake(**instructions: bool) -> None:
        monkeypatch.setattr(devices, "cpu_capabilities", lambda: instructions)

    return fake


def test_bench_compares_both_sides_and_writes_the_table(tmp_path, cpu):
    cpu()  # a CPU without bf16 or AVX-512: float32, as the label below says
    out = tmp_path / "speed.md"
    args = ["--models", "gan-mlp,vae-cnn", "--data", "synthetic", "--device", "cpu"]
    args += ["--steps", "2", "--warmup", "1", "--repeats", "1", "--out", str(out)]
    rows = main([*args, "--set", "++arch.hidden=32", "++arch.channels=8", "data.size=64"])
    assert [r["model"] for r in rows] == ["gan-mlp (seanie12)", "vae-cnn"]
    assert rows[0]["batch"] == 64  # the seanie12 batch of 200, capped by the 64 images
    for r in rows:
        assert r["genlab img/s"] > 0 and r["tutorial img/s"] > 0
        assert r["genlab / tutorial"] == r["genlab img/s"] / r["tutorial img/s"]
    table = out.read_text()
    assert "| gan-mlp (seanie12) | 64 | 32, fused (default) |" in table
    assert table.startswith("cpu: ") and "| genlab / tutorial |" in table


def test_ablation_flips_each_fast_path_once(compose_cfg, cpu):
    cpu()  # float32, NCHW
    cnn = ablations(to_dict(compose_cfg("arch=cnn", "device=cpu")))
    assert cnn == [
        ["device.precision=bf16"],
        ["device.compile=true"],
        ["device.channels_last=true"],
        ["device.optimizer_impl=plain"],
        ["device.optimizer_impl=foreach"],
    ]
    mlp = ablations(to_dict(compose_cfg("arch=mlp", "device=cpu")))
    assert ["device.channels_last=true"] not in mlp and len(mlp) == 4
    cpu(avx512_f=True, amx_bf16=True)  # bf16 and channels_last by default: each flipped off
    cnn = ablations(to_dict(compose_cfg("arch=cnn", "device=cpu")))
    assert cnn[:3] == [
        ["device.precision=32"],
        ["device.compile=true"],
        ["device.channels_last=false"],
    ]


def test_step_clock_times_the_steps_between_start_and_stop():
    clock = StepClock(torch.device("cpu"), start=1, stop=3)
    assert [clock.tick(s) for s in range(4)] == [False, False, False, True]
    assert clock.seconds >= 0


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(torch.device("cpu")) as mem:
        x = torch.ones(64, 2**18)  # 64 MiB of float32, written, so resident
        del x
    assert mem.mib > 48


# --- time to quality (python -m genlab.bench quality) --------------------------------------


def test_time_to_quality_is_the_first_evaluation_that_meets_every_target():
    targets = quality.TARGETS["mnist"]["gan-mlp"]  # fid <= 5, recall >= 0.5, min share >= 6%
    curve = [
        (10.0, {"fid": 9.0, "recall": 0.6, "min_class_share": 0.07}),
        (20.0, {"fid": 4.0, "recall": 0.4, "min_class_share": 0.07}),
        (30.0, {"fid": 4.5, "recall": 0.55, "min_class_share": 0.061}),
        (40.0, {"fid": 3.0, "recall": 0.6, "min_class_share": 0.08}),
    ]
    assert quality.first_reached(curve, targets) == 30.0
    assert quality.first_reached(curve[:3], {**targets, "class_accuracy": (">=", 0.9)}) is None
    assert quality.first_reached(curve, {}) is None  # no target: nothing to reach


def test_each_data_set_holds_each_pair_to_its_own_targets():
    """FashionMNIST's cGAN needs 90% class accuracy (MNIST's 98.5%); the cVAE joins MNIST's
    table with its class accuracy and nats, and is measured without a target on FashionMNIST."""
    run = [(100.0, {"class_accuracy": 0.95, "fid": 3.5, "recall": 0.6})]
    cgan = quality.Outcome("cgan-cnn", "cgan-cnn", "finished", run, 150.0)
    assert "| 100 s ✓ |" in quality.markdown([cgan], "fashion_mnist", "h")
    assert "| not reached |" in quality.markdown([cgan], "mnist", "h")
    cvae = [
        (90.0, {"class_accuracy": 0.98, "neg_elbo": 93.0}),
        (180.0, {"class_accuracy": 0.98, "neg_elbo": 91.5}),
    ]
    mlp = quality.Outcome("cvae-mlp", "cvae-mlp", "finished", cvae, 200.0)
    cnn = quality.Outcome("cvae-cnn", "cvae-cnn", "finished", cvae, 200.0)
    table = quality.markdown([mlp, cnn], "mnist", "h")
    assert "| cvae-mlp | class_accuracy >= 97.00%, neg_elbo <= 95 | 90 s ✓ |" in table
    assert "| cvae-cnn | class_accuracy >= 97.00%, neg_elbo <= 92 | 180 s ✓ |" in table
    assert "| cvae-mlp | none | - |" in quality.markdown([mlp], "fashion_mnist", "h")
    vae = quality.TARGETS["fashion_mnist"]["vae-cnn"]
    assert vae["neg_elbo"] == ("<=", 236.0) and vae["fid"] == ("<=", 10.0)


def test_a_run_that_meets_its_targets_after_its_budget_is_counted_as_missing_it():
    """The budgets: 120 s of training for an MLP, 240 s for a CNN (issue 30 halved them)."""
    late = [(130.0, {"fid": 3.0, "recall": 0.6, "min_class_share": 0.08})]
    mlp = quality.Outcome("gan-mlp", "gan-mlp", "finished", late, 150.0)
    cnn = quality.Outcome("gan-cnn", "gan-cnn", "finished", late, 150.0)
    table = quality.markdown([mlp, cnn], "mnist", "h")
    assert "| gan-mlp | fid <= 5, recall >= 0.5, min_class_share >= 6.00% | 130 s ✗ |" in table
    assert "| gan-cnn | fid <= 5, recall >= 0.5, min_class_share >= 6.00% | 130 s ✓ |" in table
    assert table.endswith("\n1 of 2 runs met every target within their budget.\n")


def test_quality_bench_runs_each_pair_once_per_seed(monkeypatch, tmp_path):
    launched = []

    def record(jobs, args, out):
        launched.extend(jobs)
        raise KeyboardInterrupt  # stop before anything trains

    monkeypatch.setattr(quality, "launch", record)
    args = ["--pairs", "gan-mlp,vae-mlp", "--data", "synthetic", "--seeds", "0,2"]
    with pytest.raises(KeyboardInterrupt):
        quality.main([*args, "--also", "model=gan loss=hinge", "--also", "model=vae seed=7",
                      "--out", str(tmp_path)])  # fmt: skip
    names = [name for name, _, _ in launched]
    assert names == ["gan-mlp seed=0", "gan-mlp seed=2", "vae-mlp seed=0", "vae-mlp seed=2",
                     "model=gan loss=hinge seed=0", "model=gan loss=hinge seed=2",
                     "model=vae seed=7"]  # fmt: skip
    for name, _, overrides in launched:  # the last seed= is the one Hydra keeps
        assert [o for o in overrides if o.startswith("seed=")][-1] == f"seed={name[-1]}"


def test_quality_bench_trains_each_pair_and_reports_its_curve(tmp_path):
    shrink = ["device=cpu", "data.size=64", "data.batch_size=16", "trainer.epochs=2"]
    shrink += ["++arch.hidden=16", "eval.n_samples=64", "eval.iw_samples=4"]
    args = ["--pairs", "gan-mlp,vae-mlp", "--data", "synthetic", "--evals", "2"]
    also = ["--also", "model=gan arch=mlp loss=hinge"]  # one more run, held to gan-mlp's targets
    outcomes = quality.main([*args, *also, "--out", str(tmp_path), "--set", *shrink])
    assert [(o.name, o.pair, o.status) for o in outcomes] == [
        ("gan-mlp", "gan-mlp", "finished"),
        ("vae-mlp", "vae-mlp", "finished"),
        ("model=gan arch=mlp loss=hinge", "gan-mlp", "finished"),
    ]
    for o in outcomes:
        seconds = [t for t, _ in o.curve]
        assert len(seconds) == 2 and 0 < seconds[0] < seconds[1] < o.wall_s  # one per epoch
    assert "fid" in outcomes[0].curve[-1][1] and "neg_elbo" in outcomes[1].curve[-1][1]
    assert outcomes[2].curve[-1][1] != outcomes[0].curve[-1][1]  # the hinge run is its own
    table = (tmp_path / "quality.md").read_text()
    assert table.startswith("data=synthetic; 2 trainings side by side, 1 torch thread(s)")
    assert "| gan-mlp | none | - |" in table  # synthetic data has no targets
    assert "| model=gan arch=mlp loss=hinge | none | - |" in table
    assert (tmp_path / "quality.png").stat().st_size > 0


def test_the_quality_table_goes_into_the_results_page_between_its_markers(tmp_path):
    page = tmp_path / "results.md"
    page.write_text(
        "# Results\n<!-- bench quality mnist -->\nold\n<!-- /bench quality mnist -->\nend\n"
    )
    results_page.update_docs(page, "bench quality mnist", "| new | table |\n")
    assert page.read_text() == (
        "# Results\n<!-- bench quality mnist -->\n\n| new | table |\n\n"
        "<!-- /bench quality mnist -->\nend\n"
    )
    with pytest.raises(ConfigError, match="has no <!-- bench quality celeba -->"):
        results_page.update_docs(page, "bench quality celeba", "| x |\n")


# --- bad input: one line on stderr, `error: ...`, exit status 2, before anything trains -------
SPEED = ["--models", "gan-mlp", "--device", "cpu", "--data", "synthetic"]
CHOICES = "choose from vae-mlp, vae-cnn, gan-mlp, gan-cnn, cgan-mlp, cgan-cnn"
BAD_BENCH = [
    (["--steps", "0"], "--steps=0 is not allowed; it must be an integer > 0"),
    (["--steps", "-1"], "--steps=-1 is not allowed; it must be an integer > 0"),
    (["--repeats", "0"], "--repeats=0 is not allowed; it must be an integer > 0"),
    (["--repeats", "-2"], "--repeats=-2 is not allowed; it must be an integer > 0"),
    (["--warmup", "-1"], "--warmup=-1 is not allowed; it must be an integer >= 0"),
    (["--steps", "abc"], "argument --steps: invalid int value: 'abc'"),
    (["--device", "tpu"], "argument --device: invalid choice: 'tpu' (choose from 'auto', 'cpu'"),
    (["--set", "foo=1"], "foo=1: the config has no key foo; known keys: data, optimizer"),
    (["--set", "optimizer.lr=0"], "optimizer.lr=0 is not allowed; it must be a number > 0"),
    (["--data", "cifar"], "data=cifar is not known; choose one of celeba, fashion_mnist"),
    (["--data", "celeba"], "CelebA files not found: put img_align_celeba, list_eval_partition"),
    (["--data", "fashion_mnist"], "FashionMNIST files not found: put train-images-idx3-ubyte.gz"),
    (["--models", "gan-rnn"], f"--models gan-rnn is not known; {CHOICES}"),
    (["--models", ","], f"--models ',' is not known; {CHOICES}"),
]


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """Any training fails the test; the working directory is tmp_path; no data downloads."""

    def trains(*args, **kwargs):
        raise AssertionError("trained before refusing")

    for name in ("run_genlab", "run_tutorial"):
        monkeypatch.setattr(runners, name, trains)
    monkeypatch.setattr(quality, "launch", trains)
    monkeypatch.setattr("torchvision.datasets.FashionMNIST.download", trains)
    monkeypatch.delenv("GENLAB_DATA_MIRROR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(args, capsys) -> str:
    """cli(args)'s one line on stderr, after checking it exits 2 and prints nothing else."""
    assert exit_status(cli, args) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and out.err.startswith("error: "), out.err
    return out.err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize("args, message", BAD_BENCH, ids=[" ".join(a) for a, _ in BAD_BENCH])
def test_bench_refuses_bad_input_in_one_line(no_training, capsys, args, message):
    assert refused([*SPEED, *args], capsys).startswith(message)


def test_bench_refuses_a_folder_as_out_before_training(no_training, capsys):
    assert refused([*SPEED, "--out", str(no_training)], capsys) == (
        f"--out {no_training} is a folder; give a file, e.g. {no_training / 'speed.md'}"
    )


BAD_QUALITY = [
    (["--jobs", "0"], "--jobs=0 is not allowed; it must be an integer > 0"),
    (["--evals", "-1"], "--evals=-1 is not allowed; it must be an integer > 0"),
    (["--threads", "x"], "argument --threads: invalid int value: 'x'"),
    (["--pairs", "gan-rnn"], "--pairs gan-rnn is not known; choose from vae-mlp, vae-cnn, cvae"),
    (["--set", "foo=1"], "foo=1: the config has no key foo; known keys: data, optimizer"),
    (["--set", "optimizer.lr=0"], "optimizer.lr=0 is not allowed; it must be a number > 0"),
    (["--also", "model.nope=1"], "model.nope=1: model has no key nope; known keys: name"),
    (["--seeds", "0,x"], "--seeds '0,x' is not allowed; give distinct seeds, e.g. 0,1,2"),
    (["--seeds", ","], "--seeds ',' is not allowed; give distinct seeds, e.g. 0,1,2"),
    (["--seeds", "1,01"], "--seeds '1,01' is not allowed; give distinct seeds, e.g. 0,1,2"),
    (["--data", "celeba"], "CelebA files not found: put img_align_celeba, list_eval_partition"),
    (["--data", "fashion_mnist"], "FashionMNIST files not found: put train-images-idx3-ubyte.gz"),
]


@pytest.mark.parametrize("args, message", BAD_QUALITY, ids=[" ".join(a) for a, _ in BAD_QUALITY])
def test_bench_quality_refuses_bad_input_in_one_line(no_training, capsys, args, message):
    pairs = ["--pairs", "gan-mlp", "--data", "synthetic"]
    assert refused(["quality", *pairs, *args], capsys).startswith(message)
    assert not (no_training / "outputs").exists()  # refused before its folder is made


def test_bench_quality_checks_the_docs_page_before_training(no_training, capsys):
    page = no_training / "results.md"
    page.write_text("# Results\n")
    args = ["quality", "--pairs", "gan-mlp", "--data", "synthetic", "--docs", str(page)]
    assert refused(args, capsys) == (
        f"--docs {page} has no <!-- bench quality synthetic --> ... "
        "<!-- /bench quality synthetic --> block to replace"
    )
    page.write_text("<!-- bench quality synthetic -->\n<!-- /bench quality synthetic -->\n")
    assert refused([*args, "--block", "synthetic fp32"], capsys) == (  # its own block, not the data's
        f"--docs {page} has no <!-- bench quality synthetic fp32 --> ... "
        "<!-- /bench quality synthetic fp32 --> block to replace"
    )
    args[-1] = str(no_training / "missing.md")
    assert refused(args, capsys) == f"cannot use {args[-1]}: No such file or directory"
