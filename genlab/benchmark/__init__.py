"""Training speed: genlab against the hand-written tutorial loop, `python -m genlab.bench`."""
