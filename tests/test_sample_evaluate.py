"""`python -m genlab.sample` and `python -m genlab.evaluate` on a finished run."""

import json

import numpy as np
import pytest

from genlab import evaluate, sample
from genlab.config.build import make_trainer


@pytest.fixture
def finished_run(compose_cfg, tmp_path):
    def _run(model):
        run = tmp_path / model
        trainer = make_trainer(compose_cfg(f"model={model}", "arch.hidden=16"), run)
        trainer.fit()
        trainer.close()
        return run

    return _run


def test_sample_writes_documented_npz_and_pngs(finished_run, tmp_path):
    run = finished_run("cgan")
    out = sample.main([f"run={run}", "n=30", f"out={tmp_path / 's' / 'cgan.npz'}", "device=cpu"])
    with np.load(out) as f:
        assert set(f.files) == {"images", "labels"}
        assert f["images"].dtype == np.uint8 and f["images"].shape == (30, 28, 28)
        assert np.bincount(f["labels"]).tolist() == [3] * 10  # balanced
    assert out.with_suffix(".png").is_file() and (out.parent / "cgan_interpolation.png").is_file()
    one = sample.main([f"run={run}", "n=5", "label=3", f"out={tmp_path / 'three.npz'}"])
    with np.load(one) as f:
        assert f["labels"].tolist() == [3] * 5


def test_sample_of_an_unconditional_run_has_no_labels(finished_run):
    run = finished_run("vae")
    with np.load(sample.main([f"run={run}", "n=7"])) as f:  # default: <run>/samples.npz
        assert f.files == ["images"] and f["images"].shape == (7, 28, 28)


def test_evaluate_recomputes_the_run_metrics(finished_run):
    run = finished_run("gan")
    at_end = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()
    again = evaluate.main([f"run={run}", "device=cpu"])
    assert again == pytest.approx(at_end["metrics"])  # same samples, same seed: same numbers
    assert json.loads((run / "metrics.json").read_text())["step"] == at_end["step"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["n=5"], "missing mandatory value: run"),
        (["run=RUN", "colour=red"], "Key 'colour' not in 'Args'; arguments are run="),
        (["run=RUN", "label=10"], "label=10 is not a class; choose 0 to 9"),
        (["run=nowhere"], "no checkpoint at nowhere"),
    ],
)
def test_sample_bad_arguments_fail_in_one_line(finished_run, capsys, args, message):
    run = finished_run("cgan")
    with pytest.raises(SystemExit) as e:
        sample.main([a.replace("RUN", str(run)) for a in args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
def test_sample_and_evaluate_from_the_command_line(run_cli, tmp_path):
    tiny = ["data=synthetic", "data.size=64", "device=cpu", "trainer.epochs=1", "arch.hidden=16"]
    result = run_cli("model=cgan", *tiny, "eval.n_samples=40", "trainer.progress=false")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    result = run_cli(f"run={run}", "n=20", "out=s.npz", module="genlab.sample")
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].dtype == np.uint8 and f["images"].shape == (20, 28, 28)
        assert f["labels"].shape == (20,)
    result = run_cli(f"run={run}", "n_samples=40", module="genlab.evaluate")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    assert {"fid", "class_accuracy"} <= set(printed["metrics"])
    assert printed["measured"]["network"].startswith("synthetic-")  # the id of what measured it


def test_evaluate_with_other_settings_asks_for_force_and_keeps_the_measurement(
    finished_run, capsys
):
    """n_samples=8 would rewrite metrics.json measured on 64: a sweep's numbers would no longer
    compare. write=false prints them; force=true replaces them and records the new setting."""
    run = finished_run("gan")
    before = (run / "metrics.json").read_bytes()
    with pytest.raises(SystemExit) as e:
        evaluate.main([f"run={run}", "n_samples=8"])
    err = capsys.readouterr().err
    assert (
        e.value.code == 2 and err.count("\n") == 1 and "measured with n_samples=64 (now 8)" in err
    )
    assert (run / "metrics.json").read_bytes() == before
    evaluate.main([f"run={run}", "n_samples=8", "write=false"])
    assert (run / "metrics.json").read_bytes() == before
    evaluate.main([f"run={run}", "n_samples=8", "force=true"])
    assert json.loads((run / "metrics.json").read_text())["measured"]["settings"]["n_samples"] == 8
