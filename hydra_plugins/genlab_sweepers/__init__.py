"""genlab's Hydra sweeper: Optuna's ask-and-tell search (optuna_sweeper.py), named as `_target_` by
conf/hydra/sweeper/genlab_optuna.yaml (Hydra takes sweepers from the hydra_plugins package only)."""
