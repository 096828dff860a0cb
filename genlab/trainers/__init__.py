"""Training: one loop (loop.py) with the VAE and GAN steps plugged in."""
