"""hydra/launcher=ray_cluster: every job a Ray task, on a running Ray cluster or a Ray started here.

Wraps hydra-ray-launcher's RayLauncher (`pip install 'genlab[ray]'`; imported only when used, so
Hydra's plugin scan works without it). Before launching: a Ray head must answer at
`hydra.launcher.ray.init.address`, and a relative sweep directory is made absolute, because Ray
runs its tasks in the directory `ray start` ran in, not in the one the sweep was started from.
Ray's workers also see the environment of `ray start` (GENLAB_DATA, ...), not this process's.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig

from genlab.cli.overrides import quoted
from hydra_plugins.genlab_launchers import ServiceMissing

LOOPBACK = ("127.0.0.1", "localhost")
START = (  # a head on this machine's loopback only (see RayLauncher.setup)
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head --node-ip-address=127.0.0.1 --port={port}"
)


def head_address(address: str) -> str:
    """host:port of the head a ray.init(address=...) would join ("auto": the one running here)."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or _current_cluster()
        if not address:
            raise ServiceMissing(
                "hydra/launcher=ray_cluster: no Ray head runs on this machine (address=auto); "
                f"start one with: {START.format(port=6379)}"
            )
    return address.removeprefix("ray://")


def _current_cluster() -> str | None:
    """The address `ray start --head` leaves in <temp dir>/ray/ray_current_cluster."""
    root = os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()
    path = Path(root) / "ray" / "ray_current_cluster"
    return path.read_text().strip() if path.is_file() else None


def check_ray(address: str | None) -> None:
    """A TCP connection to the head's port, else ServiceMissing; address None starts Ray here."""
    if address is None:
        return
    hostport = head_address(str(address))
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except (OSError, ValueError) as e:
        why = e.strerror or str(e) if isinstance(e, OSError) else f"not host:port ({e})"
        raise ServiceMissing(
            f"hydra/launcher=ray_cluster: no Ray head answers at {hostport} ({why}); start one "
            f"with: {START.format(port=port or 6379)} (or set hydra.launcher.ray.init.address=null "
            "to start Ray in this process)"
        ) from None


class RayLauncher(Launcher):
    def __init__(self, ray: DictConfig) -> None:
        self.ray = ray
        self.plugin = None
        self.config: DictConfig | None = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        address = self.ray.init.get("address")
        check_ray(address)
        if address and head_address(str(address)).rpartition(":")[0] in LOOPBACK:
            # A head on 127.0.0.1 (one machine): keep this driver's Ray addresses on loopback
            # too, with the switch Ray uses on macOS and Windows. Otherwise Ray swaps 127.0.0.1
            # for this machine's network address and waits for a head that does not listen there.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before `import ray`
        try:
            from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher as Plugin
        except ImportError as e:
            raise ServiceMissing(
                f"hydra/launcher=ray_cluster needs hydra-ray-launcher ({e}); install it with: "
                "pip install 'genlab[ray]'"
            ) from None
        self.config = config
        self.plugin = Plugin(ray=self.ray)
        self.plugin.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides, initial_job_idx):
        sweep_dir = str(self.config.hydra.sweep.dir)
        if not os.path.isabs(sweep_dir):
            where = f"hydra.sweep.dir={quoted(os.path.abspath(sweep_dir))}"
            job_overrides = [[*overrides, where] for overrides in job_overrides]
        return self.plugin.launch(job_overrides, initial_job_idx)
