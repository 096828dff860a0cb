"""Seconds the end-of-run evaluation of each default model x arch takes on MNIST (10,000
generated vs 10,000 test images; the VAE's likelihood with K = 64), one thread, untrained weights
(the cost does not depend on them). The first call also embeds the test images once.

    GENLAB_DATA_MIRROR=<folder with MNIST/raw> .venv/bin/python scripts/eval_times.py
"""

import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from genlab.config import CONF_DIR
from genlab.config.build import make_trainer

torch.set_num_threads(1)
print("| model | arch | first evaluation (s) | each later one (s) |\n|---|---|---|---|")
for model in ("vae", "gan", "cgan"):
    for arch in ("mlp", "cnn"):
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"model={model}", f"arch={arch}", "device=cpu"])
        trainer = make_trainer(cfg, tempfile.mkdtemp())
        times = []
        for _ in range(2):
            start = time.perf_counter()
            trainer.evaluator(trainer.model)
            times.append(time.perf_counter() - start)
        print(f"| {model} | {arch} | {times[0]:.1f} | {times[1]:.1f} |", flush=True)
