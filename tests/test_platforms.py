"""What a platform lacks is handled: a training and its resume run with `fcntl`, `resource` and
SIGUSR2 made unavailable (as on Windows), and a path is taken as typed: spaces, quotes, a
Windows path's backslashes and colon."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, T, exit_status

import genlab
from genlab.cli.overrides import resume_args
from genlab.train import cli

AS_ON_WINDOWS = """
import runpy, signal, sys
for name in ("fcntl", "resource"):
    sys.modules[name] = None  # `import fcntl` raises ImportError, as on Windows
del signal.SIGUSR2
sys.argv = ["genlab", *sys.argv[1:]]
try:
    runpy.run_module("genlab", run_name="__main__")
finally:
    taken = [m for m in ("fcntl", "resource") if sys.modules.get(m) is not None]
    assert not taken, taken
"""


def as_on_windows(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """genlab with those modules absent; its own data root, as its locks are filelock's soft ones
    here (no fcntl), which a flock's lock file left by the other tests would hold forever."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore::UserWarning:filelock",
           "GENLAB_DATA": str(cwd / "data")}  # fmt: skip
    return subprocess.run([sys.executable, "-c", AS_ON_WINDOWS, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_training_resume_and_report_without_fcntl_resource_and_sigusr2(tmp_path):
    run = tmp_path / "runs" / "r"
    first = as_on_windows("train", *T, "trainer.max_steps=3", f"hydra.run.dir={run}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    again = as_on_windows("train", f"resume={run}", "trainer.max_steps=6", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert genlab.load(run).step == 6
    report = as_on_windows("report", str(tmp_path / "runs"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]


def test_stop_signals_are_those_the_platform_has(monkeypatch):
    import importlib
    import signal

    from genlab.trainers import signals

    monkeypatch.delattr(signal, "SIGUSR2")
    try:
        reloaded = importlib.reload(signals)
        assert set(reloaded.StopOnSignals.SIGNALS) == {signal.SIGINT, signal.SIGTERM}
        with reloaded.StopOnSignals():
            pass
    finally:
        monkeypatch.undo()
        importlib.reload(signals)


def test_peak_memory_without_resource_or_proc(monkeypatch):
    import math

    from genlab.benchmark import measure

    monkeypatch.setitem(sys.modules, "resource", None)
    monkeypatch.setattr(measure, "Path", lambda p: Path("/no/such/proc") / p.lstrip("/"))
    assert math.isnan(measure._rss_kib("VmHWM"))


@pytest.mark.parametrize("name", ["a b", "it's", 'say "x"', "C:\\runs\\x", "a,b", "trailing\\"])
def test_resume_of_a_path_as_typed(tmp_path, monkeypatch, name):
    """The shell hands genlab the path with its characters; Hydra would read a comma as a sweep, a
    quote as the start of a string, and fail; the run continues in that very folder."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / name
    cli([*T, "model=vae", "trainer.max_steps=2", f"hydra.run.dir={run}"])
    assert (run / "checkpoints" / "last.pt").is_file()
    cli([f"resume={run}", "trainer.max_steps=4"])
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert genlab.load(run).step == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing made beside it


def test_a_windows_path_reaches_hydra_whole():
    args = resume_args(["hydra.run.dir=C:\\runs\\x", "model=gan"])
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(args)
    assert parsed[0].value() == "C:\\runs\\x" and parsed[1].value() == "gan"


def test_a_missing_resume_path_with_a_quote_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exit_status(cli, ["resume=it's gone"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resume=it's gone: no such directory" in err


def test_a_tilde_no_shell_expanded_is_the_home_folder(tmp_path, monkeypatch):
    """`hydra.run.dir=~/x` reaches genlab as typed (the shell expands ~ only at a word's start):
    Hydra cannot parse it, and quoted it would make a folder named ~."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    cli([*T, "model=vae", "trainer.max_steps=2", "hydra.run.dir=~/runs/x"])
    cli(["resume=~/runs/x", "trainer.max_steps=3"])
    assert genlab.load(tmp_path / "home" / "runs" / "x").step == 3
    assert not (tmp_path / "~").exists()
