"""Hyperparameter search with Optuna: the search space in Hydra's sweep syntax (space.py), the
study (study.py: its storage, sampler, pruner and directions), and a trial's side in the job that
trains it (trial.py: intermediate values reported, hopeless trials pruned). The Hydra sweeper that
drives it lives in hydra_plugins/genlab_sweepers/, where Hydra looks for plugins."""
