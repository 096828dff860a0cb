"""What a run is on disk, besides its logs: its directory (directory.py), its checkpoints and RNG
states (checkpoint.py), its status.json (status.py, a Hydra callback)."""
