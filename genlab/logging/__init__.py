"""What a run records: TensorBoard scalars, images and text, read back too (tensorboard.py);
metrics.json (metrics_json.py); the HParams row (hparams.py)."""
