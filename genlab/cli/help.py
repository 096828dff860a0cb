"""`genlab train --help`: conf/hydra/help/genlab.yaml's page, filled in here rather than by Hydra.

Written by hand because Hydra's own help re-reads every config group once per group (about a
third of a second of deep copies for genlab's 15 groups) and cannot show the device keys
resolved without importing torch. Here the groups are the folders of conf/, the config is
composed once (with any overrides given beside --help), and the device keys read `auto`: they
are chosen where the job runs, which `genlab train --cfg job` shows.
"""

from __future__ import annotations

import re

from omegaconf import OmegaConf

from genlab.config import CONF_DIR

# conf/device/'s values chosen where the job runs: by the device it sees (auto), by the GPU's
# compute capability (cuda), by what this torch has for Apple silicon (mps)
DEVICE_KEY = re.compile(r"^\$\{genlab\.(device|cuda|mps):\w+\}$")


def train_help(overrides: list[str]) -> str:
    """The page `genlab train [OVERRIDES] --help` prints."""
    page = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "hydra" / "help" / "genlab.yaml"))
    text = page["template"].replace("${hydra.help.header}", page["header"])
    text = text.replace("${hydra.help.footer}", page["footer"])
    text = text.replace("$APP_CONFIG_GROUPS", config_groups())
    return text.replace("$CONFIG", composed(overrides))


def config_groups() -> str:
    """`group: option, option` for each folder of conf/ that holds options (Hydra's own groups,
    under hydra/, are left to --hydra-help)."""
    lines = []
    for folder in sorted(p for p in CONF_DIR.rglob("*") if p.is_dir()):
        group = folder.relative_to(CONF_DIR).as_posix()
        options = sorted(p.stem for p in folder.glob("*.yaml"))
        if options and group.split("/")[0] != "hydra":
            lines.append(f"{group}: {', '.join(options)}")
    return "\n".join(lines) + "\n"


def composed(overrides: list[str]) -> str:
    """The config these overrides compose, as YAML, every value resolved."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONF_DIR), version_base="1.3", job_name="genlab"):
        cfg = compose("config", overrides=overrides)
    plain = OmegaConf.to_container(cfg, resolve=False)
    return OmegaConf.to_yaml(OmegaConf.create(_auto_devices(plain)), resolve=True)


def _auto_devices(node):
    """The device keys chosen where the job runs as `auto` (resolving them would import torch to
    look at a GPU, which the machine that runs the job may have and this one not)."""
    if isinstance(node, dict):
        return {k: _auto_devices(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_auto_devices(v) for v in node]
    return "auto" if isinstance(node, str) and DEVICE_KEY.match(node) else node
