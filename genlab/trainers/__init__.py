"""Training: one loop (trainer.py) and the per-family steps that plug into it (step.py states
what a step offers; vae_step.py, gan_step.py), with what they share: the NaN guard, mixed
precision, learning-rate schedules, G's EMA, signals, the health watch, torchrun (distributed.py)
and sampling from a step (sampling.py)."""
