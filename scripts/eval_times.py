"""Seconds the end-of-run evaluation of each default model x arch takes on MNIST (10,000
generated vs 10,000 test images; the VAE's likelihood with K = 64), one thread, untrained weights
(the cost does not depend on them): with the memorisation check and FID's bootstrap (the
defaults) and without them (eval.train_images=0 eval.bootstrap=0). The first evaluation of a run
also embeds the test images, and the training images for the check, once.

    GENLAB_DATA_MIRROR=<folder with MNIST/raw> .venv/bin/python scripts/eval_times.py [mlp cnn]
"""

import sys
import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from genlab.config import CONF_DIR
from genlab.config.build import make_trainer

torch.set_num_threads(1)
archs = sys.argv[1:] or ["mlp", "cnn"]
SETTINGS = {"defaults": [], "without check, bootstrap": ["eval.train_images=0", "eval.bootstrap=0"]}
print("| model | arch | evaluation | first (s) | each later one (s) |\n|---|---|---|---|---|")
for model in ("vae", "gan", "cgan"):
    for arch in archs:
        for name, extra in SETTINGS.items():
            with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
                overrides = [f"model={model}", f"arch={arch}", "device=cpu", *extra]
                cfg = compose("config", overrides=overrides)
            trainer = make_trainer(cfg, tempfile.mkdtemp())
            times = []
            for _ in range(2):
                start = time.perf_counter()
                trainer.evaluator(trainer.step)
                times.append(time.perf_counter() - start)
            print(f"| {model} | {arch} | {name} | {times[0]:.1f} | {times[1]:.1f} |", flush=True)
