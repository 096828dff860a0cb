"""genlab: a config-driven experiment runner for generative image models (VAE, GAN, cGAN).

Command line: `genlab train model=cgan arch=cnn` (`genlab --help`). Python:

    import genlab
    run = genlab.train("model=cgan", "arch=cnn", "trainer.epochs=2")
    run.grid()
"""

from genlab.api import Run, load, train
from genlab.errors import GenlabError

__all__ = ["GenlabError", "Run", "load", "train"]
