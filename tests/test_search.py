"""The Optuna search (hydra/sweeper=genlab_optuna on Optuna >= 4): a 6-trial study on synthetic
data whose hopeless trials are pruned (status "pruned", never failed), the direction taken from
the metric, a study a rerun continues and another search kept apart, the Pareto front of two
objectives, one-line refusals before any trial trains, and optuna-dashboard showing a study in a
real headless Chromium."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from genlab.config import CONF_DIR
from genlab.report import main as report
from genlab.runs.status import read_status
from genlab.train import cli
from tests.conftest import TINY, free_port, wait_until_answers

optuna = pytest.importorskip("optuna")
SEARCH = ["-m", "hydra/sweeper=genlab_optuna", *TINY]


def jobs_of(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def stored(tmp_path: Path):
    """The studies in the search's default storage (optuna.db in the working directory)."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    return {s.study_name: s for s in optuna.get_all_study_summaries(storage)}, storage


@pytest.mark.parametrize(
    "sweeper, space",
    [
        ("genlab_optuna", None),  # the search space comes from the command line
        ("optuna_gan", {"optimizer.lr", "optimizer.betas.0", "model.latent_dim", "loss.name"}),
        ("optuna_gan_mlp", {"optimizer.lr", "data.batch_size", "model.ema", "model.minibatch_std"}),
    ],
)
def test_optuna_sweepers_share_genlab_settings_and_keep_their_own_space(sweeper, space):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        s = compose(
            "config", overrides=[f"hydra/sweeper={sweeper}"], return_hydra_config=True
        ).hydra.sweeper
    assert (s.sampler, s.seed, s.direction, s.storage) == ("tpe", 0, None, "sqlite:///optuna.db")
    assert s.pruner == "none" and (set(s.params) if s.params else None) == space


def test_optuna_of_today_runs_the_search():
    major = int(optuna.__version__.split(".")[0])
    assert major >= 4, f"optuna {optuna.__version__}"


def test_six_trials_with_pruning_stop_the_hopeless_ones(run_cli, tmp_path):
    """lr 1e-9 cannot learn in 3 epochs: once two trials are complete, the median pruner stops
    such a trial at its first evaluation, after a checkpoint; the search goes on. The trials run
    in the local launcher's worker process: their outcome comes back across a process."""
    sweep_dir = tmp_path / "study"
    result = run_cli(*SEARCH, "model=vae", "objective=neg_elbo", "hydra.sweeper.n_trials=6",
                     "hydra/launcher=local", "hydra.launcher.n_jobs=1",
                     "hydra.sweeper.pruner=median", "optimizer.lr=choice(1e-9,3e-3)",
                     "trainer.epochs=3", "trainer.eval_every=1",
                     f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    jobs = jobs_of(sweep_dir)
    statuses = {job.name: read_status(job)["status"] for job in jobs}
    assert len(jobs) == 6 and set(statuses.values()) == {"finished", "pruned"}, statuses
    pruned = [job for job in jobs if statuses[job.name] == "pruned"]
    assert pruned and all("lr=1e-09" in (j / ".hydra/overrides.yaml").read_text() for j in pruned)
    for job in pruned:  # stopped at the first evaluation (step 4), its checkpoint kept
        assert "pruned at step 4" in read_status(job)["error"]
        assert (job / "checkpoints" / "last.pt").is_file()
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["trials"] == {"complete": 6 - len(pruned), "pruned": len(pruned)}
    assert results["failed_this_launch"] == 0
    studies, storage = stored(tmp_path)
    trials = optuna.load_study(study_name=results["study"], storage=storage).trials
    states = [t.state.name for t in trials]
    assert states.count("PRUNED") == len(pruned) and "FAIL" not in states
    assert report([str(sweep_dir)]) == 0  # the report shows the pruned ones as such
    assert (sweep_dir / "report.csv").read_text().count(",pruned,") == len(pruned)


def test_the_direction_comes_from_the_metric_and_each_search_has_its_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default storage: optuna.db here
    gan = [*SEARCH, "model=gan", "trainer.max_steps=2", "hydra.sweeper.n_trials=1"]
    for objective in ("recall", "fid"):
        cli([*gan, f"objective={objective}", "optimizer.lr=interval(1e-4,1e-3)"])
    studies, storage = stored(tmp_path)
    directions = {name.split("-")[0]: s.direction.name for name, s in studies.items()}
    assert directions == {"recall": "MAXIMIZE", "fid": "MINIMIZE"}
    cli([*gan, "objective=recall", "optimizer.lr=interval(1e-4,1e-3)"])  # its study goes on
    studies, _ = stored(tmp_path)
    (recall,) = [s for name, s in studies.items() if name.startswith("recall")]
    assert recall.n_trials == 2 and len(studies) == 2


def test_two_objectives_give_a_pareto_front(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep_dir = tmp_path / "pareto"
    cli([*SEARCH, "model=gan", "trainer.max_steps=2", "hydra.sweeper.n_trials=3",
         "objective=[fid,train_s]", "optimizer.lr=interval(1e-4,1e-3)",
         f"hydra.sweep.dir={sweep_dir}"])  # fmt: skip
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["objectives"] == ["fid", "train_s"] and results["best"]
    assert all(set(b["values"]) == {"fid", "train_s"} for b in results["best"])
    assert report([str(sweep_dir)]) == 0
    text = (sweep_dir / "report.md").read_text()
    front = text.split("Pareto front (fid lower, train_s lower is better):")[1]
    assert front.count("\n- ") == len(results["best"])  # the report's front is the study's


@pytest.mark.parametrize(
    "args, message",
    [
        (["hydra.sweeper.pruner=sometimes"], "hydra.sweeper.pruner=sometimes is not known"),
        (["hydra.sweeper.direction=sideways"], "hydra.sweeper.direction=sideways is not known"),
        (["+model.nope=choice(1,2)"], "nope"),
        (["objective=class_accuracy"], "objective=class_accuracy"),
        (["hydra.sweeper.storage=sqlite:////proc/optuna.db"], "hydra.sweeper.storage="),
        (["objective=g_loss"], "objective=g_loss has no better direction"),
        (["objective=d_real"], "objective=d_real has no better direction"),
        (["objective=kid_std"], "objective=kid_std has no better direction"),
        (["hydra.sweeper.pruner=median"], "set trainer.eval_every"),
    ],
    ids=[
        "pruner",
        "direction",
        "unknown key",
        "objective of another model",
        "read-only storage",
        "g_loss",
        "d_real",
        "kid_std",
        "pruner without evaluations",
    ],  # fmt: skip
)
def test_bad_search_input_is_one_line_before_any_trial(
    tmp_path, monkeypatch, capsys, args, message
):
    base = {"objective": "objective=fid", "space": "optimizer.lr=interval(1e-4,1e-3)"}
    if any(a.startswith("objective=") for a in args):
        base.pop("objective")
    monkeypatch.chdir(tmp_path)  # (in this process: the command line's path, without a start-up)
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(SystemExit) as e:
        cli([*SEARCH, "model=gan", *base.values(), *args, f"hydra.sweep.dir={sweep_dir}"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and message in err, err
    assert not sweep_dir.exists() or not jobs_of(sweep_dir)  # no trial trained


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs chromium (.ci/run installs it)")
def test_optuna_dashboard_shows_the_study_and_its_trials(tmp_path):
    pytest.importorskip("optuna_dashboard")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="genlab-tiny", storage=storage)
    for lr in (1e-4, 1e-3, 1e-2):
        study.enqueue_trial({"optimizer.lr": lr})
    study.optimize(lambda t: t.suggest_float("optimizer.lr", 1e-5, 1e-1, log=True) * 10, 3)
    port = free_port()
    dashboard = Path(sys.executable).with_name("optuna-dashboard")
    process = subprocess.Popen(
        [str(dashboard), storage, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/api/studies", process)
        page = f"http://127.0.0.1:{port}/dashboard/studies/{study._study_id}/trials"
        dom = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="
             f"{tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom", page],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert "genlab-tiny" in dom and "optimizer.lr" in dom
    assert all(f"Trial {n}" in dom for n in range(3))
    with pytest.raises(ProcessLookupError):  # nothing left behind
        os.killpg(process.pid, 0)


def test_a_journal_file_holds_a_study_and_refuses_the_other_direction(tmp_path):
    """The storage for SLURM jobs on a shared file system: an append-only journal file."""
    from genlab.errors import ConfigError
    from genlab.search.study import open_study, pruner

    url = f"journal://{tmp_path / 'study.log'}"
    study = open_study("s", url, ["maximize"], ("tpe", 0), pruner("none"))
    trial = study.ask()
    study.tell(trial, trial.suggest_float("x", 0.0, 1.0))
    again = open_study("s", url, ["maximize"], ("tpe", 0), pruner("none"))
    assert len(again.trials) == 1 and (tmp_path / "study.log").stat().st_size > 0
    with pytest.raises(
        ConfigError, match="would maximize .1 objective.; this search would minimize"
    ):
        open_study("s", url, ["minimize"], ("tpe", 0), pruner("none"))


@pytest.mark.parametrize(
    "sweep, values",
    [("range(0,10,3)", [0, 3, 6, 9]), ("range(1,4)", [1, 2, 3]), ("range(0.0,1.0,0.25)",
     [0.0, 0.25, 0.5, 0.75]), ("interval(1,3)", [1, 2, 3])],
)  # fmt: skip
def test_a_range_searches_what_hydra_sweeps(sweep, values):
    """Hydra's range(start, stop, step) stops before stop, as Python's; every value is reachable."""
    from genlab.search.space import parse

    (dist,) = parse({}, [f"x={sweep}"])[0].values()
    step = getattr(dist, "step", None) or 1
    reach = [dist.low + i * step for i in range(round((dist.high - dist.low) / step) + 1)]
    assert reach == pytest.approx(values)


def test_a_continued_study_asks_new_points_and_refuses_another_objective(tmp_path):
    from genlab.errors import ConfigError
    from genlab.search.study import open_study, pruner

    url = f"sqlite:///{tmp_path / 'o.db'}"
    space = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}

    def launch(n: int) -> list[float]:
        study = open_study("s", url, ["minimize"], ("random", 0), pruner("none"), ["fid"])
        asked = [study.ask(space) for _ in range(n)]
        for t in asked:
            study.tell(t, t.params["x"])
        return [t.params["x"] for t in asked]

    first, again = launch(3), launch(3)
    assert not set(first) & set(again)  # the second launch does not replay the first
    with pytest.raises(ConfigError, match="optimizes fid; this search would optimize neg_elbo"):
        open_study("s", url, ["minimize"], ("random", 0), pruner("none"), ["neg_elbo"])


def test_a_trial_reports_at_its_evaluations_epoch(tmp_path, monkeypatch):
    """Pruners compare trials at the same evaluation, whatever their batch size."""
    monkeypatch.chdir(tmp_path)
    cli([*SEARCH, "model=vae", "objective=neg_elbo", "hydra.sweeper.n_trials=1",
         "hydra.sweeper.pruner=median", "optimizer.lr=interval(1e-4,1e-3)", "trainer.epochs=4",
         "trainer.eval_every=1", f"hydra.sweep.dir={tmp_path / 's'}"])  # fmt: skip
    studies, storage = stored(tmp_path)
    (study,) = studies.values()
    (trial,) = optuna.load_study(study_name=study.study_name, storage=storage).trials
    assert sorted(trial.intermediate_values) == [1, 2, 3]  # epochs, not steps 4, 8, 12
