"""Tuned recipes, keyed by data set: conf/recipe/<data>/<model>_<arch>.yaml holds the settings
tuned for that pair on that data set, and conf/config.yaml applies the one of the run's data set.
A data set without one trains the textbook model; the run's `recipe` key says which applied.

Hydra's `optional` default skips a missing recipe in silence, and a folder named after no data
set would never apply; both are said here, in one line each.
"""

from __future__ import annotations

import logging
from pathlib import Path

from genlab.config import CONF_DIR
from genlab.data import DATASETS
from genlab.errors import ConfigError

log = logging.getLogger(__name__)
RECIPES = CONF_DIR / "recipe"
NONE = "none"  # conf/config.yaml's `recipe:` when no recipe applied


def tuned_on(model: str, arch: str, recipes: Path = RECIPES) -> list[str]:
    """The data sets with a recipe for the pair, by name."""
    return sorted(p.parent.name for p in recipes.glob(f"*/{model}_{arch}.yaml"))


def check_recipe_folders(recipes: Path = RECIPES) -> None:
    """Every folder under conf/recipe/ is a data set genlab has: a misspelt one never applies."""
    for folder in sorted(p for p in recipes.iterdir() if p.is_dir() and p.name != "__pycache__"):
        if folder.name not in DATASETS:
            raise ConfigError(
                f"conf/recipe/{folder.name}/ is for data={folder.name}, which genlab does not "
                f"have; a recipe folder is named after a data set: {', '.join(DATASETS)}"
            )


def no_recipe_note(c: dict, recipes: Path = RECIPES) -> str | None:
    """The line to log when no recipe is tuned for the run's data set and pair; None when one
    applied, or when one exists and was dropped on purpose (a preset, `~recipe`)."""
    data, model, arch = c["data"]["name"], c["model"]["name"], c["arch"]["name"]
    if c.get("recipe", NONE) != NONE or (recipes / data / f"{model}_{arch}.yaml").is_file():
        return None
    others = tuned_on(model, arch, recipes)
    use = f"; to use another data set's on purpose: recipe={others[0]}/{model}_{arch}"
    return (
        f"no recipe is tuned for model={model} arch={arch} on data={data}: the textbook model "
        f"trains (its settings: genlab train model={model} arch={arch} --cfg job)"
        f"{use if others else ''}"
    )


def announce(c: dict) -> None:
    """Stops on a misnamed recipe folder; logs the no-recipe note once (a new run only). (A
    misspelt `recipe=` is the command line's: cli/overrides.py.)"""
    check_recipe_folders()
    note = no_recipe_note(c)
    if note:
        log.info(note)  # a fact of the run, not a fault: said once, as every run's settings
