"""Config: where genlab's Hydra configs live, the checks they must pass, and the build step that
turns one resolved config into runnable objects. Only this package and the entrypoints read config.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from omegaconf import OmegaConf


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
    conf/device/cuda.yaml when this process sees a GPU, else of conf/device/cpu.yaml."""
    import torch

    name = "cuda" if torch.cuda.is_available() else "cpu"
    return OmegaConf.load(CONF_DIR / "device" / f"{name}.yaml")[key]


# ${genlab.first:a,b}: a unless it is null (the sweep directory: resume_sweep, else a new one)
OmegaConf.register_new_resolver(
    "genlab.first", lambda *xs: next((x for x in xs if x is not None), None), replace=True
)
OmegaConf.register_new_resolver("genlab.device", visible_device, replace=True)
