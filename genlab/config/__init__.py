"""Config: where genlab's Hydra configs live, the checks they must pass, and the build step that
turns one resolved config into runnable objects. Only this package and the entrypoints read config.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from omegaconf import OmegaConf

from genlab.config import devices  # torch is imported by its functions, when a config resolves
from genlab.runs.directory import holds_a_run


def _conf_dir() -> Path:
    """The installed `genlab.conf` package (the repository's conf/, shipped in the wheel); from a
    source tree that was never installed, conf/ beside genlab/."""
    try:
        return Path(str(files("genlab.conf")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "conf"


CONF_DIR = _conf_dir()


def visible_device(key: str):
    """${genlab.device:KEY}, what device=auto resolves to as a job composes its config: KEY of
    conf/device/<cuda|mps|cpu>.yaml for the first of them this process sees (devices.visible)."""
    return OmegaConf.load(CONF_DIR / "device" / f"{devices.visible()}.yaml")[key]


# ${genlab.first:a,b}: a unless it is null (the sweep directory: resume_sweep, else a new one)
OmegaConf.register_new_resolver(
    "genlab.first", lambda *xs: next((x for x in xs if x is not None), None), replace=True
)
OmegaConf.register_new_resolver("genlab.device", visible_device, replace=True)
# ${genlab.record_dir:DIR}: hydra.output_subdir, .hydra for a new run, null (no record written)
# for a directory that holds a run already (runs/sweep.py)
OmegaConf.register_new_resolver(
    "genlab.record_dir", lambda d: None if holds_a_run(Path(d)) else ".hydra", replace=True
)
# ${genlab.cuda:KEY}, ${genlab.mps:KEY}, ${genlab.cpu:KEY}: the fast paths of the device this
# process sees (a CUDA GPU's by its compute capability, a CPU's by its instructions), resolved
# where the job runs
for _kind in ("cuda", "mps", "cpu"):
    OmegaConf.register_new_resolver(
        f"genlab.{_kind}", lambda key, kind=_kind: devices.fast_path(kind, key), replace=True
    )
