"""What a newcomer meets: help printed without the training stack, one line for every bad value
of the API as of the command line, hints that work from a wheel, a progress bar that says what
it counts, the numbers a run ends with."""

import json
import subprocess
import sys

import pytest

import genlab
from genlab import classifier, report, sample
from genlab.api import compose_config
from genlab.cli.one_line import one_line
from genlab.config import devices
from genlab.config.build import load_run, make_trainer
from genlab.errors import ConfigError, GenlabError
from genlab.runs.checkpoint import load_checkpoint, save_checkpoint
from genlab.train import cli
from tests.conftest import REPO, T, exit_status


def python(code: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def cgan(tmp_path_factory):
    where = tmp_path_factory.mktemp("cgan")
    cli([*T, "model=cgan", "trainer.max_steps=2", "eval.at_end=false", f"hydra.run.dir={where}"])
    return where


COMMANDS = ["train", "sample", "evaluate", "report", "classifier", "bench"]


@pytest.mark.parametrize("command", [["--help"], *([c, "--help"] for c in COMMANDS)])
def test_help_prints_without_importing_torch(command):
    done = python(
        "import sys\nfrom genlab.__main__ import main\n"
        f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    assert done.stdout.strip().endswith("False"), done.stderr[-1000:]


def test_help_shows_the_command_and_its_defaults_as_typed():
    done = python("import runpy, sys\nsys.argv = ['x', '--help']\n"
                  "runpy.run_module('genlab.sample', run_name='__main__')")  # fmt: skip
    assert done.stdout.startswith("usage: genlab sample key=value")
    assert "seeds the latent draws (default 0)" in done.stdout  # not "false"


def test_ctrl_c_before_a_command_starts_is_one_line():
    done = python("import sys\nsys.argv = ['-m']\nimport genlab\nraise KeyboardInterrupt")
    assert done.returncode == 130 and done.stderr.strip().count("\n") == 0
    assert "interrupted by SIGINT before it started" in done.stderr


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    done = python("from genlab.__main__ import main\nmain(['--version'])")
    assert done.returncode == 0 and done.stdout == f"genlab {version('genlab')}\n"


WITHOUT_EXTRAS = (  # a plain install: no launcher, search or tracking plugin
    "import sys\nfor m in ('hydra_plugins.hydra_submitit_launcher', "
    "'hydra_plugins.hydra_joblib_launcher', 'hydra_plugins.hydra_ray_launcher', 'optuna', "
    "'mlflow', 'submitit', 'joblib', 'torch_fidelity', 'torchmetrics'):\n"
    "    sys.modules[m] = None\n"
    "from genlab.__main__ import main\nmain(sys.argv[1:])\n"
)


def test_without_extras_a_run_and_a_sweep_train_quietly(tmp_path):
    args = [*T, "trainer.max_steps=2", "eval.at_end=false"]
    for extra in ([f"hydra.run.dir={tmp_path / 'run'}"], ["-m", f"hydra.sweep.dir={tmp_path}/sw"]):
        done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, "train", *extra, *args],
                              capture_output=True, text=True, cwd=tmp_path,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        said = (done.stdout + done.stderr).lower()
        assert "warning" not in said and "traceback" not in said, said[-2000:]


@pytest.mark.parametrize(
    "ask, extra",
    [
        (["-m", "hydra/launcher=local"], "genlab[sweeps]"),
        (["-m", "hydra/launcher=slurm"], "genlab[sweeps]"),
        (
            ["-m", "hydra/sweeper=genlab_optuna", "objective=fid", "optimizer.lr=0.1,0.2"],
            "genlab[sweeps]",
        ),
        (["-m", "hydra/sweeper=optuna_gan", "model=gan", "objective=fid"], "genlab[sweeps]"),
        (["tracking=mlflow"], "genlab[mlflow]"),
        (["-m", "tracking=mlflow", "seed=0,1"], "genlab[mlflow]"),
        (["eval.fid_backbone=inception"], "genlab[inception]"),
    ],
)
def test_without_extras_asking_for_a_plugin_is_one_line_naming_its_extra(tmp_path, ask, extra):
    done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, "train", *T, *ask],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert f"pip install '{extra}'" in done.stderr
    typed = next(a for a in ask if a.startswith(("hydra/", "tracking=", "eval.")))
    assert done.stderr.startswith(f"error: {typed} needs")  # the choice as typed
    assert not (tmp_path / "outputs").exists()  # refused before Hydra made a folder


def test_the_slurm_launcher_imports_without_its_plugin():
    """Hydra's plugin scan imports it on every run: without the sweeps extra, no warning."""
    done = python(
        "import sys\nsys.modules['hydra_plugins.hydra_submitit_launcher'] = None\n"
        "import hydra_plugins.genlab_launchers.slurm_launcher as s\nprint(s.SlurmLauncher)"
    )
    assert done.returncode == 0 and "SlurmLauncher" in done.stdout, done.stderr


def test_a_missing_plugin_names_the_extra_and_no_message_needs_a_clone():
    from hydra.errors import ConfigCompositionException

    e = ConfigCompositionException("Could not load 'hydra/launcher/joblib'.")
    assert "pip install 'genlab[sweeps]'" in one_line(e, [])
    for path in (REPO / "genlab").rglob("*.py"):
        assert "pip install -e" not in path.read_text(), path


@pytest.mark.parametrize(
    "n, labels, message",
    [
        (0, None, "n=0 is not allowed"),
        (-1, None, "n=-1 is not allowed"),
        (4, "7", "labels='7' is not allowed; class ids are integers"),
        (10**9, None, "would need"),
    ],
)
def test_the_api_checks_a_sample_as_the_command_line_does(cgan, n, labels, message):
    with pytest.raises(ConfigError, match=message) as e:
        genlab.load(cgan).sample(n, labels=labels)
    assert "\n" not in str(e.value)


def test_seeds_in_range_never_overflow_and_the_rest_are_one_line(cgan, capsys, tmp_path):
    genlab.train(*T, "model=vae", "seed=1000000000000000", "trainer.max_steps=2",
                 "eval.at_end=false", run_dir=tmp_path / "big")  # fmt: skip
    assert exit_status(sample.main, [f"run={cgan}", "n=4", "seed=10000000000000000000000"]) == 2
    assert "seed=" in capsys.readouterr().err


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ConfigError, match="is not a genlab run"):
        genlab.load(tmp_path)


def test_a_working_directory_that_cannot_take_runs_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").write_text("a file where the runs would go")
    with pytest.raises(GenlabError, match="cannot use") as e:
        genlab.train(*T, "trainer.max_steps=1")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "shape, arch, words",
    [
        ("[1,12,10]", "cnn", "arch=cnn cannot take data=synthetic: images of 12x10"),
        ("[1,4,4]", "mlp", "the metrics. classifier needs at least 8x8"),
    ],
)
def test_images_the_networks_cannot_take_are_one_line(compose_cfg, tmp_path, shape, arch, words):
    cfg = compose_cfg(f"arch={arch}", f"data.image_shape={shape}")
    with pytest.raises(ConfigError, match=words):
        make_trainer(cfg, tmp_path)


def test_the_classifier_command_takes_the_data_group_as_train_does(tmp_path, capsys):
    assert exit_status(classifier.main, ["data=synthetic", f"root={tmp_path}"]) == 2
    assert "root= is now data.root=" in capsys.readouterr().err
    net = classifier.main(["data=synthetic", f"data.root={tmp_path}"])
    assert net.path.parent == tmp_path / "classifiers" and net.id.startswith("synthetic-")


def test_the_bar_counts_the_epochs_the_run_trains_and_the_run_ends_with_its_numbers(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    cfg = compose_config([*T, "trainer.epochs=14", "trainer.max_steps=3"])
    trainer = make_trainer(cfg, tmp_path / "bar")
    assert trainer._epoch_label() == "epoch 1/1"  # 3 steps of 4 per epoch: one epoch, not 14
    cli([*T, "model=gan", "trainer.max_steps=4", "hydra.run.dir=ends"])
    out = capsys.readouterr().out
    assert "fid " in out and "recall " in out and "(measured in synthetic-" in out


def test_a_run_trained_compiled_on_a_gpu_samples_uncompiled_on_a_cpu(cgan, tmp_path):
    state = load_checkpoint(cgan / "checkpoints" / "last.pt")
    state["config"]["device"] = {"name": "cuda", "precision": "bf16", "compile": True,
                                 "channels_last": True, "optimizer_impl": "fused"}  # fmt: skip
    save_checkpoint(tmp_path / "checkpoints" / "last.pt", state)
    c, step, _ = load_run(tmp_path, "cpu")
    assert c["device"]["name"] == "cpu" and not c["device"]["compile"]
    assert all(m._compiled_call_impl is None for m in step.networks.values())
    cpu = devices.cpu_fast_paths(devices.cpu_capabilities())  # the CPU's own paths, not the GPU's
    assert step.precision.name == str(cpu["precision"])


def test_a_resume_path_with_spaces_needs_no_quotes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli([*T, "model=vae", "trainer.max_steps=2", "eval.at_end=false", "hydra.run.dir=my runs/a b"])
    cli(["resume=my runs/a b", "trainer.max_steps=4"])  # as a shell passes "resume=my runs/a b"
    assert "resuming my runs/a b at step 2" in capsys.readouterr().out


def test_the_report_shows_the_quality_metrics_of_the_jobs_by_default(cgan, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for job in ("a=1", "a=2"):
        run = sweep / job
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- {job}\n")
        (run / "metrics.json").write_text(json.dumps({"step": 4, "metrics": {"fid": 3.0,
                                          "recall": 0.5, "kid_std": 1e-7}}))  # fmt: skip
    assert report.main([str(sweep)]) == 0
    header = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| a |"))
    assert header == "| a | status | wall_s | fid | recall |"


def test_a_report_that_cannot_be_written_is_one_line(cgan, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    (sweep / "a=1" / ".hydra").mkdir(parents=True)
    (sweep / "a=1" / ".hydra" / "overrides.yaml").write_text("- a=1\n")
    (tmp_path / "taken").write_text("a file where the report would go")
    assert report.cli([str(sweep), "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot use")


def test_train_help_lists_hydras_groups_and_resolves_every_default():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from genlab.cli.help import config_groups, train_help
    from genlab.config import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert config_groups() == hydra.format_config_groups(lambda g: g.split("/")[0] != "hydra")
    page = train_help(["model=gan", "arch=cnn"])
    assert "${" not in page and "\n  name: auto\n  precision: auto\n" in page
    assert "\nmodel:\n  name: gan\n" in page and "\narch:\n  name: cnn\n" in page


def test_train_help_of_a_bad_override_is_one_line(capsys):
    assert exit_status(cli, ["model=gn", "--help"]) == 2
    assert (
        capsys.readouterr().err
        == "error: model=gn is not known; choose one of cgan, cvae, gan, vae\n"
    )


def test_a_notebook_without_ipywidgets_trains_with_a_text_bar_and_no_warning():
    """Jupyter, faked: its shell's module present, ipywidgets absent (a plain install)."""
    done = python(
        "import sys, types, warnings\n"
        "sys.modules['ipywidgets'] = None\n"
        "sys.modules['ipykernel.zmqshell'] = types.ModuleType('ipykernel.zmqshell')\n"
        "class ZMQInteractiveShell:\n    pass\n"
        "ip = types.ModuleType('IPython'); ip.get_ipython = ZMQInteractiveShell\n"
        "sys.modules['IPython'] = ip\n"
        "with warnings.catch_warnings(record=True) as said:\n"
        "    warnings.simplefilter('always')\n"
        "    import genlab.trainers.trainer\n"
        "print([str(w.message) for w in said if 'ipywidgets' in str(w.message)])"
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
