"""A sweep through a real Ray cluster: a Ray head started here on 127.0.0.1 (`ray start --head`),
the 2 x 2 grid through hydra/launcher=ray_cluster, then the head stopped. Skips without the Ray
extra (`pip install -e '.[ray]'`, which `make test-cluster` installs)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from genlab.report import main as report
from genlab.runs.status import read_status
from tests.conftest import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """host:port of a Ray head on 127.0.0.1 that this fixture starts and stops (its own temp dir,
    so another Ray on the machine is neither joined nor stopped)."""
    pytest.importorskip("ray", reason="no Ray here (pip install -e '.[ray]')")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="no hydra-ray-launcher here")
    port, temp = free_port(), tempfile.mkdtemp(prefix="ray")  # short: Ray's sockets live there
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),  # Ray's workers take the environment of `ray start`
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # every Ray address 127.0.0.1, none other
    }
    cmd = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block"]
    cmd += ["--node-ip-address=127.0.0.1", f"--port={port}", f"--temp-dir={temp}"]
    cmd += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    head = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.time() > deadline:
                    pytest.fail(f"ray start failed: {head.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # --block: SIGTERM stops every process this head started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_2x2_sweep_runs_as_ray_tasks_and_the_report_lists_them(ray_head, run_cli, tmp_path):
    result = run_cli(
        "-m",
        "hydra/launcher=ray_cluster",
        f"hydra.launcher.ray.init.address={ray_head}",
        "model=vae,gan",
        "arch=mlp,cnn",
        "data=synthetic",
        "data.size=64",
        "data.batch_size=16",
        "device=cpu",
        "threads=1",
        "trainer.max_steps=4",
        "trainer.progress=false",
        "eval.at_end=false",
        "hydra.sweep.dir=sweep",  # relative: Ray's workers run elsewhere, the jobs land here
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Connecting to existing Ray cluster at address: {ray_head}" in result.stderr
    assert "(_run_job pid=" in result.stdout + result.stderr  # the jobs' output, from Ray's workers
    sweep_dir = tmp_path / "sweep"
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
    assert len(jobs) == 4 and all(read_status(job)["status"] == "finished" for job in jobs)
    assert report([str(sweep_dir)]) == 0
    rows = (sweep_dir / "report.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == 4 and all(",finished," in row for row in rows)
