"""What genlab reads back and what it records: every file it reads fails in one line when it is
empty, truncated, stray or foreign; statuses tell the truth; numbers carry what measured them,
against a reference set that covers every class, in a network tied to its images."""

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import torch
from PIL import Image

import genlab
from genlab import evaluate, report
from genlab.config.build import to_dict
from genlab.config.evaluation import make_network
from genlab.data import ImageSet
from genlab.errors import GenlabError
from genlab.logging.metrics_json import read_metrics
from genlab.logging.scalars import read_scalars
from genlab.metrics import feature_networks
from genlab.metrics.evaluator import Evaluator
from genlab.metrics.feature_networks import load_network
from genlab.reporting.jobs import load_job
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from genlab.train import cli
from tests.conftest import T, exit_status


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One finished cGAN run to read back (and to copy before breaking its files)."""
    where = tmp_path_factory.mktemp("records")
    cli([*T, "model=cgan", "trainer.max_steps=4", f"hydra.run.dir={where / 'run'}"])
    return where / "run"


READERS = {  # file of a run -> what reads it back
    "checkpoints/last.pt": lambda d: load_checkpoint(d / "checkpoints" / "last.pt"),
    "status.json": read_status,
    "metrics.json": read_metrics,
    ".hydra/overrides.yaml": lambda d: _raise_unreadable(load_job(d)),
}
CORRUPTIONS = {
    "empty": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "stray": lambda b: os.urandom(64),
    "foreign": lambda b: b"a: [mapping" if b.startswith(b"- ") else b'["not", "a record"]',
}


def _raise_unreadable(job):
    if job.status == "unreadable":
        raise GenlabError(job.error)


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
@pytest.mark.parametrize("name", READERS)
def test_every_file_read_back_fails_in_one_line(run, tmp_path, name, corrupt):
    if (name, corrupt) == (".hydra/overrides.yaml", "truncated"):
        pytest.skip("half a YAML list of overrides is a shorter list: read as it is")
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / name
    path.write_bytes(CORRUPTIONS[corrupt](path.read_bytes()))
    with pytest.raises(GenlabError) as e:
        READERS[name](copy)
    assert "\n" not in str(e.value) and name.split("/")[-1] in str(e.value)


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_a_broken_classifier_or_event_file_is_one_line_or_nothing(run, tmp_path, corrupt):
    path = tmp_path / "classifier.pt"
    path.write_bytes(CORRUPTIONS[corrupt](b"PK\x03\x04" + b"x" * 200))
    with pytest.raises(GenlabError) as e:
        load_network(path, "cpu")
    assert "\n" not in str(e.value) and "delete it" in str(e.value)
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (events,) = copy.glob("events.out.tfevents.*")
    events.write_bytes(CORRUPTIONS[corrupt](events.read_bytes()))
    assert isinstance(read_scalars(copy), dict)  # what can be read, no traceback


def test_a_sweep_report_lists_a_job_it_cannot_read_with_the_reason(run, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for job in ("a=1", "a=2"):
        shutil.copytree(run, sweep / job)
        (sweep / job / ".hydra" / "overrides.yaml").write_text(f"- {job}\n")
    (sweep / "a=2" / "metrics.json").write_text("")
    assert report.main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "| 2 | unreadable |" in out and "metrics.json is empty" in out


def test_an_interrupted_run_says_so_with_its_wall_time(tmp_path, monkeypatch, signal_after_logging):
    monkeypatch.chdir(tmp_path)
    signal_after_logging(2, signal.SIGINT)
    assert exit_status(cli, [*T, "model=vae", "trainer.log_every=1", "hydra.run.dir=r"]) == 130
    status = read_status(tmp_path / "r")
    assert status["status"] == "interrupted" and status["wall_time_s"] > 0
    assert "SIGINT at step 2" in status["error"]


@pytest.mark.parametrize("change", ["recipe=mnist/gan_cnn", "~recipe", "experiment=lsgan"])
def test_resume_refuses_a_recipe_or_preset_it_cannot_apply(run, tmp_path, capsys, change):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    assert exit_status(cli, [f"resume={copy}", change]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{change}: a resume keeps the" in err


def test_unknown_keys_are_refused_and_never_suggested(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_status(cli, [*T, "+epochs=1"]) == 2
    assert "epochs: genlab has no setting epochs" in capsys.readouterr().err
    assert exit_status(cli, [*T, "trainer.epoch=1"]) == 2
    err = capsys.readouterr().err
    assert "trainer has no key epoch" in err and "+" not in err.split("known keys")[1]
    with pytest.raises(GenlabError, match="trainer.foo: trainer has no setting foo"):
        genlab.train(*T, "+trainer.foo=1")


def test_metrics_json_and_evaluate_say_what_measured_them(run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    record = json.loads((copy / "metrics.json").read_text())
    measured = dict(record["measured"])
    assert measured["network"].startswith("synthetic-") and measured["floor_fid"] >= 0
    assert measured["reference"].startswith("40 of ") and "seed 0" in measured["reference"]
    record["measured"]["network"] = "synthetic-000000000000"  # measured by another network
    (copy / "metrics.json").write_text(json.dumps(record))
    assert exit_status(evaluate.main, [f"run={copy}", "n_samples=40"]) == 2
    assert "was measured by synthetic-000000000000" in capsys.readouterr().err
    evaluate.main([f"run={copy}", "n_samples=40", "write=false"])  # prints, keeps the file
    assert json.loads((copy / "metrics.json").read_text()) == record
    evaluate.main([f"run={copy}", "n_samples=40", "force=true"])
    assert json.loads((copy / "metrics.json").read_text())["measured"] == measured


def test_the_api_evaluate_refuses_a_misspelt_setting(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    before = (copy / "metrics.json").read_bytes()
    with pytest.raises(GenlabError, match="n_sample is not a setting of evaluate; they are n_"):
        genlab.load(copy).evaluate(n_sample=20)
    assert (copy / "metrics.json").read_bytes() == before


def test_the_reference_set_covers_every_class_of_a_sorted_test_split():
    labels = torch.arange(4).repeat_interleave(50)  # an image folder: listed class by class
    images = labels.to(torch.uint8).view(-1, 1, 1, 1).expand(200, 1, 8, 8).contiguous()
    settings = dict(iw_samples=1, fid_backbone="classifier", pr_k=3, batch_size=50)
    e = Evaluator(
        None, ImageSet(images, labels, 4), "cpu", n_samples=40, kid_subset_size=10, seed=0,
        **settings,
    )  # fmt: skip
    assert set(e.real[:, 0, 0, 0].tolist()) == {0, 1, 2, 3}  # not the first class only
    assert e.measured["reference"] == "40 of 200 test images (seed 0)"


def _class_folder(root: Path, shade: int) -> None:
    for k in range(2):
        (root / f"class{k}").mkdir(parents=True, exist_ok=True)
        for i in range(16):
            pixels = torch.full((8, 8), shade if k else 255 - shade, dtype=torch.uint8)
            pixels[i % 8] = (i * 16) % 256
            Image.fromarray(pixels.numpy()).convert("RGB").save(root / f"class{k}" / f"{i}.png")


def test_a_classifier_trained_on_other_images_is_trained_anew(compose_cfg, tmp_path, capsys):
    _class_folder(tmp_path / "pics", 40)
    folder = ["data=image_folder", f"data.path={tmp_path / 'pics'}", "data.image_size=8"]
    c = to_dict(compose_cfg(*folder, f"data.root={tmp_path}", tiny=False))
    first = make_network(c, "cpu")
    _class_folder(tmp_path / "pics", 90)  # the same path, shape and classes; other images
    from genlab.config import data as data_cache

    data_cache._load_once.cache_clear()
    second = make_network(c, "cpu")
    assert second.id != first.id and second.data_fingerprint != first.data_fingerprint
    assert "was trained on other images" in capsys.readouterr().out


def test_a_shipped_network_that_is_not_the_one_shipped_stops_in_one_line(tmp_path, monkeypatch):
    shipped = feature_networks.SHIPPED_DIR / "mnist.pt"
    broken = tmp_path / "mnist.pt"
    broken.write_bytes(shipped.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(feature_networks, "SHIPPED_DIR", tmp_path)
    (tmp_path / "ids.json").write_text((shipped.parent / "ids.json").read_text())
    with pytest.raises(GenlabError, match="not the one shipped .* reinstall genlab") as e:
        feature_networks.get_network("mnist", None, None, "cpu", tmp_path)
    assert "\n" not in str(e.value)


@pytest.mark.skipif(
    not os.environ.get("GENLAB_DATA_MIRROR"), reason="needs MNIST: GENLAB_DATA_MIRROR (.ci/run)"
)
def test_a_fresh_data_root_measures_mnist_in_the_shipped_network_and_trains_none(tmp_path):
    """The first MNIST run on a new machine: its FID is in genlab's shipped network, named in
    metrics.json, and no classifier is trained (nothing is written under classifiers/)."""
    root = tmp_path / "data"
    run = genlab.train("model=gan", f"data.root={root}", "device=cpu", "trainer.max_steps=2",
                       "trainer.progress=false", "eval.n_samples=200",
                       run_dir=tmp_path / "run")  # fmt: skip
    ids = json.loads((feature_networks.SHIPPED_DIR / "ids.json").read_text())
    measured = json.loads((run.dir / "metrics.json").read_text())
    assert measured["measured"]["network"] == ids["mnist"] and "fid" in measured["metrics"]
    assert not list(root.glob("classifiers/*")), "a classifier was trained"
