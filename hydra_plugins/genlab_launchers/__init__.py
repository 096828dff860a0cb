"""genlab's Hydra launchers for clusters: the plugins' own, plus what a sweep there needs.

conf/hydra/launcher/slurm.yaml and ray_cluster.yaml name the classes here as `_target_` (Hydra
takes launchers from the hydra_plugins package only). Each checks in setup(), before Hydra makes
the sweep directory, that its service answers; if not, the run stops with one line naming what
is missing and how to start it (exit status 2).
"""

from hydra.errors import HydraException


class ServiceMissing(HydraException):
    """A launcher's service (SLURM's controller, a Ray head) is not there; nothing was launched."""
