"""genlab's Hydra configs, installed as the package `genlab.conf` (see pyproject.toml)."""
