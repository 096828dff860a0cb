"""A cheap GAN training-health watch, from CS4243 lecture 15 ("tricks for training GANs").

A healthy GAN ends with D loss around 0.3-0.6 and G loss above 2. D loss that falls to 0 and stays
there means D has won: G gets no useful gradient and will not recover (after 1-2 epochs the
samples are blocks of pixels). The watch reads only the scalars the loop already logs.
"""

from __future__ import annotations

import logging
import math

log = logging.getLogger(__name__)


def bce_floor(real_target: float) -> float:
    """The lowest BCE D loss with a (smoothed) real target t: the entropy H(t) in nats."""
    t = real_target
    return 0.0 if t in (0.0, 1.0) else -(t * math.log(t) + (1 - t) * math.log(1 - t))


class HealthWatch:
    """Warns once when d_loss - floor < d_loss_below at every log over `window` steps."""

    def __init__(self, d_loss_below: float, window: int, floor: float):
        self.d_loss_below, self.window, self.floor = d_loss_below, window, floor
        self.low_since: int | None = None  # first step of the current run of low D losses
        self.warned = False

    @classmethod
    def for_loss(cls, d_loss_below: float, window: int, logits: bool, real_target: float):
        """The watch of a D loss whose floor is BCE's with that real target (logits: a
        minimax or non-saturating D), else 0 (LSGAN)."""
        return cls(d_loss_below, window, bce_floor(real_target) if logits else 0.0)

    def update(self, scalars: dict[str, float], step: int) -> str | None:
        """Feed the logged scalars; returns the warning the one time it fires, else None."""
        d_loss = scalars.get("d_loss")
        if self.warned or d_loss is None:
            return None
        if d_loss - self.floor >= self.d_loss_below:
            self.low_since = None
            return None
        if self.low_since is None:
            self.low_since = step
        if step - self.low_since < self.window:
            return None
        self.warned = True
        g = scalars.get("g_loss")
        message = (
            f"D has won: d_loss={d_loss:.3g} has stayed within {self.d_loss_below} of its floor "
            f"{self.floor:.3g} since step {self.low_since}"
            + (f" (g_loss={g:.3g})" if g is not None else "")
            + "; a healthy GAN keeps D loss ~0.3-0.6 and G loss > 2 (CS4243 lecture 15). "
            "Try a weaker or slower D, label smoothing, or model.g_steps=2."
        )
        log.warning(message)
        return message
