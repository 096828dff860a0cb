"""A sweep's folder loses nothing: a sweep launched again into it keeps every finished job
byte-identical, resumes the interrupted ones and runs the missing ones; a second launcher is
refused while one runs there; a search never numbers its trials into another study's folders;
`resume_sweep=` alone continues the sweep its folder records; records read back on resume are
checked before anything is written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, T, exit_status

from genlab.errors import Interrupted
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from genlab.train import cli

SMALL = [*T, "trainer.max_steps=3"]
HOLD = "from genlab.storage.lock import FileLock; import sys, time; l = FileLock(sys.argv[1]); "
HOLD += "assert l.take() is None; print('held', flush=True); time.sleep(120)"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".lock")}  # fmt: skip


def jobs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if (p / "status.json").is_file())


def launch(sweep_dir: Path, *args: str) -> None:
    cli(["-m", "model=vae", "seed=0,1", *SMALL, f"hydra.sweep.dir={sweep_dir}", *args])


@pytest.fixture
def swept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep_dir = tmp_path / "sw"
    launch(sweep_dir)
    assert len(jobs(sweep_dir)) == 2
    return sweep_dir


def test_a_sweep_launched_again_keeps_finished_jobs_byte_identical(swept, capsys):
    before = {job.name: snapshot(job) for job in jobs(swept)}
    capsys.readouterr()
    launch(swept)
    out = capsys.readouterr().out
    assert out.count("skipped (finished in an earlier launch)") == 2
    assert {job.name: snapshot(job) for job in jobs(swept)} == before


def test_a_sweep_launched_again_resumes_the_interrupted_job_and_runs_the_missing_one(swept, capsys):
    cut, gone = jobs(swept)
    status = json.loads((cut / "status.json").read_text())
    (cut / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))
    (cut / "metrics.json").unlink()
    ckpt = load_checkpoint(cut / "checkpoints" / "last.pt")
    assert ckpt["step"] == 3
    subprocess.run(["rm", "-rf", str(gone)], check=True)
    capsys.readouterr()
    launch(swept)  # its evaluation was cut short: the job resumes at step 3 to measure
    out = capsys.readouterr().out
    assert f"resumed from step 3: {cut}" in out
    assert read_status(cut)["status"] == "finished" and read_status(gone)["status"] == "finished"


def test_a_second_launcher_into_a_sweep_in_use_is_refused_naming_it(swept, capsys):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(swept / ".lock")], text=True,
                            stdout=subprocess.PIPE, env={"PYTHONPATH": str(REPO)})  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"
        before = snapshot(swept)
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            launch(swept)
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1
        assert f"is in use by pid {proc.pid} on " in err
        assert snapshot(swept) == before
    finally:
        proc.kill()
        proc.wait()


def test_two_sweeps_started_at_once_get_folders_of_their_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for model in ("vae", "gan"):
        cli(["-m", f"model={model}", "seed=0", *T, "trainer.max_steps=1", "eval.at_end=false"])
    sweeps = list((tmp_path / "outputs" / "multirun").iterdir())
    assert len(sweeps) == 2 and all(len(jobs(s)) == 1 for s in sweeps)


def test_resume_sweep_alone_continues_the_recorded_jobs_never_its_root(swept, capsys):
    before = {job.name: snapshot(job) for job in jobs(swept)}
    capsys.readouterr()
    cli(["-m", f"resume_sweep={swept}"])
    assert capsys.readouterr().out.count("skipped (finished in an earlier launch)") == 2
    assert {job.name: snapshot(job) for job in jobs(swept)} == before
    assert not (swept / "status.json").exists() and not (swept / "checkpoints").exists()


def test_resume_sweep_with_a_key_keeps_the_recorded_rest(swept, capsys):
    """`-m resume_sweep=DIR seed=5`: the sweep's own overrides and this seed, never a default
    MNIST job in the sweep's folder."""
    cli(["-m", f"resume_sweep={swept}", "seed=5"])
    new = [j for j in jobs(swept) if "seed=5" in j.name]
    assert len(new) == 1 and "data=synthetic" in new[0].name and "model=vae" in new[0].name


def test_resume_sweep_without_multirun_is_one_line(swept, capsys):
    assert exit_status(cli, [f"resume_sweep={swept}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"genlab train -m resume_sweep={swept}" in err
    assert not (swept.parent / "outputs").exists()


def test_resume_sweep_of_a_folder_without_a_record_is_one_line(tmp_path, capsys):
    assert exit_status(cli, ["-m", f"resume_sweep={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no multirun.yaml of a sweep in it" in err


def test_a_sweep_naming_no_job_is_refused_before_training_into_its_root(tmp_path, capsys):
    args = ["-m", "device=cpu", "threads=1", f"hydra.sweep.dir={tmp_path / 'sw'}"]
    assert exit_status(cli, args) == 2
    assert "names each job's folder by its overrides" in capsys.readouterr().err
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize(
    "name, content",
    [("metrics.json", "[1, 2]"), ("status.json", '"finished"'), ("status.json", b"\x80\xff"),
     (".hydra/overrides.yaml", "a: 1"), (".hydra/overrides.yaml", "[1, 2]")],
)  # fmt: skip
def test_a_foreign_record_on_resume_is_one_line_and_the_run_stays(tmp_path, capsys, name, content):
    run = tmp_path / "run"
    cli([*SMALL, f"hydra.run.dir={run}"])
    (run / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    before = snapshot(run)
    capsys.readouterr()
    assert exit_status(cli, [f"resume={run}", "trainer.max_steps=5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{run / name} is not " in err, err
    assert snapshot(run) == before


optuna = pytest.importorskip("optuna")
SEARCH = ["-m", "hydra/sweeper=genlab_optuna", "objective=fid", "hydra.sweeper.n_trials=2", *SMALL]


def test_a_search_into_another_studys_folder_is_refused_and_the_same_one_continues(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    where = f"hydra.sweep.dir={tmp_path / 'search'}"
    cli([*SEARCH, "optimizer.lr=interval(1e-4,1e-3)", where])
    first = snapshot(tmp_path / "search")
    capsys.readouterr()
    assert exit_status(cli, [*SEARCH, "optimizer.lr=interval(1e-3,1e-2)", where]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds the trials of study fid-" in err
    assert snapshot(tmp_path / "search") == first  # nothing of the first study written again
    cli([*SEARCH, "optimizer.lr=interval(1e-4,1e-3)", where])  # the same search continues
    trials = sorted(p.name for p in (tmp_path / "search").glob("trial_*"))
    assert trials == ["trial_0000", "trial_0001", "trial_0002", "trial_0003"]
    assert all(snapshot(tmp_path / "search" / t) == {
        k.split("/", 1)[1]: v for k, v in first.items() if k.startswith(t + "/")
    } for t in trials[:2])  # fmt: skip


def test_a_search_kept_in_memory_never_writes_over_an_earlier_launchs_trials(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    args = [*SEARCH, "optimizer.lr=interval(1e-4,1e-3)", "hydra.sweeper.storage=null",
            f"hydra.sweep.dir={tmp_path / 'search'}"]  # fmt: skip
    cli(args)
    first = snapshot(tmp_path / "search" / "trial_0000")
    assert exit_status(cli, args) == 2
    assert "holds a trial of an earlier launch" in capsys.readouterr().err
    assert snapshot(tmp_path / "search" / "trial_0000") == first


def test_a_plain_sweep_into_a_searchs_folder_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli([*SEARCH, "optimizer.lr=interval(1e-4,1e-3)", f"hydra.sweep.dir={tmp_path / 's'}"])
    assert exit_status(launch, tmp_path / "s") == 2
    assert "holds the trials of study" in capsys.readouterr().err


def test_an_interrupted_trial_is_marked_failed_and_the_search_named(tmp_path, monkeypatch, capsys):
    import signal

    from genlab.trainers.trainer import Trainer

    monkeypatch.chdir(tmp_path)
    fit = Trainer.fit

    def interrupted(self):
        raise Interrupted(signal.SIGINT, 1, self.run_dir)

    monkeypatch.setattr(Trainer, "fit", interrupted)
    args = [*SEARCH, "optimizer.lr=interval(1e-4,1e-3)", f"hydra.sweep.dir={tmp_path / 's'}"]
    assert exit_status(cli, args) == 128 + signal.SIGINT
    err = capsys.readouterr().err
    assert (
        "trial 0 marked failed in study fid-" in err and "continue the search with the same" in err
    )
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    assert [t.state.name for t in study.trials] == ["FAIL"]
    monkeypatch.setattr(Trainer, "fit", fit)
    cli(args)  # the same command goes on with new trials
    assert [t.state.name for t in optuna.load_study(study_name=summary.study_name,
            storage=storage).trials] == ["FAIL", "COMPLETE", "COMPLETE"]  # fmt: skip
