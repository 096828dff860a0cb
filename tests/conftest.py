"""Shared fixtures: the real config, composed once per test and shrunk to tiny synthetic runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
TINY = [  # a few steps on generated images, on the CPU, no progress bar
    "data=synthetic",
    "data.size=64",
    "data.batch_size=16",
    "device=cpu",
    "trainer.epochs=1",
    "trainer.log_every=1",
    "trainer.progress=false",
    "eval.n_samples=64",  # metrics on 64 generated vs 64 test images
    "eval.iw_samples=8",
]


T = [
    "data=synthetic",
    "data.size=64",
    "data.batch_size=16",
    "device=cpu",
    "trainer.progress=false",
    "arch.hidden=16",
    "eval.n_samples=40",
    "eval.iw_samples=2",
]  # fmt: skip  (smaller still: a run the command line refuses or stops)


def exit_status(call, *args) -> int:
    """The exit status a command-line entry point stops with."""
    with pytest.raises(SystemExit) as e:
        call(*args)
    return e.value.code


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for the servers the tests start)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, process, seconds: float = 120) -> None:
    """Polls url until it answers, failing the test if the server's process exits first."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            assert process.poll() is None, f"the server behind {url} exited"
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {seconds} s")


@pytest.fixture(autouse=True, scope="session")
def data_root(tmp_path_factory):
    """A fresh data root for the session: the synthetic sets' classifiers are trained there once."""
    root = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_DATA", str(root))
        yield root


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and far faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """The test's working directory is its tmp_path (outputs/ lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def compose_cfg():
    """compose_cfg(*overrides) -> the DictConfig `python -m genlab.train` would see, shrunk."""

    def _compose(*overrides: str, tiny: bool = True):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=[*(TINY if tiny else []), *overrides])

    return _compose


@pytest.fixture
def run_cli(tmp_path):
    """run_cli(*args) runs `python -m genlab.train args...` in a subprocess, outputs in tmp_path."""

    def _run(*args: str, module: str = "genlab.train", timeout: int = 300, env: dict | None = None):
        cmd = [sys.executable, "-m", module, *args]
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        return subprocess.run(
            cmd, cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=full_env
        )

    return _run


@pytest.fixture
def signal_after_logging(monkeypatch):
    """signal_after_logging(step, *signals): right after logging `step` (its events flushed to
    disk), this process receives each of `signals`, as from a user's Ctrl-C or a scheduler."""
    from genlab.logging.tensorboard import RunLogger

    scalars = RunLogger.scalars

    def arm(step: int, *signals: int) -> None:
        def then_signal(self, values, at, prefix="train"):
            scalars(self, values, at, prefix)
            if at == step:
                self.flush()
                for sig in signals:
                    os.kill(os.getpid(), sig)

        monkeypatch.setattr(RunLogger, "scalars", then_signal)

    return arm
